#!/bin/sh
# tier_ace_strace.sh - once the ACE is warm, a loop of 100 KiB malloc/free
# makes almost no mmap/munmap system calls.
#
# `tests/unit/tier_ace --loop N` runs a warm-up of 100 iterations, then N
# more, and prints nothing.  Under `strace -f -c -e trace=mmap,munmap` the
# run with 10,000 iterations may make at most a handful more calls than
# the run with none (start-up, the warm-up and the background purger are
# in both).  Skipped when strace is not installed or cannot trace here.
#
# Environment: abs_top_builddir (set by the test harness; defaults to .).

set -u

prog=${abs_top_builddir:-.}/tests/unit/tier_ace
iterations=10000
allowed=8

if ! command -v strace >/dev/null 2>&1; then
  echo "1..0 # SKIP strace is not installed"
  exit 0
fi
if ! strace -f -qq -o /dev/null true >/dev/null 2>&1; then
  echo "1..0 # SKIP strace cannot trace processes here"
  exit 0
fi
echo "1..3"
if [ ! -x "$prog" ]; then
  echo "Bail out! $prog not found (make check builds it)"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-ace.XXXXXX") || {
  echo "Bail out! mktemp failed"
  exit 1
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# count N: mmap + munmap calls of `tier_ace --loop N`, or nothing on failure.
count() {
  strace -f -qq -c -e trace=mmap,munmap -o "$tmp/strace.$1" "$prog" --loop "$1" || return 1
  awk '$NF == "mmap" || $NF == "munmap" { n += $4 } END { print n + 0 }' "$tmp/strace.$1"
}

failed=0
if base=$(count 0) && loop=$(count $iterations) && [ -n "$base" ] && [ -n "$loop" ]; then
  echo "ok 1 - tier_ace --loop 0 and --loop $iterations ran under strace"
else
  echo "not ok 1 - tier_ace --loop 0 and --loop $iterations ran under strace"
  echo "Bail out! no counts to compare"
  exit 1
fi

if [ "$base" -gt 0 ]; then
  echo "ok 2 - strace counted the start-up's calls ($base)"
else
  echo "not ok 2 - strace counted the start-up's calls ($base)"
  failed=1
fi

extra=$((loop - base))
if [ "$extra" -le "$allowed" ]; then
  echo "ok 3 - $iterations malloc/free of 100 KiB made $extra more mmap/munmap calls (at most $allowed)"
else
  echo "not ok 3 - $iterations malloc/free of 100 KiB made $extra more mmap/munmap calls (at most $allowed)"
  sed 's/^/# /' "$tmp/strace.$iterations"
  failed=1
fi
exit $failed
