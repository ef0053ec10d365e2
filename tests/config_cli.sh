#!/bin/sh
# config_cli.sh - hakmem-config's command line: --version, --help, bad
# usage, and `env` against the options table in src/options.c.
# Runs from the top build directory; srcdir is the top source directory.

srcdir=${srcdir:-$(dirname "$0")/..}
tool=./tools/hakmem-config
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/hc.sh"

# entry NAME: "TYPE DEFAULT MIN MAX DEBUG_ONLY UNIT" of NAME in the options table
entry() {
  sed -n "s/.*{\"$1\", *HAK_OPT_\([A-Z]*\), *\([-0-9]*\), *\([-0-9]*\), *\([-0-9]*\), *\([01]\), *\"\([^\"]*\)\".*/\1 \2 \3 \4 \5 \6/p" \
    "$srcdir/src/options.c"
}
# block_has NAME FILE LINE: whether `env` (in FILE) prints LINE about NAME
block_has() { sed -n "/^$1\$/,/^\$/p" "$2" | grep -qxF "$3"; }

# A clean environment: no HAKMEM_* variable from the caller.
for v in $(env | sed -n 's/^\(HAKMEM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

echo "1..21"

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' config.h)
hc 0 --version; ok $? "--version exits 0"
check "--version names the package version $version" \
  grep -qx "hakmem-config (HAKMEM) $version" "$tmp/out"
check "--version names the loaded library's version" grep -qx "library: HAKMEM $version" "$tmp/out"

hc 0 --help; ok $? "--help exits 0"
check "--help prints the usage with each command on stdout" \
  sh -c 'grep -q "^Usage: hakmem-config" "$1" && grep -q "^  env" "$1" && grep -q "^  stats" "$1" && grep -q "^  run" "$1"' sh "$tmp/out"

bad=0
for args in "" "frobnicate" "stats 12x" "stats --bogus 1" "stats 1 2" "run" "run --stats" \
  "run --lib" "run --nope -- true" "env HAKMEM_NO_SUCH_VARIABLE"; do
  # shellcheck disable=SC2086
  if ! hc 2 $args || [ -s "$tmp/out" ] || ! grep -q "Try 'hakmem-config --help'" "$tmp/err"; then
    echo "# bad usage not refused properly: hakmem-config $args"
    bad=1
  fi
done
ok $bad "bad usage: status 2, message on stderr, nothing on stdout (10 cases)"

# Every variable of the table, and only those, in the order of the table.
grep -o '{"HAKMEM_[A-Z0-9_]*"' "$srcdir/src/options.c" | tr -d '{"' >"$tmp/table"
hc 0 env; ok $? "env exits 0 when every variable is unset"
grep '^HAKMEM_' "$tmp/out" >"$tmp/listed"
check "env lists every variable of the options table ($(wc -l <"$tmp/table") of them)" \
  cmp -s "$tmp/table" "$tmp/listed"
check "the table is not empty" test -s "$tmp/table"
check "env shows each unset variable with its default" \
  test "$(grep -c '^  current: unset (the default, ' "$tmp/out")" -eq "$(wc -l <"$tmp/table")"
# The description line of each variable, as the table gives it.
bad=0
baddebug=0
while read -r name; do
  set -- $(entry "$name")
  if [ "$1" = BOOL ]; then
    want="  boolean (1/0, yes/no, true/false, on/off), default $2"
  else
    want="  integer $3..$4${6:+ $6}, default $2"
  fi
  block_has "$name" "$tmp/out" "$want" || { echo "# $name: no line '$want'"; bad=1; }
  debug=0
  block_has "$name" "$tmp/out" "  read by the debug build only (configure --enable-debug)" && debug=1
  [ "$debug" = "$5" ] || { echo "# $name: debug-only is $5 in the table, $debug in env"; baddebug=1; }
done <"$tmp/table"
ok $bad "env shows each variable's type, range, unit and default from the table"
ok $baddebug "env marks the debug-only variables, and only those"

HAKMEM_PURGE_DELAY_MS=777 HAKMEM_THP=yes hc 0 env; ok $? "env with valid values set exits 0"
check "env shows the current value of a variable set in the environment" \
  block_has HAKMEM_PURGE_DELAY_MS "$tmp/out" "  current: 777 (set to '777')"
check "env shows a boolean's parsed value" block_has HAKMEM_THP "$tmp/out" "  current: 1 (set to 'yes')"

HAKMEM_TCACHE_MAX=abc hc 1 env; ok $? "env with an invalid value exits 1"
set -- $(entry HAKMEM_TCACHE_MAX)
check "env flags the invalid value and names the default used instead" \
  block_has HAKMEM_TCACHE_MAX "$tmp/out" \
  "  current: 'abc' INVALID (not an integer from $3 to $4): the library uses the default, $2"

HAKMEM_NO_SUCH_VARIABLE=1 hc 1 env; ok $? "env with an unknown HAKMEM_ variable exits 1"
check "env names the unknown variable" \
  sh -c 'grep -qx "HAKMEM_NO_SUCH_VARIABLE" "$1" && grep -q "UNKNOWN variable" "$1"' sh "$tmp/out"

HAKMEM_STATS_PUBLISH_MS=5 hc 1 env HAKMEM_STATS_PUBLISH_MS; ok $? "env NAME with an out-of-range value exits 1"
set -- $(entry HAKMEM_STATS_PUBLISH_MS)
check "env NAME shows that variable only, out of range flagged" \
  sh -c 'test "$(grep -c "^HAKMEM_" "$1")" -eq 1 && grep -qF "$2" "$1"' sh "$tmp/out" \
  "  current: '5' INVALID (not an integer from $3 to $4)"

exit $failed
