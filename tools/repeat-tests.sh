#!/usr/bin/env bash
# Runs one ctest selection N times in a row, one test at a time, to find flaky
# tests: stops at the first run with a failure and names the run and the tests
# that failed. Prints one summary line per run.
#
#   tools/repeat-tests.sh BUILD_DIR REGEX N [CTEST ARGS...]
#   e.g. tools/repeat-tests.sh build '^(redis|amqp)' 20
#
# Broker-backed tests need their brokers and QPLUG_TEST_* variables exported in
# this shell (see tools/scripts/brokers.sh). Each run's full ctest output is
# kept in BUILD_DIR/repeat-tests/run-<i>.log. Exit status: 0 when all N runs
# passed, 1 at the first failing run, 2 for bad arguments.
set -uo pipefail

usage() { sed -n '2,13p' "$0" >&2; exit 2; }
[ $# -ge 3 ] || usage
dir=$1 regex=$2 n=$3
shift 3
case "$n" in '' | *[!0-9]* | 0) echo "repeat-tests: N must be a positive integer, got '$n'" >&2; exit 2 ;; esac
[ -f "$dir/CTestTestfile.cmake" ] || { echo "repeat-tests: $dir is not a ctest build directory" >&2; exit 2; }

logs="$dir/repeat-tests"
mkdir -p "$logs"
listed=$(ctest --test-dir "$dir" -N -R "$regex" "$@" | sed -n 's/^Total Tests: //p')
if [ "${listed:-0}" -eq 0 ]; then
  echo "repeat-tests: no test in $dir matches '$regex'" >&2
  exit 2
fi
echo "repeat-tests: $listed tests matching '$regex', $n runs, logs in $logs"

start_all=$SECONDS
for ((i = 1; i <= n; i++)); do
  log="$logs/run-$i.log"
  start=$SECONDS
  ctest --test-dir "$dir" -j 1 --timeout 900 --output-on-failure -R "$regex" "$@" >"$log" 2>&1
  rc=$?
  # "100% tests passed, 0 tests failed out of 57"
  failed=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  total=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)
  if [ -z "$total" ]; then
    echo "run $i/$n: ctest printed no summary (exit $rc); see $log" >&2
    exit 1
  fi
  echo "run $i/$n: $((total - failed)) passed, $failed failed ($((SECONDS - start)) s)"
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    echo "repeat-tests: run $i of $n failed:"
    # ctest lists them after "The following tests FAILED:" as "  12 - name (Failed)".
    sed -n '/The following tests FAILED:/,$p' "$log" | sed -n 's/^[[:space:]]*[0-9]* - /  /p'
    echo "repeat-tests: full output in $log"
    exit 1
  fi
done
echo "repeat-tests: $n of $n runs passed, 0 failed ($listed tests each, $((SECONDS - start_all)) s)"
