#!/usr/bin/env bash
# run_waits_for_delayed.sh QPLUG CONFIG_DIR
# `qplug run --exit-when-idle` on mqtt must not exit while a message is
# scheduled (delayed) in its consumer's spool: publishes {"n":7} with
# delay 6s, then runs with the default quiet window (3s) and expects the
# handler's line, and the run to have lasted past the delay. Without the
# driver's local in-flight count the run exits after the quiet window,
# before the message is due; with the delay ignored, the message is handled
# at once and the run ends after the quiet window, well before 6 s.
set -u
qplug=$1
dir=$2
export QPLUG_DELAYED_RUN="$(date +%s)-$$"
export QPLUG_DELAYED_SPOOL=$(mktemp -d)
trap 'rm -rf "$QPLUG_DELAYED_SPOOL"' EXIT
start=$(date +%s%N)
if ! out=$("$qplug" publish "$dir/delayed.yaml" app:later '{"n":7}' -H delay=6s 2>&1); then
  printf '%s\n' "$out"
  echo "run_waits_for_delayed: the delayed publish failed" >&2
  exit 1
fi
out=$(timeout -s KILL 120 "$qplug" run "$dir/delayed.yaml" --exit-when-idle 2>&1)
code=$?
end=$(date +%s%N)
printf '%s\n' "$out"
elapsed_ms=$(((end - start) / 1000000))
echo "run_waits_for_delayed: publish to exit took ${elapsed_ms} ms"
if [ "$code" -ne 0 ]; then
  echo "run_waits_for_delayed: qplug run exited $code" >&2
  exit 1
fi
if ! grep -q '^handled 7$' <<<"$out"; then
  echo "run_waits_for_delayed: run --exit-when-idle exited before the delayed message was handled" >&2
  exit 1
fi
if [ "$elapsed_ms" -lt 6000 ]; then
  echo "run_waits_for_delayed: handled and exited after ${elapsed_ms} ms, before the 6 s delay" >&2
  exit 1
fi
exit 0
