#!/bin/sh
# traces.sh - traces exist only in the debug build, and only when asked for.
#
# Release build: libhakmem.so references no stdio output function (printf
# family, fwrite, fputs, puts: messages go through write(2)), and the trace
# variables print nothing.  Debug build: HAKMEM_ACE_TRACE=1 prints the ACE
# failures with their cause, HAKMEM_SS_ACQUIRE_DEBUG=1 the slab
# acquisitions, and without them there is no trace.
set -u
so=${LIBHAKMEM_SO:-${abs_top_builddir:-.}/.libs/libhakmem.so}
prog=${abs_top_builddir:-.}/tests/trace_prog
config=${abs_top_builddir:-.}/config.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/tap.sh"
run() { timeout -k 5 30 env "$@" "$prog" 2>"$tmp/err"; }

echo "1..4"
if grep -q '^#define HAKMEM_DEBUG 1' "$config"; then
  run HAKMEM_ACE_TRACE=1 &&
    grep -q '^hakmem: ACE failure Exhaustion: 100000 bytes$' "$tmp/err"
  ok $? "debug: HAKMEM_ACE_TRACE=1 traces the ACE miss with its cause"
  run HAKMEM_SS_ACQUIRE_DEBUG=1 &&
    grep -q '^hakmem: acquire slab 0x[0-9a-f]* class 6 (112 B) for heap 0x[0-9a-f]*$' "$tmp/err"
  ok $? "debug: HAKMEM_SS_ACQUIRE_DEBUG=1 traces the slab acquisition"
  run HAKMEM_ACE_TRACE=0 && test ! -s "$tmp/err"
  ok $? "debug: no trace unless asked for"
  nm -D --undefined-only "$so" | grep -q fprintf
  ok $? "debug: the library does use stdio for its traces"
else
  nm -D --undefined-only "$so" >"$tmp/syms"
  ok $? "release: nm reads the library's symbols"
  ! grep -E 'printf|fwrite|fputs|puts' "$tmp/syms"
  ok $? "release: no stdio output function (printf family, fwrite, fputs, puts)"
  run HAKMEM_ACE_TRACE=1 HAKMEM_SS_ACQUIRE_DEBUG=1
  ok $? "release: the program runs with the trace variables set"
  test ! -s "$tmp/err"
  ok $? "release: the trace variables print nothing"
fi
exit $failed
