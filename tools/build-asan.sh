#!/usr/bin/env bash
# Builds the AddressSanitizer + UndefinedBehaviorSanitizer tree $BUILD_DIR/asan (-DVMM_SANITIZE=ON,
# Debug; kept between runs, so later runs rebuild only what changed) for the sanitizer tests:
#   tools/build-asan.sh units   every unit test binary (integration/unit_sanitizers)
#   tools/build-asan.sh vmm     vmm, vmmctl and the test guests integration/sanitized_vmm boots
# tools/test.sh runs both before CTest, so no test's time is a build's; each test runs it again
# (seconds when nothing changed). The log is $BUILD_DIR/asan.WHAT.log; on failure its errors are
# shown and the status is 1.
set -u
what=${1:?usage: tools/build-asan.sh units|vmm}
SRC=${SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
ASAN_BUILD=${BUILD_DIR:-$SRC/build}/asan
JOBS=${SANITIZE_JOBS:-2}
LOG=$ASAN_BUILD.$what.log
# The test guests sanitized_vmm boots (its SCRIPTS' guests).
GUEST_TARGETS=(guest_hello guest_hostile guest_virtio_blk guest_virtio_net_user
	guest_virtio_vsock guest_snap_counter guest_blk_bench)

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# Both builds share the tree: one at a time.
exec 9>"$ASAN_BUILD.lock"
flock 9
# A build directory made with another generator cannot be reused: start it afresh.
if [ -f "$ASAN_BUILD/CMakeCache.txt" ] && [ ${#gen[@]} -gt 0 ] &&
	! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$ASAN_BUILD/CMakeCache.txt"; then
	rm -rf "$ASAN_BUILD"
fi
echo "== configure $ASAN_BUILD (VMM_SANITIZE=ON)"
if ! cmake -S "$SRC" -B "$ASAN_BUILD" "${gen[@]}" -DVMM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	>"$LOG" 2>&1; then
	tail -20 "$LOG"
	echo "FAIL: cmake configure (log: $LOG)"
	exit 1
fi
case $what in
units)
	# The unit tests CTest knows (unit/test_x) are the targets to build (test_x).
	mapfile -t targets < <(cd "$ASAN_BUILD" && ctest -N -L unit | sed -n 's|^ *Test *#[0-9]*: unit/||p')
	[ ${#targets[@]} -gt 0 ] || { echo "FAIL: no unit tests found in $ASAN_BUILD"; exit 1; }
	;;
vmm) targets=(vmm vmmctl "${GUEST_TARGETS[@]}") ;;
*)
	echo "usage: tools/build-asan.sh units|vmm" >&2
	exit 2
	;;
esac
echo "== build ${#targets[@]} targets with -j$JOBS"
SECONDS=0
if ! cmake --build "$ASAN_BUILD" -j "$JOBS" --target "${targets[@]}" >>"$LOG" 2>&1; then
	grep -E 'error|FAILED' "$LOG" | head -20
	echo "FAIL: the sanitizer build ($what) failed (log: $LOG)"
	exit 1
fi
echo "built in ${SECONDS}s"
