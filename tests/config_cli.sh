#!/bin/sh
# config_cli.sh - hakmem-config's command line: --version, --help, bad
# usage, and `env` against the options table in src/options.c.
# Runs from the top build directory; srcdir is the top source directory.

srcdir=${srcdir:-$(dirname "$0")/..}
tool=./tools/hakmem-config
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { # ok COND-STATUS DESCRIPTION
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
  d=$1; shift
  "$@"; ok $? "$d"
}
# hc EXPECTED-STATUS ARGS...: runs hakmem-config into $tmp/out, $tmp/err
hc() {
  want=$1; shift
  "$tool" "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  [ "$got" -eq "$want" ] || { echo "# hakmem-config $*: status $got, expected $want"; sed 's/^/# err: /' "$tmp/err"; return 1; }
}

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
check "env shows defaults and ranges from the table" \
  grep -q '^  integer 0\.\.65536 blocks, default 2048$' "$tmp/out"
check "env marks the debug-only variables" \
  sh -c 'sed -n "/^HAKMEM_ACE_TRACE\$/,/^\$/p" "$1" | grep -q "debug build only"' sh "$tmp/out"

HAKMEM_PURGE_DELAY_MS=777 HAKMEM_THP=yes hc 0 env; ok $? "env with valid values set exits 0"
check "env shows the current value of a variable set in the environment" \
  sh -c 'sed -n "/^HAKMEM_PURGE_DELAY_MS\$/,/^\$/p" "$1" | grep -qx "  current: 777 (set to .777.)"' sh "$tmp/out"
check "env shows a boolean's parsed value" \
  sh -c 'sed -n "/^HAKMEM_THP\$/,/^\$/p" "$1" | grep -qx "  current: 1 (set to .yes.)"' sh "$tmp/out"

HAKMEM_TCACHE_MAX=abc hc 1 env; ok $? "env with an invalid value exits 1"
check "env flags the invalid value and names the default used instead" \
  sh -c 'sed -n "/^HAKMEM_TCACHE_MAX\$/,/^\$/p" "$1" | grep -qx "  current: .abc. INVALID (not an integer from 0 to 65536): the library uses the default, 2048"' sh "$tmp/out"

HAKMEM_NO_SUCH_VARIABLE=1 hc 1 env; ok $? "env with an unknown HAKMEM_ variable exits 1"
check "env names the unknown variable" \
  sh -c 'grep -qx "HAKMEM_NO_SUCH_VARIABLE" "$1" && grep -q "UNKNOWN variable" "$1"' sh "$tmp/out"

HAKMEM_STATS_PUBLISH_MS=5 hc 1 env HAKMEM_STATS_PUBLISH_MS; ok $? "env NAME with an out-of-range value exits 1"
check "env NAME shows that variable only, out of range flagged" \
  sh -c 'test "$(grep -c "^HAKMEM_" "$1")" -eq 1 && grep -q "^  current: .5. INVALID (not an integer from 10 to 60000)" "$1"' sh "$tmp/out"

exit $failed
