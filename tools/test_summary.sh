#!/usr/bin/env bash
# The closing lines of tools/test.sh, from CTest's output and the skip reasons the tests left:
#   slowest: integration/linux_fork 410 s, integration/firmware_linux 318 s, ... (ten)
#   time: CTest 2419 s wall, 4685 s of test time
#   skipped: 52 no usable KVM, 3 not root
#   tests: 90 passed, 0 failed, 55 skipped
#   why: integration/linux_x: E   AssertionError: ... (a line per failed test, at most ten)
#   cpu: 7012 s in the tests' processes, 6650 s of it system
#   cpu, most: integration/linux_fork 402 s, integration/linux_balloon 398 s, ... (ten)
#   tools/test_summary.sh CTEST-OUTPUT SKIP-DIR [TABLE [CPU-DIR]]
# CTEST-OUTPUT holds CTest's per-test lines ("Test #N: NAME ....   Passed"); SKIP-DIR one file per
# skipped test holding "CATEGORY: detail" (tests/integration/conftest.py writes them). TABLE,
# when given, gets every test's seconds, slowest first: "SECONDS NAME RESULT" a line, and with
# CPU-DIR (one file per test holding "USER SYSTEM" CPU seconds, tests/harness/test_guard.c) a
# fourth column, its CPU seconds ("-" for a test without a file), and the "cpu:" line.
set -euo pipefail
out=$1
skips=$2
table=${3:-}
cpus=${4:-}

# The CPU seconds of test NAME from CPU-DIR, "-" when it left none.
cpu_of() {
	local f="$cpus/${1//\//_}" user sys
	if [ -n "$cpus" ] && [ -r "$f" ] && read -r user sys <"$f"; then
		awk -v u="$user" -v s="$sys" 'BEGIN {printf "%d", u + s + 0.5}'
	else
		echo -
	fi
}

# CTest's own result lines ("  12/318 Test #40: NAME ...."), not those of a CTest run that a
# test printed in its output (unit_sanitizers' failure shows its inner run's lines): their
# "/318" is the total of the last "tests failed out of 318", CTest's own closing line.
total=$(grep -oE 'tests failed out of [0-9]+' "$out" | tail -n 1 | grep -oE '[0-9]+$' || true)
line="^ *[0-9]+/${total:-[0-9]+} Test +#[0-9]+: "
count() { grep -cE "$line.*$1" "$out" || true; }
passed=$(count ' Passed ')
skipped=$(count '\*\*\*Skipped ')
failed=$(grep -E "$line" "$out" | grep -cvE ' Passed |\*\*\*Skipped ' || true)

# The ten slowest tests and the totals: where the suite's minutes go (CI has 90 for all of it).
# Every stage reads its input to the end: no head(1) that could close a pipe early under pipefail.
slowest=$(grep -E "$line.* sec\$" "$out" |
	sed -E 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec$/\2 \1/' | sort -rn |
	awk 'NR <= 10 {printf "%s%s %d s", sep, $2, $1 + 0.5; sep = ", "}' || true)
[ -z "$slowest" ] || echo "slowest: $slowest"
if [ -n "$table" ]; then
	# "Test #N: NAME ....***Exception: SegFault  0.01 sec": NAME, the result's words, the seconds
	grep -E "$line.* sec\$" "$out" |
		awk '{ sub(/.*Test +#[0-9]+: /, ""); name = $1; secs = $(NF - 1); $1 = ""; $NF = ""; $(NF - 1) = ""
			r = $0; gsub(/^[ .*]+|[ ]+$/, "", r); gsub(/ +/, "-", r)
			printf "%6d %s %s\n", secs + 0.5, name, r }' | sort -rn >"$table" || true
	if [ -n "$cpus" ]; then
		while read -r secs name result; do
			printf '%6d %s %s %s\n' "$secs" "$name" "$result" "$(cpu_of "$name")"
		done <"$table" >"$table.cpu" && mv "$table.cpu" "$table"
	fi
fi
wall=$(grep -oE 'Total Test time \(real\) = *[0-9.]+' "$out" | grep -oE '[0-9.]+$' | tail -n 1 || true)
sum=$(grep -E "$line.* sec\$" "$out" | grep -oE '[0-9.]+ sec$' |
	awk '{s += $1} END {printf "%d", s + 0.5}' || true)
[ -z "$wall" ] || echo "time: CTest ${wall%.*} s wall, ${sum:-0} s of test time"

if [ "$skipped" -gt 0 ]; then
	reasons=""
	if [ -d "$skips" ]; then
		reasons=$(cat "$skips"/* 2>/dev/null | cut -d: -f1 | sort | uniq -c | sort -rn |
			awk '{n = $1; $1 = ""; printf "%s%d%s", sep, n, $0; sep = ", "}')
	fi
	recorded=$( (find "$skips" -type f 2>/dev/null || true) | wc -l)
	if [ "$recorded" -lt "$skipped" ]; then
		reasons="${reasons:+$reasons, }$((skipped - recorded)) with no recorded reason"
	fi
	echo "skipped: $reasons"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
# Why each failed test failed, where a reader of CI's last lines sees it: the first assertion
# line pytest printed ("E   ..."), else the last line of its output (its block runs from its
# result line to the next test's line).
if [ "$failed" -gt 0 ]; then
	awk -v re="$line" '
		function flush() {
			if (cur != "" && shown++ < 10)
				print "why: " cur ": " substr(first != "" ? first : (last != "" ? last : "(no output)"), 1, 300)
			cur = first = last = ""
		}
		$0 ~ re {
			flush()
			if ($0 !~ / Passed |\*\*\*Skipped /) { cur = $0; sub(/.*Test +#[0-9]+: /, "", cur); sub(/ .*/, "", cur) }
			next
		}
		/^ *Start +[0-9]+: |tests passed, |^The following tests/ { flush(); next }
		cur != "" {
			t = $0; sub(/^\[ *[0-9]+s\] /, "", t)
			if (first == "" && t ~ /^E +[^ ]/) first = t
			if (t ~ /[^ ]/) last = t
		}
		END { flush() }' "$out" || true
fi
# Where the CPUs went (on a 2-core host they are the limit): the tests' processes, VMMs and QEMU
# included, and the ten that used the most.
if [ -n "$cpus" ] && [ -d "$cpus" ]; then
	# one "NAME USER SYSTEM" line a test, its file's name back to the test's (integration/x)
	rows=$(for f in "$cpus"/*; do
		[ -f "$f" ] && read -r user sys <"$f" && echo "${f##*/} $user $sys"
	done | sed -E 's/^([^_]*)_/\1\//' || true)
	if [ -n "$rows" ]; then
		echo "$rows" | awk '{all += $2 + $3; sys += $3}
			END {printf "cpu: %d s in the tests'"'"' processes, %d s of it system\n", all + 0.5, sys + 0.5}'
		echo "cpu, most: $(echo "$rows" | awk '{printf "%d %s\n", $2 + $3 + 0.5, $1}' | sort -rn |
			awk 'NR <= 10 {printf "%s%s %d s", sep, $2, $1; sep = ", "}')"
	fi
fi
