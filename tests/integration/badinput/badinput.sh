#!/usr/bin/env bash
# badinput.sh QPLUG MATRIX GROUP
# The bad-input matrix (issue 11): runs every row of MATRIX whose group is
# GROUP against the real `qplug` binary and checks, per row, the exit code,
# the error kind and a fragment of the message -- and that qplug neither
# crashed (exit >= 128: a signal) nor hung (a timeout per row).
#
# A row is one line, fields separated by " | ":
#   GROUP | NAME | EXIT | KIND | FRAGMENT | ARGS
# KIND and FRAGMENT are fixed strings that must appear in the combined
# stdout+stderr ("-" = no check; %D is replaced in FRAGMENT too). ARGS are the qplug arguments, split on
# spaces, after these substitutions:
#   %D      this directory's configs/        %W    a scratch directory
#   %K256   a 256-byte header key            %X60K 60 KiB of 'x'
#   %ID300  a 300-character queue name
# Leading NAME=VALUE words of ARGS are set in qplug's environment, and
# "<FILE" feeds FILE to its stdin. Configs reach brokers, plugins and files
# through ${VAR} (QPLUG_TEST_*_URL, QPLUG_BADINPUT_LOADER_PLUGINS, ...).
set -u
qplug=$1
matrix=$2
group=$3
here=$(cd "$(dirname "$0")" && pwd)
row_timeout=${QPLUG_BADINPUT_ROW_TIMEOUT:-90}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QPLUG_BADINPUT_WORK=$work
# Broker-side names carry this, so each run starts from empty queues.
export QPLUG_BADINPUT_RUN=${QPLUG_BADINPUT_RUN:-$(date +%s)-$$}

# Fixtures: a body over the ~128 KiB a single argv string may hold.
printf '{"blob":"%s"}' "$(head -c 300000 /dev/zero | tr '\0' 'b')" >"$work/big.json"
printf '{"from":"stdin"}' >"$work/stdin.json"
k256=$(head -c 256 /dev/zero | tr '\0' 'k')
x60k=$(head -c 61440 /dev/zero | tr '\0' 'x')
id300=$(head -c 300 /dev/zero | tr '\0' 'i')

rows=0
failed=0
while IFS= read -r line; do
  case "$line" in '' | '#'*) continue ;; esac
  IFS='|' read -r g name want kind fragment args <<<"$line"
  trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }
  g=$(trim "$g"); name=$(trim "$name"); want=$(trim "$want")
  kind=$(trim "$kind"); fragment=$(trim "$fragment"); args=$(trim "$args")
  [ "$g" = "$group" ] || continue
  fragment=${fragment//%D/$here/configs}
  rows=$((rows + 1))
  envs=()
  argv=()
  stdin=/dev/null
  for word in $args; do
    word=${word//%D/$here/configs}
    word=${word//%W/$work}
    word=${word//%K256/$k256}
    word=${word//%X60K/$x60k}
    word=${word//%ID300/$id300}
    if [ ${#argv[@]} -eq 0 ] && [[ "$word" =~ ^[A-Z_][A-Z0-9_]*= ]]; then
      envs+=("$word")
    elif [[ "$word" == '<'* ]]; then
      stdin=${word#<}
    else
      argv+=("$word")
    fi
  done
  out=$(env "${envs[@]}" timeout -s KILL "$row_timeout" "$qplug" "${argv[@]}" <"$stdin" 2>&1)
  code=$?
  problem=""
  if [ "$code" -eq 137 ]; then
    problem="hung: killed after ${row_timeout}s"
  elif [ "$code" -ge 128 ]; then
    problem="crashed: exit $code (signal $((code - 128)))"
  elif [ "$code" -ne "$want" ]; then
    problem="exit code $code, wanted $want"
  elif [ "$kind" != "-" ] && ! grep -Fq -- "$kind" <<<"$out"; then
    problem="no error kind '$kind' in the output"
  elif [ "$fragment" != "-" ] && ! grep -Fq -- "$fragment" <<<"$out"; then
    problem="no '$fragment' in the output"
  fi
  if [ -n "$problem" ]; then
    failed=$((failed + 1))
    echo "FAIL $group/$name: $problem"
    echo "  qplug ${argv[*]:0:8}"
    printf '%s\n' "$out" | head -c 3000 | sed 's/^/  | /'
  else
    echo "ok   $group/$name (exit $code)"
  fi
done <"$matrix"
echo "badinput $group: $rows rows, $failed failed"
[ "$rows" -gt 0 ] && [ "$failed" -eq 0 ]
