#!/bin/sh
# man_lint.sh - lints the three man pages with mandoc, groff and man-db the
# way lintian does; any message at all is a failure.  A linter that is not
# installed gives SKIP results, not a pass.
# Prints TAP.

. "$(dirname "$0")/tap.sh"
srcdir=${srcdir:-.}
pages="man/hakmem.3 man/hakmem.7 man/hakmem-config.1"

# The environment lintian uses for its groff-message check.
LC_ALL=C.UTF-8
MANWIDTH=80
MANROFFSEQ=
export LC_ALL MANWIDTH MANROFFSEQ

echo "1..9"

# run_lint TOOL DESCRIPTION PAGE COMMAND...: one TAP result; the command's
# merged output must be empty and its exit status 0.
run_lint()
{
  tool=$1 what=$2 page=$3
  shift 3
  if ! command -v "$tool" >/dev/null 2>&1; then
    skip "$what $page" "$tool is not installed"
    return
  fi
  if [ ! -r "$srcdir/$page" ]; then
    echo "# $srcdir/$page is missing"
    ok 1 "$what $page"
    return
  fi
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    echo "# exit status $rc"
    printf '%s\n' "$out" | sed 's/^/# /'
  fi
  [ "$rc" -eq 0 ] && [ -z "$out" ]
  ok $? "$what $page"
}

for page in $pages; do
  p=$srcdir/$page
  run_lint mandoc "mandoc -Tlint -Wwarning" "$page" mandoc -Tlint -Wwarning "$p"
  run_lint groff "groff -ww -z -man" "$page" groff -ww -z -man "$p"
  # man-db prints its warnings on stderr; the formatted page goes away.
  run_lint man "man --warnings -l" "$page" \
    sh -c 'man --warnings -E UTF-8 -l -Tutf8 -Z "$1" >/dev/null' sh "$p"
done
exit $failed
