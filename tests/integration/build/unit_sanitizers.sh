#!/usr/bin/env bash
# Every unit test again under AddressSanitizer + UndefinedBehaviorSanitizer: configures a second
# build in $BUILD_DIR/asan with -DVMM_SANITIZE=ON (kept between runs, so later runs rebuild only
# what changed), builds only the unit test binaries (test_*; not the VMM, guests or benchmarks),
# and runs `ctest -L unit` there. Any failing test, sanitizer report or build error fails.
# With --build-only it stops after the build (tools/test.sh, before CTest).
# labels: sanitize
# resource: asan-build
# timeout: 1200
set -u
SRC=${SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
ASAN_BUILD=${BUILD_DIR:-$SRC/build}/asan
JOBS=${SANITIZE_JOBS:-2}
LOG=$ASAN_BUILD.log

fail() {
	echo "FAIL: $*"
	exit 1
}

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# A build directory made with another generator cannot be reused: start it afresh.
if [ -f "$ASAN_BUILD/CMakeCache.txt" ] && [ ${#gen[@]} -gt 0 ] &&
	! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$ASAN_BUILD/CMakeCache.txt"; then
	rm -rf "$ASAN_BUILD"
fi
echo "== configure $ASAN_BUILD (VMM_SANITIZE=ON)"
if ! cmake -S "$SRC" -B "$ASAN_BUILD" "${gen[@]}" -DVMM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	>"$LOG" 2>&1; then
	tail -20 "$LOG"
	fail "cmake configure (log: $LOG)"
fi

# The unit tests CTest knows (unit/test_x) are the targets to build (test_x).
mapfile -t targets < <(cd "$ASAN_BUILD" && ctest -N -L unit | sed -n 's|^ *Test *#[0-9]*: unit/||p')
[ ${#targets[@]} -gt 0 ] || fail "no unit tests found in $ASAN_BUILD"
echo "== build ${#targets[@]} unit tests with -j$JOBS"
if ! cmake --build "$ASAN_BUILD" -j "$JOBS" --target "${targets[@]}" >>"$LOG" 2>&1; then
	grep -E 'error|FAILED' "$LOG" | head -20
	fail "the sanitizer build of the unit tests failed (log: $LOG)"
fi
# tools/test.sh builds this tree before CTest starts, so the test's time is the tests'.
[ "${1:-}" = --build-only ] && exit 0

# Stop at the first report, with a stack; leaks count as failures too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
# Leaks inside the test framework itself (tests/lsan.supp says which) are not ours.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== ctest -L unit"
if ! (cd "$ASAN_BUILD" && ctest -L unit -j "$JOBS" --output-on-failure); then
	fail "a unit test failed under ASan/UBSan (rerun: cd $ASAN_BUILD && ctest -L unit -R NAME -V)"
fi
echo "ok: ${#targets[@]} unit tests pass under ASan and UBSan"
exit 0
