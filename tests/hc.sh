# hc.sh - runs hakmem-config for the config_*.sh tests; sourced, next to them.
# hc EXPECTED-STATUS ARGS...: runs $tool (hakmem-config) with ARGS, its
# output in $tmp/out and $tmp/err; fails, with the output as diagnostics,
# when its exit status is not EXPECTED-STATUS.
hc() {
  want=$1
  shift
  "$tool" "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  [ "$got" -eq "$want" ] || {
    echo "# hakmem-config $*: status $got, expected $want"
    sed 's/^/# err: /' "$tmp/err"
    return 1
  }
}
