#!/bin/sh
# doc_options.sh - checks that hakmem(7) documents exactly the HAKMEM_*
# variables of the options table in src/options.c, each as a tagged
# paragraph of the ENVIRONMENT section that states the variable's type,
# default, range and whether only the debug build reads it, as the table
# says.  Prints TAP.

srcdir=${srcdir:-.}
table=$srcdir/src/options.c
page=$srcdir/man/hakmem.7

if [ ! -r "$table" ] || [ ! -r "$page" ]; then
  echo "1..1"
  echo "not ok 1 - $table and $page are readable"
  exit 1
fi

tmp=${TMPDIR:-/tmp}/doc_options.$$
mkdir "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT

# One line per table row: NAME TYPE DEFAULT MIN MAX DEBUG_ONLY, from rows
# such as
#   [HAK_OPT_X] = {"HAKMEM_X", HAK_OPT_INT, 250, 0, 3600000, 0, "ms",
sed -n 's/^.*{ *"\(HAKMEM_[A-Z0-9_]*\)" *, *HAK_OPT_\([A-Z]*\) *, *\(-\{0,1\}[0-9]*\) *, *\(-\{0,1\}[0-9]*\) *, *\(-\{0,1\}[0-9]*\) *, *\([01]\) *,.*$/\1 \2 \3 \4 \5 \6/p' \
  "$table" >"$tmp/rows"
# Every quoted variable name in the file, to notice a row the pattern above
# could not read.
grep -o '"HAKMEM_[A-Z0-9][A-Z0-9_]*"' "$table" | tr -d '"' | sort -u >"$tmp/names"
cut -d' ' -f1 "$tmp/rows" | sort -u >"$tmp/rownames"

# Every HAKMEM_ name the page mentions anywhere.
grep -o 'HAKMEM_[A-Z0-9][A-Z0-9_]*' "$page" | sort -u >"$tmp/pagenames"

nrows=$(wc -l <"$tmp/rows")
echo "1..$((nrows + 2))"
failed=0
n=1
if [ "$nrows" -gt 0 ] && cmp -s "$tmp/names" "$tmp/rownames"; then
  echo "ok $n - $nrows variables read from the table in src/options.c"
else
  echo "not ok $n - every variable of src/options.c read as a table row"
  echo "# names in the file:    $(tr '\n' ' ' <"$tmp/names")"
  echo "# names read as rows:   $(tr '\n' ' ' <"$tmp/rownames")"
  failed=1
fi

# entry NAME: prints the paragraph of the ENVIRONMENT section tagged with
# `.B NAME` after `.TP`, up to the next paragraph or section macro.
entry()
{
  awk -v name="$1" '
    /^\.SH / { inenv = ($0 ~ /^\.SH "?ENVIRONMENT"?$/); on = 0; next }
    !inenv { next }
    prev == ".TP" && $0 == ".B " name { on = 1; prev = $0; next }
    /^\.(TP|PP|P|LP|IP|SS)( |$)/ { on = 0 }
    on { print }
    { prev = $0 }
  ' "$page"
}

while read -r name type def min max debug; do
  n=$((n + 1))
  text=$(entry "$name" | tr '\n' ' ')
  problems=
  if [ -z "$text" ]; then
    problems="no \`.TP/.B $name\` paragraph in the ENVIRONMENT section"
  else
    case $type in
      BOOL) want="(boolean;" ;;
      INT) want="(integer," ;;
      *) want="(unknown type $type" ;;
    esac
    case $text in *"$want"*) ;; *) problems="$problems; type: want '$want'" ;; esac
    case $text in
      *"default $def;"* | *"default $def)"*) ;;
      *) problems="$problems; want 'default $def'" ;;
    esac
    if [ "$type" = INT ]; then
      case $text in
        *"range $min to $max)"*) ;;
        *) problems="$problems; want 'range $min to $max'" ;;
      esac
    fi
    case $debug:$text in
      1:*"debug build only"*) ;;
      1:*) problems="$problems; want 'debug build only'" ;;
      0:*"debug build only"*) problems="$problems; says 'debug build only' but the release build reads it" ;;
    esac
    problems=${problems#; }
  fi
  if [ -z "$problems" ]; then
    echo "ok $n - $name documented in hakmem.7"
  else
    echo "not ok $n - $name documented in hakmem.7: $problems"
    failed=1
  fi
done <"$tmp/rows"

n=$((n + 1))
extra=$(comm -23 "$tmp/pagenames" "$tmp/names" | tr '\n' ' ')
if [ -z "$extra" ]; then
  echo "ok $n - hakmem.7 names no variable missing from the table"
else
  echo "not ok $n - hakmem.7 names variables missing from the table: $extra"
  failed=1
fi
exit $failed
