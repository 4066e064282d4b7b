#!/usr/bin/env bash
# The chaos suite's soak variant (not run by CI): the scenario of
# tests/integration/chaos with bigger numbers and more faults, repeated.
#
#   tools/chaos-soak.sh [options]
#     --build DIR      a build tree with chaos_test built (default: build)
#     --messages N     messages per run (default 100000)
#     --rounds N       fault rounds per run; each restarts the broker twice,
#                      SIGKILLs one consumer and SIGTERMs another (default 5)
#     --repeat N       runs per driver (default 3)
#     --drivers LIST   gtest filter suffixes, comma-separated (default redis,amqp,mqtt_without_sigkill)
#
# Brokers: uses the ones QPLUG_TEST_*_URL point at (with QPLUG_BROKERS_SCRIPT
# and the QPLUG_TEST_*_PORT/QPLUG_BROKER_DIR variables that restart them), or
# starts its own with tools/scripts/brokers.sh and stops them at the end.
# Every run's summary line is appended to DIR/tests/integration/chaos/chaos-<driver>.summary.
# Exit status: 0 only when every run passed.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build messages=100000 rounds=5 repeat=3 drivers=redis,amqp,mqtt_without_sigkill
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --drivers) drivers=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "chaos-soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bin=$build/tests/integration/chaos/chaos_test
[ -x "$bin" ] || { echo "chaos-soak.sh: $bin not built (cmake --build $build --target chaos_test)" >&2; exit 2; }

own_brokers=0
if [ -z "${QPLUG_TEST_REDIS_URL:-}" ]; then
  export QPLUG_BROKER_DIR=${QPLUG_BROKER_DIR:-/tmp/qplug-soak-$$}
  bash tools/scripts/brokers.sh start redis rabbitmq mosquitto || exit 1
  eval "$(bash tools/scripts/brokers.sh env)"
  own_brokers=1
fi
stop_own() { [ $own_brokers = 0 ] || bash tools/scripts/brokers.sh stop >/dev/null 2>&1; }
trap stop_own EXIT

export QPLUG_CHAOS_MESSAGES=$messages QPLUG_CHAOS_ROUNDS=$rounds
failed=0
IFS=, read -r -a list <<<"$drivers"
for d in "${list[@]}"; do
  for i in $(seq 1 "$repeat"); do
    echo "=== $d, run $i/$repeat ($messages messages, $rounds rounds)"
    log=$(mktemp)
    "$bin" --gtest_filter="Drivers/Chaos.*/$d" >"$log" 2>&1 || failed=1
    grep -E ' chaos|\[ +(OK|FAILED|SKIPPED) +\]|Failure' "$log"
    rm -f "$log"
  done
done
exit $failed
