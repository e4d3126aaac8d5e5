#!/usr/bin/env bash
# The whole VMM under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer, with its
# default sandbox (--seccomp on: the runtime's own calls are allowed in sanitized builds only,
# host/sandbox/sandbox_sanitizer.c). Builds (or reuses) the same tree as unit_sanitizers.sh,
# $BUILD_DIR/asan with -DVMM_SANITIZE=ON (only the vmm, vmmctl and the test guests used here;
# "# resource:" keeps the two scripts from building it at once), then:
#   - proves a report is seen: a leak made on purpose in a confined vCPU thread
#     (VMM_SANDBOX_TEST_VIOLATION=vcpu0:leak) must fill a report file, a clean run must not;
#   - runs the integration scripts hostile_guest.sh (its seeds over mmio and over pci),
#     guest_fuzz.sh (the guest-side fuzzer, one seed per transport),
#     virtio_blk.sh, net_user.sh (virtio-net on libslirp, a test guest), virtio_vsock.sh,
#     snapshot_restore.sh and api_vm.sh with VMM pointing at the sanitized binary (QEMU runs
#     left out: they test nothing of ours here).
# With --build-only it stops after the build (tools/test.sh, before CTest).
# Every VMM writes its reports to $reports/asan.PID (ASAN_OPTIONS log_path; the sandbox opens the
# file before any filter, so an empty file means no report); any non-empty one fails the test,
# whatever the script that ran it checked. A script that exits 77 is counted as skipped.
# labels: sanitize
# requires: kvm
# resource: asan-build
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
require kvm

ASAN_BUILD=${BUILD_DIR}/asan
JOBS=${SANITIZE_JOBS:-2}
LOG=$ASAN_BUILD.vmm.log
SCRIPTS=(hostile_guest guest_fuzz virtio_blk net_user virtio_vsock snapshot_restore api_vm)
GUEST_TARGETS=(guest_hello guest_hostile guest_virtio_blk guest_virtio_net_user
	guest_virtio_vsock guest_snap_counter guest_blk_bench)

build() {
	local gen=()
	command -v ninja >/dev/null && gen=(-G Ninja)
	# A build directory made with another generator cannot be reused (as unit_sanitizers.sh).
	if [ -f "$ASAN_BUILD/CMakeCache.txt" ] && [ ${#gen[@]} -gt 0 ] &&
		! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$ASAN_BUILD/CMakeCache.txt"; then
		rm -rf "$ASAN_BUILD"
	fi
	echo "== configure $ASAN_BUILD (VMM_SANITIZE=ON), build vmm, vmmctl and ${#GUEST_TARGETS[@]} guests"
	if ! cmake -S "$SOURCE_DIR" -B "$ASAN_BUILD" "${gen[@]}" -DVMM_SANITIZE=ON \
		-DCMAKE_BUILD_TYPE=Debug >"$LOG" 2>&1 ||
		! cmake --build "$ASAN_BUILD" -j "$JOBS" --target vmm vmmctl "${GUEST_TARGETS[@]}" \
			>>"$LOG" 2>&1; then
		grep -E 'error|FAILED' "$LOG" | head -20
		echo "FAIL: the sanitized build failed (log: $LOG)"
		exit 1
	fi
}

SECONDS=0
build
echo "built in ${SECONDS}s"
# tools/test.sh builds this tree before CTest starts, so the test's time is the tests'.
[ "${1:-}" = --build-only ] && exit 0

reports=$LIB_TMP/reports
mkdir -p "$reports"
# halt_on_error: the first report ends the VMM; exitcode 86: not a status a guest can give
opts="log_path=$reports/asan:halt_on_error=1:exitcode=86:detect_leaks=1"
export ASAN_OPTIONS="$opts:strict_string_checks=1"
export UBSAN_OPTIONS="$opts:print_stacktrace=1"
export VMM=$ASAN_BUILD/vmm GUESTS=$ASAN_BUILD/tests/guests BUILD_DIR=$ASAN_BUILD
export QEMU=sanitized-run-has-no-qemu RUN_TIMEOUT=${RUN_TIMEOUT:-180}
# The guest-side fuzzer: one seed per transport, each one that found a bug (guest_fuzz.sh)
export GUEST_FUZZ_MMIO_SEEDS=${GUEST_FUZZ_MMIO_SEEDS:-2516716250}
export GUEST_FUZZ_PCI_SEEDS=${GUEST_FUZZ_PCI_SEEDS:-2} GUEST_FUZZ_ROUNDS=${GUEST_FUZZ_ROUNDS:-100}


# new_reports: prints the non-empty report files not seen before (and marks them seen)
seen=$LIB_TMP/seen
: >"$seen"
new_reports() {
	local f
	for f in "$reports"/*; do
		[ -s "$f" ] && ! grep -qxF "$f" "$seen" && echo "$f" && echo "$f" >>"$seen"
	done
	return 0
}
show_reports() { # show_reports FILE...
	local f
	for f in "$@"; do
		echo "----- $f"
		head -n 40 "$f"
	done
}

# The detection itself: a deliberate leak in a confined thread is reported, a clean run is not.
run_vmm hello --seccomp on
expect_pass
found=$(new_reports)
[ -z "$found" ] && lib_ok "a clean run leaves no report" || {
	lib_fail "a clean run left a report"
	show_reports $found
}
VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=vcpu0:leak run_vmm hello
RUN_LABEL="deliberate leak in vcpu0"
expect_status 86
found=$(new_reports)
if [ -n "$found" ] && grep -q "LeakSanitizer: detected memory leaks" $found; then
	lib_ok "LeakSanitizer ran under the vCPU's filter and reported the leak"
else
	lib_fail "no leak report for the deliberate leak"
fi

passed=() skipped=() failed=()
for script in "${SCRIPTS[@]}"; do
	echo "== $script.sh against the sanitized VMM"
	start=$SECONDS
	# VMM_TEST_NAME unset: a sub-script's skip must not overwrite this test's skip record
	# (a bash script, or its port to the pytest harness: test_NAME.py)
	file=$(ls "$SOURCE_DIR"/tests/integration/*/{"$script.sh","test_$script.py"} 2>/dev/null | head -n 1)
	VMM_TEST_NAME= bash "$SOURCE_DIR/tests/harness/run_test.sh" "$file" >"$LIB_TMP/$script.log" 2>&1
	status=$?
	found=$(new_reports)
	RUN_LABEL="$script.sh"
	if [ -n "$found" ]; then
		lib_fail "sanitizer report(s) ($((SECONDS - start))s):"
		show_reports $found
		failed+=("$script")
	elif [ "$status" = 77 ]; then
		echo "SKIP: $script.sh: $(grep -m1 '^SKIP' "$LIB_TMP/$script.log")"
		skipped+=("$script")
	elif [ "$status" = 0 ]; then
		lib_ok "passed, no sanitizer report ($((SECONDS - start))s, $(tail -n 1 "$LIB_TMP/$script.log"))"
		passed+=("$script")
	else
		lib_fail "exit status $status ($((SECONDS - start))s):"
		grep -E '^(FAIL|E )' "$LIB_TMP/$script.log" | head -20
		tail -n 20 "$LIB_TMP/$script.log"
		failed+=("$script")
	fi
done
echo "sanitized VMM: ${#passed[@]} scripts passed, ${#failed[@]} failed (${failed[*]}), ${#skipped[@]} skipped (${skipped[*]}); ${SECONDS}s in all"
finish
