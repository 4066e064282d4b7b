#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or a developer's box:
# checks formatting, installs dependencies and brokers, builds Release with g++
# (as users build), starts the brokers on loopback ports, runs every ctest
# suite, builds the whole tree once more as Release with clang++ and runs its
# broker-free tests, then the sanitizer builds (ASan+UBSan with clang++: every
# test but the bench smoke tests, then every libFuzzer harness for a bounded
# time; TSan: the multi-threaded parts), stops the brokers and prints how long
# each stage took.
#
#   tools/test.sh            everything (what .ci/run runs)
#   tools/test.sh --no-asan  skip the sanitizer builds, ASan and TSan (faster local loop)
#   QPLUG_JOBS=N             parallel build/test jobs (default: nproc)
#
# Exit status: 0 only when every stage passed. A formatting or build failure
# stops at once; a failing test suite lets the remaining stages run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

asan=1
for a in "$@"; do
  case "$a" in
    --no-asan) asan=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$a'" >&2; exit 2 ;;
  esac
done
JOBS=${QPLUG_JOBS:-$(nproc)}

# Stage bookkeeping: "=== name (time)" as each starts, a table of durations
# and results at the end (also when a build fails and set -e ends the run).
stage_names=() stage_secs=() stage_results=()
stage_name="" stage_start=0
step() {
  end_step
  stage_name="$*" stage_start=$SECONDS
  printf '\n=== %s (%s)\n' "$*" "$(date +%T)"
}
end_step() {  # end_step [result]: closes the current stage
  [ -n "$stage_name" ] || return 0
  stage_names+=("$stage_name") stage_secs+=($((SECONDS - stage_start))) stage_results+=("${1:-ok}")
  stage_name=""
}
summary() {  # summary <exit status>
  local rc=$1 i
  printf '\n=== summary\n'
  for i in "${!stage_names[@]}"; do
    printf '  %5ss  %-7s %s\n' "${stage_secs[$i]}" "${stage_results[$i]}" "${stage_names[$i]}"
  done
  [ ${#test_summaries[@]} -eq 0 ] || printf '  %s\n' "${test_summaries[@]}"
  printf '  total %ss, exit %s\n' "$SECONDS" "$rc"
}
test_summaries=()
status=0

# Formatting first: it takes seconds and needs no build. Only clang-format
# itself must be there (install-deps brings it on a fresh machine).
command -v clang-format >/dev/null 2>&1 || bash tools/scripts/install-deps.sh
step "checking formatting (clang-format)"
if ! bash tools/scripts/check-format.sh; then
  end_step FAILED
  summary 1
  exit 1
fi

step "installing dependencies"
bash tools/scripts/install-deps.sh

step "starting brokers"
export QPLUG_BROKER_DIR=${QPLUG_BROKER_DIR:-/tmp/qplug-brokers-$$}
on_exit() {
  local rc=$?
  # A stage still open here was ended by set -e (a build failed).
  [ -z "$stage_name" ] || end_step "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)"
  step "stopping brokers"
  bash "$ROOT/tools/scripts/brokers.sh" stop >/dev/null 2>&1 || true
  rm -rf "$QPLUG_BROKER_DIR"
  end_step
  summary "$rc"
}
trap on_exit EXIT
bash tools/scripts/brokers.sh start redis rabbitmq mosquitto
eval "$(bash tools/scripts/brokers.sh env)"

# ccache, when installed, only speeds up a developer's repeated runs.
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

build() {  # build <dir> <build type> <cmake args...>
  local dir=$1 type=$2; shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${launcher[@]}" "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

# Broker-backed tests (names start with the driver: redis.*, amqp.*, mqtt.*,
# redis_bench_smoke, ...; or with the multi-broker suites scaleout.*,
# vocab.*, chaos.* and ttl.*) run one at a time: some restart their broker, which would break a
# neighbour that shares it. Everything else runs in parallel.
BROKER_TESTS='^(redis|amqp|mqtt|scaleout|vocab|chaos|ttl)'
ctest_run() {  # ctest_run <what> <ctest args...>: runs, keeps its summary line
  local what=$1 log rc=0; shift
  log=$(mktemp)
  ctest --output-on-failure --no-tests=error --timeout 900 "$@" 2>&1 | tee "$log" || rc=$?
  local line
  line=$(grep -E '[0-9]+% tests passed' "$log" | tail -1 || true)
  test_summaries+=("$what: ${line:-no tests ran (ctest exit $rc)}")
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then
    status=1
    return 1
  fi
}
run_ctest() {  # run_ctest <build dir> [extra ctest args...]: every suite, brokers one at a time
  local dir=$1 failed=0; shift
  ctest_run "$dir, broker-free" --test-dir "$dir" -j "$JOBS" -E "$BROKER_TESTS" "$@" || failed=1
  ctest_run "$dir, brokers" --test-dir "$dir" -j 1 -R "$BROKER_TESTS" "$@" || failed=1
  return $failed
}
test_step() {  # test_step <command...>: runs a test stage, marks it FAILED without stopping
  if "$@"; then end_step ok; else end_step FAILED; fi
}

step "building (Release, g++)"
build build Release -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc
step "running tests (Release, g++)"
# The chaos suite's one line per driver (lost, duplicates) goes into the
# summary: ctest shows a passing test's output only on failure.
rm -f build/tests/integration/chaos/chaos-*.summary
test_step run_ctest build
for f in build/tests/integration/chaos/chaos-*.summary; do
  if [ -f "$f" ]; then test_summaries+=("$(tail -1 "$f")"); fi
done

# The whole tree once more with the other compiler users have: clang++ finds
# other warnings (-Werror) and other undefined behaviour. Its broker tests add
# nothing the g++ run did not prove, so only the broker-free ones run (and
# no bench smoke test: the benches are built, which is what clang checks).
step "building (Release, clang++)"
build build-clang Release -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
step "running broker-free tests (Release, clang++)"
test_step ctest_run "build-clang, broker-free" --test-dir build-clang -j "$JOBS" -E "$BROKER_TESTS" -LE bench-smoke

if [ "$asan" = 1 ]; then
  # clang++, so that the same build also has the coverage-guided libFuzzer
  # harnesses (tests/fuzz, docs/fuzzing.md) under ASan+UBSan: no extra build.
  step "building with ASan+UBSan (clang++, with the libFuzzer harnesses)"
  # A build-asan configured with g++ by an older test.sh cannot switch compilers in place.
  if [ -f build-asan/CMakeCache.txt ] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' build-asan/CMakeCache.txt; then
    rm -rf build-asan
  fi
  build build-asan RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
    -DQPLUG_SANITIZE=ON -DQPLUG_LIBFUZZER=ON -DQPLUG_BUILD_BENCH=OFF
  step "running tests under ASan+UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  test_step run_ctest build-asan -LE bench-smoke

  # Every harness for a bounded time, JOBS at a time, from its committed
  # corpus (new inputs go to a temporary directory); any crash fails the
  # stage and leaves its reproducer in build-asan/fuzz-artifacts/.
  fuzz_seconds=${QPLUG_FUZZ_SECONDS:-25}
  step "fuzzing (${fuzz_seconds}s per harness)"
  fuzz_log=$(mktemp)
  if bash tools/fuzz.sh --build-dir build-asan --no-build --jobs "$JOBS" all "$fuzz_seconds" | tee "$fuzz_log"; then
    end_step ok
  else
    end_step FAILED
    status=1
  fi
  mapfile -t fuzz_lines < <(grep '^fuzz ' "$fuzz_log")
  test_summaries+=("${fuzz_lines[@]}")
  rm -f "$fuzz_log"

  # The lock-free and multi-threaded parts once more under ThreadSanitizer:
  # the drivers' hand-offs between host, dispatcher and I/O threads and the
  # consumer runtime. Only their tests are built (a full TSan build would
  # add another full build to CI time).
  step "building the threaded parts with ThreadSanitizer"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQPLUG_SANITIZE_THREAD=ON \
    -DQPLUG_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  cmake --build build-tsan -j "$JOBS" --target memory_driver_test memory_groups_test conformance_memory consumer_runtime_test \
    runtime_test conformance_redis redis_integration_test redis_runtime_test conformance_amqp amqp_integration_test \
    conformance_mqtt mqtt_driver_test
  step "running the threaded tests under ThreadSanitizer"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  tsan_failed=0
  ctest_run "build-tsan, broker-free" --test-dir build-tsan -j "$JOBS" \
    -R '^(memory_driver|memory_groups|memory|ConsumerRuntimeTest|RuntimeTest)\.' || tsan_failed=1
  ctest_run "build-tsan, brokers" --test-dir build-tsan -j 1 \
    -R '^(redis|redis_integration|redis_runtime|amqp|mqtt)\.' \
    -E '(BadInputMatrix|RunWaitsForTheBrokerAtStart|\.cli_)' || tsan_failed=1  # CLI tests: qplug is not in the TSan build
  if [ $tsan_failed -eq 0 ]; then end_step ok; else end_step FAILED; fi
fi
exit $status
