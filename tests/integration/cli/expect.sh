#!/usr/bin/env bash
# expect.sh CODE REGEX COMMAND [ARGS...]
# Runs COMMAND, fails unless it exits with CODE and its combined stdout+stderr
# matches the extended regex REGEX (matched across lines: "." also matches
# a newline). Prints the output either way.
set -u
want_code=$1
want_regex=$2
shift 2
out=$("$@" 2>&1)
code=$?
printf '%s\n' "$out"
if [ "$code" -ne "$want_code" ]; then
  echo "expect.sh: exit code $code, wanted $want_code: $*" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Ezq -- "$want_regex"; then
  echo "expect.sh: output does not match /$want_regex/: $*" >&2
  exit 1
fi
exit 0
