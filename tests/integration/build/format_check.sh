#!/usr/bin/env bash
# Every C source and header the project tracks is formatted as .clang-format says.
# labels: lint
# timeout: 120
set -uo pipefail
SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
cd "$SOURCE_DIR" || exit 1
if ! command -v clang-format >/dev/null; then
	echo "FAIL: clang-format is not installed (tools/setup.sh installs it)"
	exit 1
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if ! clang-format --dry-run --Werror "${files[@]}"; then
	echo "FAIL: run clang-format -i on the files above"
	exit 1
fi
echo "ok: ${#files[@]} files formatted"
