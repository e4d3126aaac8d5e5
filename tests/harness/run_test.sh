#!/usr/bin/env bash
# How CTest runs an integration test: a pytest file (tests/integration/framework/: the harness)
# with pytest, whose conftest.py first checks the host needs of its "# requires: WHAT..." line
# (framework/host.py: a missing one skips the test with exit 77 within a second, before the file
# is even imported, and leaves its reason in $VMM_SKIP_DIR). A bash script gets the same check
# (python3 -m framework.host requires SCRIPT), then runs. The output of a test labelled "slow"
# gets the seconds since its start in front of each line ("[  42s] ok: ..."), so that a CI log
# shows where its minutes went. The test runs under test-guard (TEST_GUARD,
# tests/harness/test_guard.c) when CTest gives it: a test still running shortly before its
# timeout (VMM_TEST_TIMEOUT, from its "# timeout:" line) fails with the list of its processes
# still there, and whatever a test leaves running is ended with it, the processes that left its
# tree included.
#   run_test.sh SCRIPT [ARGS...]
# The body is one function, read whole before it runs: a commit that edits this file while a
# test runs does not change the running copy halfway.
set -u
main() {
	script=$1
	shift
	# Debian's python3 before any shim (tests/CMakeLists.txt makes the link)
	[ ! -d "${BUILD_DIR:-}/test-bin" ] || export PATH="$BUILD_DIR/test-bin:$PATH"
	case $script in
	*.py) ;;
	*)
		PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")/../integration${PYTHONPATH:+:$PYTHONPATH}" \
			python3 -m framework.host requires "$script" || exit
		;;
	esac
	guard=()
	if [ -n "${TEST_GUARD:-}" ] && [ -x "$TEST_GUARD" ]; then
		timeout_s=${VMM_TEST_TIMEOUT:-$(sed -n 's/^# timeout: //p' "$script" | head -n 1)}
		guard=("$TEST_GUARD" "${timeout_s:-300}")
	fi
	run=(bash "$script")
	# A pytest file: -p no:cacheprovider keeps the tree clean; conftest.py turns "every test
	# skipped" (its requires unmet among them) into 77.
	case $script in *.py) run=(python3 -m pytest -q -p no:cacheprovider "$script") ;; esac
	grep -q '^# labels: .*\bslow\b' "$script" || exec "${guard[@]}" "${run[@]}" "$@"
	start=$SECONDS
	"${guard[@]}" "${run[@]}" "$@" 2>&1 | while IFS= read -r line || [ -n "$line" ]; do
		printf '[%4ds] %s\n' $((SECONDS - start)) "$line"
	done
	exit "${PIPESTATUS[0]}"
}
main "$@"
exit
