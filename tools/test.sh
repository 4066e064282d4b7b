#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or a developer's box:
# installs dependencies and brokers, builds (normal + ASan/UBSan), starts the
# brokers on loopback ports, runs every ctest suite, stops the brokers.
#
#   tools/test.sh            everything (what .ci/run runs)
#   tools/test.sh --no-asan  skip the sanitizer builds, ASan and TSan (faster local loop)
#   QPLUG_JOBS=N             parallel build/test jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

asan=1
for a in "$@"; do
  case "$a" in
    --no-asan) asan=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$a'" >&2; exit 2 ;;
  esac
done
JOBS=${QPLUG_JOBS:-$(nproc)}

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

step "installing dependencies"
bash tools/scripts/install-deps.sh

step "starting brokers"
export QPLUG_BROKER_DIR=${QPLUG_BROKER_DIR:-/tmp/qplug-brokers-$$}
trap 'step "stopping brokers"; bash "$ROOT/tools/scripts/brokers.sh" stop >/dev/null 2>&1 || true; rm -rf "$QPLUG_BROKER_DIR"' EXIT
bash tools/scripts/brokers.sh start redis rabbitmq mosquitto
eval "$(bash tools/scripts/brokers.sh env)"

build() {  # build <dir> <cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

step "building (RelWithDebInfo)"
build build
# Broker-backed tests (names start with the driver: redis.*, amqp.*, mqtt.*,
# redis_bench_smoke, ...) run one at a time: some restart their broker, which
# would break a neighbour that shares it. Everything else runs in parallel.
BROKER_TESTS='^(redis|amqp|mqtt)'
run_ctest() {  # run_ctest <build dir> [extra ctest args...]
  local dir=$1; shift
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 900 -E "$BROKER_TESTS" "$@" || status=1
  ctest --test-dir "$dir" --output-on-failure -j 1 --timeout 900 -R "$BROKER_TESTS" "$@" || status=1
}

step "running tests"
status=0
run_ctest build

if [ "$asan" = 1 ]; then
  step "building with ASan+UBSan"
  build build-asan -DQPLUG_SANITIZE=ON -DQPLUG_BUILD_BENCH=OFF
  step "running tests under ASan+UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_ctest build-asan -LE bench-smoke

  # The lock-free and multi-threaded parts once more under ThreadSanitizer:
  # the drivers' hand-offs between host, dispatcher and I/O threads and the
  # consumer runtime. Only their tests are built (a third full build would
  # double CI time).
  step "building the threaded parts with ThreadSanitizer"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQPLUG_SANITIZE_THREAD=ON \
    -DQPLUG_BUILD_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$JOBS" --target memory_driver_test conformance_memory consumer_runtime_test \
    runtime_test conformance_redis redis_integration_test redis_runtime_test conformance_amqp amqp_integration_test
  step "running the threaded tests under ThreadSanitizer"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  ctest --test-dir build-tsan --output-on-failure -j "$JOBS" --timeout 900 \
    -R '^(memory_driver|memory|ConsumerRuntimeTest|RuntimeTest)\.' || status=1
  ctest --test-dir build-tsan --output-on-failure -j 1 --timeout 900 \
    -R '^(redis|redis_integration|redis_runtime|amqp)\.' || status=1
fi
exit $status
