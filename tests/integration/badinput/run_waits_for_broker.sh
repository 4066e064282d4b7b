#!/usr/bin/env bash
# run_waits_for_broker.sh QPLUG CONFIGS_DIR
# Issue 11: `qplug run` with its broker down at start used to exit 1 at once.
# Now: stop redis, start `qplug run`, see it wait (logged), start redis,
# publish one message, see the worker handle it, SIGTERM, exit 0.
# Every wait is a deadline loop; redis is running again at the end either way.
set -u
qplug=$1
configs=$2
script=${QPLUG_BROKERS_SCRIPT:-$(cd "$(dirname "$0")/../../.." && pwd)/tools/scripts/brokers.sh}
: "${QPLUG_TEST_REDIS_URL:=redis://127.0.0.1:${QPLUG_TEST_REDIS_PORT:-6390}/0}"
export QPLUG_TEST_REDIS_URL
export QPLUG_BADINPUT_RUN="wait-$(date +%s)-$$"
out=$(mktemp)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  bash "$script" start redis >/dev/null 2>&1
  rm -f "$out"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  sed 's/^/  | /' "$out"
  exit 1
}
# wait_for SECONDS FIXED-STRING: until the run's output holds it.
wait_for() {
  local deadline=$((SECONDS + $1))
  until grep -Fq -- "$2" "$out"; do
    [ $SECONDS -lt $deadline ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
}

bash "$script" stop redis || fail "cannot stop redis"
"$qplug" run "$configs/redis_wait.yaml" >"$out" 2>&1 &
pid=$!
wait_for 60 "qplug run: waiting for the broker (attempt 2)" || fail "qplug run did not wait for redis"
bash "$script" start redis || fail "cannot start redis again"
wait_for 120 "1 consumer(s), 0 process(es) started" || fail "qplug run did not start once redis was back"
"$qplug" publish "$configs/redis_wait.yaml" app:tasks '{"n":42}' || fail "publish failed"
wait_for 60 "handled 42" || fail "the message was not handled"
kill -TERM "$pid"
wait "$pid"
code=$?
pid=""
[ "$code" -eq 0 ] || fail "qplug run exited $code after SIGTERM"
grep -Fq "app:tasks: processed 1," "$out" || fail "the totals do not count the message"
cat "$out"
echo "ok: qplug run waited for redis, then consumed"
