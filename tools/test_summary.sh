#!/usr/bin/env bash
# The closing lines of tools/test.sh, from CTest's output and the skip reasons the tests left:
#   slowest: integration/linux_fork 410 s, integration/firmware_linux 318 s, ... (ten)
#   time: CTest 2419 s wall, 4685 s of test time
#   skipped: 52 no usable KVM, 3 not root
#   tests: 90 passed, 0 failed, 55 skipped
#   tools/test_summary.sh CTEST-OUTPUT SKIP-DIR [TABLE]
# CTEST-OUTPUT holds CTest's per-test lines ("Test #N: NAME ....   Passed"); SKIP-DIR one file per
# skipped test holding "CATEGORY: detail" (tests/integration/conftest.py writes them). TABLE,
# when given, gets every test's seconds, slowest first: "SECONDS NAME RESULT" a line.
set -euo pipefail
out=$1
skips=$2
table=${3:-}

count() { grep -cE "Test +#[0-9]+: .*$1" "$out" || true; }
passed=$(count ' Passed ')
skipped=$(count '\*\*\*Skipped ')
failed=$(grep -E 'Test +#[0-9]+: ' "$out" | grep -cvE ' Passed |\*\*\*Skipped ' || true)

# The ten slowest tests and the totals: where the suite's minutes go (CI has 90 for all of it).
# Every stage reads its input to the end: no head(1) that could close a pipe early under pipefail.
slowest=$(grep -E 'Test +#[0-9]+: .* sec$' "$out" |
	sed -E 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec$/\2 \1/' | sort -rn |
	awk 'NR <= 10 {printf "%s%s %d s", sep, $2, $1 + 0.5; sep = ", "}' || true)
[ -z "$slowest" ] || echo "slowest: $slowest"
if [ -n "$table" ]; then
	# "Test #N: NAME ....***Exception: SegFault  0.01 sec": NAME, the result's words, the seconds
	grep -E 'Test +#[0-9]+: .* sec$' "$out" |
		awk '{ sub(/.*Test +#[0-9]+: /, ""); name = $1; secs = $(NF - 1); $1 = ""; $NF = ""; $(NF - 1) = ""
			r = $0; gsub(/^[ .*]+|[ ]+$/, "", r); gsub(/ +/, "-", r)
			printf "%6d %s %s\n", secs + 0.5, name, r }' | sort -rn >"$table" || true
fi
wall=$(grep -oE 'Total Test time \(real\) = *[0-9.]+' "$out" | grep -oE '[0-9.]+$' | tail -n 1 || true)
sum=$(grep -E 'Test +#[0-9]+: .* sec$' "$out" | grep -oE '[0-9.]+ sec$' |
	awk '{s += $1} END {printf "%d", s + 0.5}' || true)
[ -z "$wall" ] || echo "time: CTest ${wall%.*} s wall, ${sum:-0} s of test time"

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
