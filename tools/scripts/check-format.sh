#!/usr/bin/env bash
# Checks that every tracked C/C++ file (git ls-files *.c *.h *.cpp *.hpp) is
# formatted with the repository's .clang-format, without changing anything.
# Exits 1 and names every file that is not; fix them with
#   clang-format -i FILE...
#
#   tools/scripts/check-format.sh            the whole tree
#   tools/scripts/check-format.sh FILE...    only these files
#   CLANG_FORMAT=clang-format-14             which binary to use (default: clang-format)
set -euo pipefail
cd "$(dirname "$0")/../.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
  echo "check-format: '$CLANG_FORMAT' not found (Debian package clang-format; tools/scripts/install-deps.sh installs it)" >&2
  exit 2
fi

files=()
if [ $# -gt 0 ]; then
  files=("$@")
else
  while IFS= read -r -d '' f; do files+=("$f"); done < <(git ls-files -z '*.c' '*.h' '*.cpp' '*.hpp')
fi

# One clang-format run over all files (one process per file is ~20x slower);
# its diagnostics ("FILE:LINE:COL: error: code should be clang-formatted")
# name the files at fault.
for f in "${files[@]}"; do
  if [ ! -f "$f" ]; then
    echo "check-format: $f: no such file" >&2
    exit 2
  fi
done
rc=0
out=$("$CLANG_FORMAT" --dry-run -Werror "${files[@]}" 2>&1) || rc=$?
unformatted=()
while IFS= read -r f; do
  [ -n "$f" ] && unformatted+=("$f")
done < <(printf '%s\n' "$out" | sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
if [ "$rc" -ne 0 ] && [ ${#unformatted[@]} -eq 0 ]; then
  # Failed for another reason (bad .clang-format, unreadable file): show why.
  printf '%s\n' "$out" >&2
  echo "check-format: $CLANG_FORMAT failed (exit $rc)" >&2
  exit 2
fi

if [ ${#unformatted[@]} -gt 0 ]; then
  echo "check-format: ${#unformatted[@]} of ${#files[@]} files are not formatted ($("$CLANG_FORMAT" --version | head -1)):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "check-format: run: $CLANG_FORMAT -i <file>... (the repository's .clang-format applies)" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
