#!/usr/bin/env bash
# Runs the coverage-guided libFuzzer harnesses of tests/fuzz (docs/fuzzing.md).
#
#   tools/fuzz.sh TARGET SECONDS      one harness (config_fuzz, or just: config)
#   tools/fuzz.sh all SECONDS         every harness, SECONDS each
#
# Options (before TARGET):
#   --build-dir DIR   the clang ASan+UBSan build with -DQPLUG_LIBFUZZER=ON
#                     (default: build-asan, tools/test.sh's; configured here
#                     when it does not exist yet)
#   --no-build        use the binaries as they are (tools/test.sh built them)
#   --jobs N          harnesses run at the same time (default: nproc)
#   --corpus-out DIR  keep the corpus each harness grows in DIR/<harness>
#                     (read again next time: long runs add up); default: a
#                     temporary directory, removed afterwards
#
# Each harness starts from its committed corpus tests/fuzz/corpus/<harness>
# (seeds and every crash reproducer found so far), which is never written to.
# One line per harness: "fuzz <harness>: N execs, 0 crashes". A crash, leak,
# sanitizer report, failed invariant, out-of-memory or an input running longer
# than 30 s stops that harness, keeps its reproducer in
# DIR/fuzz-artifacts/<harness>/ and makes the exit status 1. To keep it: copy
# it into tests/fuzz/corpus/<harness>/ with the fix (the ctest fuzz.<harness>
# replays it in every build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

build_dir=build-asan
do_build=1
jobs=$(nproc)
corpus_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --corpus-out) corpus_out=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
  echo "usage: tools/fuzz.sh [--build-dir DIR] [--no-build] [--jobs N] [--corpus-out DIR] TARGET|all SECONDS" >&2
  exit 2
fi
what=$1 seconds=$2
[[ "$build_dir" = /* ]] || build_dir="$ROOT/$build_dir"

all_targets() {  # every harness with a corpus directory
  local d
  for d in "$ROOT"/tests/fuzz/corpus/*/; do basename "$d"; done
}
if [ "$what" = all ]; then
  mapfile -t targets < <(all_targets)
else
  t=${what%_libfuzzer}
  [[ "$t" = *_fuzz ]] || t=${t}_fuzz
  if [ ! -d "$ROOT/tests/fuzz/corpus/$t" ]; then
    echo "fuzz.sh: no harness '$what' (one of: $(all_targets | tr '\n' ' '))" >&2
    exit 2
  fi
  targets=("$t")
fi

if [ "$do_build" = 1 ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    launcher=()
    command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    cmake -S "$ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_C_COMPILER=clang -DQPLUG_SANITIZE=ON -DQPLUG_LIBFUZZER=ON -DQPLUG_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  fi
  cmake --build "$build_dir" -j "$jobs" --target "${targets[@]/%/_libfuzzer}"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/qplug-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {  # run_one <harness>: writes its result line to $work/<harness>.result
  local t=$1 bin="$build_dir/tests/fuzz/${t}_libfuzzer"
  local corpus="$work/$t/corpus" artifacts="$build_dir/fuzz-artifacts/$t" log="$work/$t/log"
  [ -z "$corpus_out" ] || corpus="$corpus_out/$t"
  mkdir -p "$corpus" "$artifacts" "$work/$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz $t: not built ($bin missing; needs clang and -DQPLUG_LIBFUZZER=ON)" >"$work/$t.result"
    return
  fi
  local rc=0
  "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$ROOT/tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: ${execs:-0} execs, 0 crashes" >"$work/$t.result"
  else
    local repro
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    {
      echo "fuzz $t: ${execs:-?} execs, 1 crash (reproducer: ${repro:-none written}; exit $rc)"
      grep -E 'ERROR|invariant failed|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /'
    } >"$work/$t.result"
    cp "$log" "$artifacts/last.log"
  fi
}

# Up to $jobs harnesses at a time.
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
for t in "${targets[@]}"; do
  cat "$work/$t.result"
  grep -q ', 0 crashes$' "$work/$t.result" || failed=1
done
exit $failed
