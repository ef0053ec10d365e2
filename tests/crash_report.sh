#!/bin/sh
# crash_report.sh - the crash report (HAKMEM_CRASH_REPORT): a program on
# HAKMEM that crashes gets one report on stderr naming the signal and the
# address, and still dies by the signal.  Runs from the top build directory.

prog=./tests/crash_prog
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 2>/dev/null # no core files from the crashes below

for v in $(env | sed -n 's/^\(HAKMEM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

. "$(dirname "$0")/tap.sh"
# crash WANT-STATUS MODE: runs crash_prog MODE (its stdout in $tmp/out,
# stderr in $tmp/err, the announced address in $addr) and checks its
# status: 128 + the signal when it died by one.  A handler that hangs is
# killed after 30 s (timeout's status 124 fails the check).
crash() {
  want=$1; shift
  timeout -k 5 30 "$prog" "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  addr=$(sed -n 's/^addr //p' "$tmp/out")
  [ "$got" -eq "$want" ] || { echo "# crash_prog $*: status $got, expected $want"; sed 's/^/# err: /' "$tmp/err"; return 1; }
}
report() { grep -c '^hakmem: ' "$tmp/err"; }

crash 139 segv; ok $? "a bad pointer: the process dies by SIGSEGV"
check "... stderr names the signal, the process and the thread" \
  grep -q "^hakmem: fatal SIGSEGV (invalid memory reference) in process [0-9]*, thread [0-9]*\$" "$tmp/err"
check "... and the address, not HAKMEM memory" \
  grep -q "^hakmem: fault address 0x10 (address not mapped) is not HAKMEM memory\$" "$tmp/err"
check "... in two lines" test "$(report)" -eq 2

HAKMEM_CRASH_REPORT=0 crash 139 segv; ok $? "HAKMEM_CRASH_REPORT=0: the process dies by SIGSEGV"
check "... with no report" test "$(report)" -eq 0

crash 139 huge-prot; ok $? "a protected page of a live huge block: SIGSEGV"
check "... reported as HAKMEM memory of the huge tier" \
  grep -q "^hakmem: fault address $addr (access not permitted by the mapping) is in HAKMEM memory, huge tier\$" "$tmp/err"

HAKMEM_CACHE_MB=0 crash 139 huge-freed; ok $? "a freed (unmapped) huge block: SIGSEGV"
check "... the report names the address" grep -q "^hakmem: fault address $addr (address not mapped) is" "$tmp/err"

crash 134 abort; ok $? "abort(): the process dies by SIGABRT"
check "... reported as raised by the process itself" \
  sh -c 'grep -q "^hakmem: fatal SIGABRT (abort) in process" "$1" && grep -q "^hakmem: raised by the process itself (abort() or a failed assertion)\$" "$1"' sh "$tmp/err"

# A signal the program ignores is not the default action: no handler.
sh -c 'trap "" ABRT; exec "$1" abort' sh "$prog" >"$tmp/out" 2>"$tmp/err"
ok $(($? != 134)) "SIGABRT ignored by the parent: abort() still kills by SIGABRT"
check "... with no report (HAKMEM installs no handler over a non-default action)" test "$(report)" -eq 0

crash 42 own-handler; ok $? "a handler the program installs replaces HAKMEM's"
check "... which then reports nothing" \
  sh -c 'test "$(grep -c "^hakmem: " "$1")" -eq 0 && grep -q "^crash_prog: own handler\$" "$1"' sh "$tmp/err"

echo "1..$n"
exit $failed
