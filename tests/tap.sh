# tap.sh - TAP helpers for the shell tests; sourced, next to them:
#   . "$(dirname "$0")/tap.sh"
#   ok STATUS DESCRIPTION        one test point, passing when STATUS is 0
#   check DESCRIPTION COMMAND... one test point, passing when COMMAND succeeds
#   skip DESCRIPTION REASON      one skipped test point
# A script prints its plan itself and ends with `exit $failed`.
n=0
failed=0
ok() {
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
check() {
  d=$1
  shift
  "$@"
  ok $? "$d"
}
skip() {
  n=$((n + 1))
  echo "ok $n - $1 # SKIP $2"
}
