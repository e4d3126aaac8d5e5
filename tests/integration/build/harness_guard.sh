#!/usr/bin/env bash
# Every test ends by itself within its timeout (run_test.sh runs it under test-guard,
# tests/harness/test_guard.c). Under tools/kvm-in-qemu two tests ran 10 minutes past theirs: CTest
# kills a test's process tree, and what had left it kept running. Here fixture tests are run as
# CTest runs them (run_test.sh, VMM_TEST_TIMEOUT, TEST_GUARD):
#   1. one that never ends ("# timeout: 8"), whose processes ignore SIGTERM, keep the output open
#      and left its tree or process group (`setsid`, `timeout`, an orphan): it must fail within
#      its 8 s with "FAIL: harness:" naming them, its EXIT trap run, none of them left;
#   2. the same labelled slow (its output piped through run_test.sh's timestamps);
#   3. one that ends with status 3 but leaves two such processes: status 3 at once, both ended.
# Before test-guard, 1 and 2 ran until this script's own limit and left every process behind.
# labels: harness
# timeout: 90
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

[ -n "${TEST_GUARD:-}" ] && [ -x "$TEST_GUARD" ] ||
	skip "not built" "TEST_GUARD (the built tests/harness/test_guard.c) is unset: run it with ctest"
RUN_LABEL=harness
M=$((8000000 + $$ % 1000000)) # in every fixture process's command line, to find them

left_over() { # PATTERN: the pids of fixture processes still running
	pgrep -f "sleep $M\\.$1" || true
}

cleanup() {
	local p
	for p in $(left_over '[0-9]'); do kill -9 "$p" 2>/dev/null; done
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

# header LABELS TIMEOUT: a fixture's first lines (written so, lest CMake take them for this
# script's own)
header() {
	printf '# %s: %s\n' labels "$1" timeout "$2"
}

{
	header fixture 8
	cat <<'EOF'
M=$1
echo "fixture started"
trap 'echo "fixture: EXIT trap ran"' EXIT
bash -c "trap '' TERM; exec sleep $M.1" &
setsid sleep "$M.2" &
timeout 900 sleep "$M.3" &
(trap '' TERM; exec sleep "$M.4") &
( (sleep "$M.5" &) )
sleep "$M.6"
EOF
} >"$LIB_TMP/hang.sh"
{
	header "fixture slow" 8
	tail -n +3 "$LIB_TMP/hang.sh"
} >"$LIB_TMP/hang_slow.sh"
{
	header fixture 30
	cat <<'EOF'
M=$1
bash -c "trap '' TERM; exec sleep $M.7" &
setsid sleep "$M.8" &
sleep 1 # both started
echo "fixture done"
exit 3
EOF
} >"$LIB_TMP/leave.sh"

# run_fixture NAME: as CTest would; FIX_STATUS, FIX_SECONDS, output in $LIB_TMP/NAME.out. The
# outer timeout only bounds this script should the guard not work.
run_fixture() {
	local t0=$SECONDS timeout_s
	timeout_s=$(sed -n 's/^# timeout: //p' "$LIB_TMP/$1.sh")
	VMM_TEST_TIMEOUT=$timeout_s timeout -k 2 30 bash "$SOURCE_DIR/tests/harness/run_test.sh" \
		"$LIB_TMP/$1.sh" "$M" >"$LIB_TMP/$1.out" 2>&1
	FIX_STATUS=$?
	FIX_SECONDS=$((SECONDS - t0))
	sed 's/^/    | /' "$LIB_TMP/$1.out"
}

expect_fixture_output() { # NAME REGEX
	grep -qE -- "$2" "$LIB_TMP/$1.out" && lib_ok "$1: output has /$2/" ||
		lib_fail "$1: output lacks /$2/"
}

expect_none_left() { # NAME PATTERN
	local left
	left=$(left_over "$2" | tr '\n' ' ')
	[ -z "$left" ] && lib_ok "$1: none of its processes left" ||
		lib_fail "$1: still running: $left"
}

for name in hang hang_slow; do
	run_fixture "$name"
	[ "$FIX_STATUS" = 1 ] && lib_ok "$name: failed (status 1)" ||
		lib_fail "$name: status $FIX_STATUS, want 1"
	[ "$FIX_SECONDS" -le 9 ] && lib_ok "$name: ended after $FIX_SECONDS s (timeout 8 s)" ||
		lib_fail "$name: ended after $FIX_SECONDS s, past its 8 s"
	expect_fixture_output "$name" '^(\[ *[0-9]+s\] )?FAIL: harness: the test did not end within'
	for i in 1 2 3 4 5 6; do
		expect_fixture_output "$name" "sleep $M\\.$i\$"
	done
	expect_fixture_output "$name" 'fixture: EXIT trap ran'
	expect_none_left "$name" '[1-6]'
done

run_fixture leave
[ "$FIX_STATUS" = 3 ] && lib_ok "leave: its own status 3" || lib_fail "leave: status $FIX_STATUS, want 3"
[ "$FIX_SECONDS" -le 4 ] && lib_ok "leave: ended after $FIX_SECONDS s" ||
	lib_fail "leave: ended after $FIX_SECONDS s"
expect_fixture_output leave '^harness: the test left these running; ended now:'
expect_fixture_output leave "sleep $M\\.7\$"
expect_none_left leave '[78]'
finish
