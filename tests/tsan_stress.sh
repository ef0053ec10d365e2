#!/bin/sh
# tsan_stress.sh - the multi-threaded stress test under ThreadSanitizer.
#
# tests/test_mt_stress_tsan is test_mt_stress built with -fsanitize=thread
# against HAKMEM's sources compiled with -fsanitize=thread and
# HAKMEM_OVERRIDE=0, so it calls only hak_malloc, hak_free, ... while the
# sanitizer keeps its own malloc.  A data race inside HAKMEM is reported by
# the sanitizer and fails the test (exit status 66).  If the sanitizer
# cannot start on this machine (its shadow memory layout does not fit the
# address space; a known problem with high ASLR entropy), the run is
# retried without address randomisation (setarch -R), and skipped with the
# sanitizer's reason if that fails too.  A run that fails before its plan
# line for any other reason fails the test.
#
# Arguments are passed to the program (thread counts and seconds).

set -u
prog=${top_builddir:-.}/tests/test_mt_stress_tsan
[ -x "$prog" ] || {
  echo "Bail out! $prog not built"
  exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-tsan.XXXXXX") || {
  echo "Bail out! mktemp failed"
  exit 1
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export TSAN_OPTIONS
[ $# -gt 0 ] || set -- 4,16,64 1

# attempt CMD...: runs CMD with stdout and stderr in files; sets rc.
attempt() {
  rc=0
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
}

attempt "$prog" "$@"
if ! grep -q '^1\.\.' "$tmp/out"; then
  reason=$(grep -m1 'FATAL: ThreadSanitizer' "$tmp/err")
  if [ -z "$reason" ]; then
    echo "Bail out! $prog failed before its plan (exit status $rc): $(head -n 1 "$tmp/err")"
    exit 1
  fi
  if command -v setarch >/dev/null 2>&1; then
    attempt setarch "$(uname -m)" -R "$prog" "$@"
  fi
  if ! grep -q '^1\.\.' "$tmp/out"; then
    if ! grep -q 'FATAL: ThreadSanitizer' "$tmp/err"; then
      echo "Bail out! $prog failed before its plan with address randomisation off (exit status $rc): $(head -n 1 "$tmp/err")"
      exit 1
    fi
    echo "1..0 # SKIP ThreadSanitizer cannot run here: $reason"
    exit 0
  fi
  echo "# ran with address randomisation off (setarch -R): $reason"
fi

cat "$tmp/out"
if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ]; then
  echo "# exit status $rc; ThreadSanitizer said:"
  sed 's/^/# /' "$tmp/err" | head -n 200
fi
[ "$rc" -eq 0 ] && ! grep -q 'WARNING: ThreadSanitizer' "$tmp/err"
