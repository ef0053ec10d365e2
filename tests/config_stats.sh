#!/bin/sh
# config_stats.sh - published statistics (HAKMEM_STATS_PUBLISH=1),
# `hakmem-config stats` and `hakmem-config run`, the report at exit
# (HAKMEM_STATS=1).  Runs from the top build directory.

tool=./tools/hakmem-config
target=./tests/config_target
lib=${LIBHAKMEM_SO:-$(pwd)/.libs/libhakmem.so}
uid=$(id -u)
shm=/dev/shm
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' config.h)
tmp=$(mktemp -d) || exit 99
bg=""
trap 'for p in $bg; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/hc.sh"
# owner_is PID UID: whether process PID runs as user UID
owner_is() { test "$(stat -c %u "/proc/$1" 2>/dev/null)" = "$2"; }
# A pid that is not in use: a process that has ended.
dead_pid() { sh -c 'echo $$' ; }
# wait_for SECONDS COMMAND...: polls COMMAND every 50 ms
wait_for() {
  t=$(($1 * 20)); shift
  while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 0.05; t=$((t - 1)); done
  return 1
}

for v in $(env | sed -n 's/^\(HAKMEM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
if [ ! -d "$shm" ] || [ ! -w "$shm" ]; then
  echo "1..0 # SKIP $shm is not a writable directory"
  exit 0
fi
have_python=no
python3 -c 'import json' 2>/dev/null && have_python=yes

# --- A live process publishing its figures --------------------------------
HAKMEM_STATS_PUBLISH=1 HAKMEM_STATS_PUBLISH_MS=10 "$target" wait >"$tmp/target" 2>"$tmp/target.err" &
tbg=$!
bg="$bg $tbg"
wait_for 15 grep -q '^ready ' "$tmp/target"
read -r word tpid cls allocs frees <"$tmp/target"
if [ "$word" != ready ]; then
  sed 's/^/# target: /' "$tmp/target.err"
  echo "Bail out! config_target did not publish its figures"
  exit 1
fi
echo "# target pid $tpid: class $cls allocs $allocs frees $frees"
snap=$shm/hakmem-$uid-$tpid
check "the target allocated the workload's 1000 blocks and freed 400" \
  test "$allocs" -ge 1000 -a "$frees" -ge 400 -a $((allocs - frees)) -ge 600
check "its snapshot $snap is the user's, mode 600" test "$(stat -c '%u %a' "$snap")" = "$uid 600"

hc 0 stats "$tpid"; ok $? "stats PID exits 0"
check "stats PID names the process" grep -q "^Process $tpid (config_target), publishing since " "$tmp/out"
check "stats PID shows the workload's class with its allocations and frees" \
  sh -c 'awk -v c="$2" -v a="$3" -v f="$4" "/^ *class +size/ { t = 1; next } t && \$1 == c && \$3 == a && \$4 == f { found = 1 } END { exit !found }" "$1"' \
  sh "$tmp/out" "$cls" "$allocs" "$frees"
check "stats PID prints the whole report" \
  sh -c 'grep -q "^HAKMEM $2 statistics\$" "$1" && grep -q "ACE failures: MapFail" "$1" && grep -q "^Shared Pool" "$1"' sh "$tmp/out" "$version"

hc 0 stats --json "$tpid"; ok $? "stats --json PID exits 0"
if [ $have_python = yes ]; then
  check "stats --json PID is JSON with the workload's figures" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
pid, cls, allocs, frees = map(int, sys.argv[2:])
c = d["stats"]["classes"][cls]
assert d["pid"] == pid and d["final"] is False and d["refreshes"] > 0, d
assert c["class"] == cls and c["allocs"] == allocs and c["frees"] == frees, c
assert d["stats"]["mapped"] > 0 and d["stats"]["threads"] >= 1, d["stats"]
' "$tmp/out" "$tpid" "$cls" "$allocs" "$frees"
else
  skip "stats --json PID is JSON with the workload's figures" "python3 not found"
fi

hc 0 stats; ok $? "stats without PID exits 0"
check "stats without PID lists the target" \
  sh -c 'awk -v p="$2" "\$1 == p && \$2 == \"config_target\" { found = 1 } END { exit !found }" "$1"' sh "$tmp/out" "$tpid"

kill -TERM "$tpid"
wait "$tbg"
ok $? "the target exits 0 on SIGTERM"
check "the snapshot is removed at exit" test ! -e "$snap"

# --- Refusals ------------------------------------------------------------
sleep 30 >/dev/null 2>&1 &
own=$!
bg="$bg $own"
hc 1 stats "$own"; ok $? "stats of a process that does not publish exits 1"
check "... and says how to publish" grep -q "start it with HAKMEM_STATS_PUBLISH=1 or with .hakmem-config run" "$tmp/err"

if [ "$uid" -ne 0 ]; then
  other=1
  if [ "$(stat -c %u /proc/1)" != "$uid" ]; then
    hc 1 stats 1; ok $? "stats of another user's process (pid 1) exits 1"
    check "... with the reason" grep -q "process 1 belongs to user .*, not to you" "$tmp/err"
  else
    skip "stats of another user's process exits 1" "pid 1 is ours"
    skip "... with the reason" "pid 1 is ours"
  fi
  skip "stats refuses a snapshot file of another user" "needs root to make one"
  skip "... with the reason" "needs root"
elif command -v setpriv >/dev/null; then
  setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 >/dev/null 2>&1 &
  other=$!
  bg="$bg $other"
  wait_for 5 owner_is "$other" 65534
  hc 1 stats "$other"; ok $? "stats of another user's process exits 1"
  check "... with the reason" grep -q "process $other belongs to user 65534, not to you" "$tmp/err"
  : >"$shm/hakmem-$uid-$own"
  chown 65534 "$shm/hakmem-$uid-$own"
  hc 1 stats "$own"; ok $? "stats refuses a snapshot file of another user"
  check "... with the reason" grep -q "belongs to user 65534, not to you; not read" "$tmp/err"
  rm -f "$shm/hakmem-$uid-$own"
else
  for d in "stats of another user's process exits 1" "... with the reason" \
    "stats refuses a snapshot file of another user" "... with the reason"; do
    skip "$d" "running as root without setpriv"
  done
fi
kill "$own"

# --- Stale snapshots -----------------------------------------------------
dead=$(dead_pid)
printf stale >"$shm/hakmem-$uid-$dead"
hc 1 stats "$dead"; ok $? "stats of a process that is gone exits 1"
check "... says so and removes its stale snapshot" \
  sh -c 'grep -q "process $2 is not running; removed its stale snapshot" "$1" && test ! -e "$3"' \
  sh "$tmp/err" "$dead" "$shm/hakmem-$uid-$dead"

dead=$(dead_pid)
printf stale >"$shm/hakmem-$uid-$dead"
chmod 600 "$shm/hakmem-$uid-$dead"
HAKMEM_STATS_PUBLISH=1 "$target" exit >"$tmp/target" 2>"$tmp/target.err"
ok $? "a publishing program runs and exits 0"
check "... it removed the stale snapshot of a process that is gone" test ! -e "$shm/hakmem-$uid-$dead"
read -r word tpid cls allocs frees <"$tmp/target"
check "... and its own snapshot at exit" test "$word" = done -a ! -e "$shm/hakmem-$uid-$tpid"

# --- The report at exit --------------------------------------------------
HAKMEM_STATS=1 "$target" exit >"$tmp/target" 2>"$tmp/target.err"
ok $? "HAKMEM_STATS=1: the program exits 0"
read -r word tpid cls allocs frees <"$tmp/target"
check "HAKMEM_STATS=1 writes the report to stderr at exit, with the workload's class" \
  sh -c 'grep -q "^HAKMEM $2 statistics\$" "$1" && grep -q "ACE failures: Threshold" "$1" &&
    awk -v c="$3" -v a="$4" "/^ *class +size/ { t = 1; next } t && \$1 == c && \$3 >= a { found = 1 } END { exit !found }" "$1"' \
  sh "$tmp/target.err" "$version" "$cls" "$allocs"

# --- run -----------------------------------------------------------------
hc 0 run --lib "$lib" -- true; ok $? "run -- true exits 0"
check "... and says how true ended" grep -q "^hakmem-config: true exited with status 0" "$tmp/err"
hc 3 run --lib "$lib" -- sh -c 'exit 3'; ok $? "run -- sh -c 'exit 3' exits 3"
hc 143 run --lib "$lib" -- sh -c 'kill -TERM $$'; ok $? "run of a command killed by SIGTERM exits 143"
check "... and says so" grep -q "^hakmem-config: sh was killed by signal 15" "$tmp/err"
hc 127 run --lib "$lib" -- ./no/such/command; ok $? "run of a missing command exits 127"
hc 125 run --lib ./no/such/libhakmem.so -- true; ok $? "run with a missing library exits 125"

hc 0 run --lib "$lib" -- "$target" exit; ok $? "run -- config_target exit exits 0"
read -r word tpid cls allocs frees <"$tmp/out"
check "... the one-line summary counts the workload's allocations" \
  sh -c 'n=$(sed -n "s/^hakmem-config: .*config_target exited with status 0; HAKMEM: \([0-9]*\) allocations, .*/\1/p" "$1"); test -n "$n" && test "$n" -ge "$2"' \
  sh "$tmp/err" "$allocs"
check "... and the snapshot is gone" test ! -e "$shm/hakmem-$uid-$tpid"

hc 0 run --stats --output "$tmp/report" --lib "$lib" "$target" exit; ok $? "run --stats --output FILE exits 0"
read -r word tpid cls allocs frees <"$tmp/out"
check "... the report has the figures at exit of the workload's class" \
  sh -c 'grep -q "^hakmem-config: .*config_target exited with status 0; HAKMEM statistics of process $2 (config_target):\$" "$1" &&
    awk -v c="$3" -v a="$4" -v f="$5" "/^ *class +size/ { t = 1; next } t && \$1 == c && \$3 == a && \$4 == f { found = 1 } END { exit !found }" "$1"' \
  sh "$tmp/report" "$tpid" "$cls" "$allocs" "$frees"

hc 0 run --json --lib "$lib" -- "$target" exit; ok $? "run --json exits 0"
read -r word tpid cls allocs frees <"$tmp/out"
if [ $have_python = yes ]; then
  check "... JSON on stderr with the final figures and the exit status" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
pid, cls, allocs, frees = map(int, sys.argv[2:])
c = d["stats"]["classes"][cls]
assert d["exit_status"] == 0 and d["signal"] == 0 and d["pid"] == pid and d["final"] is True, d
assert c["allocs"] == allocs and c["frees"] == frees, c
' "$tmp/err" "$tpid" "$cls" "$allocs" "$frees"
else
  skip "... JSON on stderr with the final figures and the exit status" "python3 not found"
fi

echo "1..$n"
exit $failed
