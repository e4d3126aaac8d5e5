#!/usr/bin/env bash
# The closing lines of tools/test.sh, from CTest's output and the skip reasons the tests left:
#   skipped: 52 no usable KVM, 3 not root
#   tests: 90 passed, 0 failed, 55 skipped
#   tools/test_summary.sh CTEST-OUTPUT SKIP-DIR
# CTEST-OUTPUT holds CTest's per-test lines ("Test #N: NAME ....   Passed"); SKIP-DIR one file per
# skipped test holding "CATEGORY: detail" (tests/integration/lib/require.sh writes them).
set -euo pipefail
out=$1
skips=$2

count() { grep -cE "Test +#[0-9]+: .*$1" "$out" || true; }
passed=$(count ' Passed ')
skipped=$(count '\*\*\*Skipped ')
failed=$(grep -E 'Test +#[0-9]+: ' "$out" | grep -cvE ' Passed |\*\*\*Skipped ' || true)

if [ "$skipped" -gt 0 ]; then
	reasons=""
	if [ -d "$skips" ]; then
		reasons=$(cat "$skips"/* 2>/dev/null | cut -d: -f1 | sort | uniq -c | sort -rn |
			awk '{n = $1; $1 = ""; printf "%s%d%s", sep, n, $0; sep = ", "}')
	fi
	recorded=$(find "$skips" -type f 2>/dev/null | wc -l)
	if [ "$recorded" -lt "$skipped" ]; then
		reasons="${reasons:+$reasons, }$((skipped - recorded)) with no recorded reason"
	fi
	echo "skipped: $reasons"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
