#!/usr/bin/env bash
# sigterm.sh QPLUG CONFIG
# Starts `QPLUG run CONFIG` in the background, waits until its process script
# reports it is running, sends SIGTERM and requires qplug to end with exit
# code 0 and a "draining" line. Every wait is bounded (a hang fails the test
# instead of blocking it); nothing asserts on how fast it happens.
set -u
qplug=$1
config=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export QPLUG_TEST_MARKER="$dir/running"
cd "$(dirname "$config")" || exit 1
"$qplug" run "$config" >"$dir/out" 2>&1 &
pid=$!

wait_for() {  # wait_for SECONDS CONDITION...: polls CONDITION until it holds or time is up
  local tries=$(($1 * 10))
  shift
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    tries=$((tries - 1))
  done
  return 1
}
# Exited = gone or a zombie (it stays a zombie until `wait` reaps it).
dead() { ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; }

if ! wait_for 60 test -e "$QPLUG_TEST_MARKER"; then
  cat "$dir/out"
  echo "sigterm.sh: the process script never reported running" >&2
  kill -KILL "$pid" 2>/dev/null
  exit 1
fi
kill -TERM "$pid"
if ! wait_for 60 dead; then
  cat "$dir/out"
  echo "sigterm.sh: qplug run still running 60s after SIGTERM" >&2
  kill -KILL "$pid" 2>/dev/null
  exit 1
fi
wait "$pid"
code=$?
cat "$dir/out"
if [ "$code" -ne 0 ]; then
  echo "sigterm.sh: qplug run exited $code after SIGTERM, wanted 0" >&2
  exit 1
fi
if ! grep -q "signal 15, draining" "$dir/out"; then
  echo "sigterm.sh: no 'signal 15, draining' line" >&2
  exit 1
fi
exit 0
