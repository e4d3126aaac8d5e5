#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the VMM, the test guests and the
# default Linux guest, then runs every test (unit, integration, slow Linux boots) under CTest.
#   tools/test.sh [CTEST-ARGS...]      e.g. tools/test.sh -L unit
# Environment: BUILD_DIR (default build), VMM_GUEST_CACHE (kernel cache, see guest-images/).
# Without a usable KVM (tools/kvm-probe.sh says why) the default Linux guest is not built and
# every test that boots a guest is skipped (exit 77, counted as skipped, never as passed). The
# last lines say how many tests passed, failed and were skipped, why they were skipped, the ten
# slowest and the whole run's time; every test's seconds go to $BUILD_DIR/test-times.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

tools/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
mkdir -p "$BUILD_DIR"
# L1's QEMU for the tests that need a hardware-style KVM on a kvm_pvm host (tools/kvm-in-qemu/
# l1-qemu.sh: built once per host, some minutes, then cached): for the whole suite it is built
# in the background, beside the builds below, whose single-threaded stretches leave a CPU idle,
# and waited for before CTest. With CTest arguments integration/l1_start builds it if it runs.
l1_qemu=
if [ $# -eq 0 ] && [ "$(id -u)" -eq 0 ] && [ -e /sys/module/kvm_pvm ]; then
	nice -n 10 tools/kvm-in-qemu/l1-qemu.sh --fetch >"$BUILD_DIR/l1-qemu.log" 2>&1 &
	l1_qemu=$!
fi
# ccache (CMakeLists.txt, VMM_CCACHE), its cache beside the guest images' (outside the clone):
# paths under this checkout hash as relative ones and the build folder is not hashed, so a fresh
# clone elsewhere hits what an earlier build compiled. Where the folder cannot be made, ccache
# only runs the compiler.
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/vmm-ccache} CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
mkdir -p "$CCACHE_DIR" 2>/dev/null && [ -w "$CCACHE_DIR" ] || export CCACHE_DISABLE=true
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
if probe=$(tools/kvm-probe.sh); then
	echo "test: $probe"
	# The default Linux guest (cached outside the tree: seconds when nothing changed).
	guest-images/build.sh >/dev/null
	guest-images/stock.sh >/dev/null || echo "test: no Debian stock kernel: integration/linux_stock skips"
else
	echo "test: $probe"
	echo "test: without KVM the default Linux guest is not built and the tests that boot a" \
		"guest are skipped"
fi
# The default guest and the Debian image built for arm64 (integration/arm64_linux boots them in
# the arm64 L1, which needs no KVM here; cached like x86's, a cold build is ~20 minutes each).
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-system-aarch64 >/dev/null; then
	guest-images/build.sh --arch arm64 >/dev/null ||
		echo "test: the arm64 default guest did not build: integration/arm64_linux says why"
	# the arm64 Debian image (debootstrap through qemu-user-static; a cold build 18-26 minutes)
	guest-images/debian-image.sh --arch arm64 >/dev/null ||
		echo "test: the arm64 Debian image did not build: integration/arm64_linux says why"
fi

# The whole suite: the trees that tests build for themselves (ASan+UBSan, libFuzzer) are built
# here first, so that no test's time is a build's. With CTest arguments each test builds what
# it needs.
if [ $# -eq 0 ]; then
	for what in units vmm; do
		[ "$what" = vmm ] && [[ $probe != "kvm: usable"* ]] && continue
		BUILD_DIR=$BUILD_DIR SOURCE_DIR=$PWD tools/build-asan.sh "$what" ||
			echo "test: the sanitizer build of $what failed: its test will say why"
	done
	if command -v clang >/dev/null; then
		echo "== build the fuzz targets in $BUILD_DIR/fuzz"
		FUZZ_BUILD_DIR=$BUILD_DIR/fuzz tools/fuzz/fuzz build >"$BUILD_DIR/fuzz.build.log" 2>&1 ||
			echo "test: the fuzz build failed: integration/fuzz_smoke will say why"
	fi
fi

if [ -n "$l1_qemu" ]; then
	waited=$SECONDS
	wait "$l1_qemu" || echo "test: no backported QEMU for L1 ($(tail -1 "$BUILD_DIR/l1-qemu.log"));" \
		"L1 runs on the system's, where integration/firmware_ovmf ends as skipped"
	echo "test: L1's QEMU: $(tail -1 "$BUILD_DIR/l1-qemu.log") (waited $((SECONDS - waited)) s for it)"
fi
cd "$BUILD_DIR"
built=$SECONDS
rm -rf test-skips test-cpu
# The tests that boot the default Linux guest take slots of the counted resource "linux"
# ("# resource: linux:N"): one per guest, so as many run together as the host has CPUs (at least
# 2, the most any one test takes).
slots=$(nproc)
[ "$slots" -ge 2 ] || slots=2
printf '{"version": {"major": 1, "minor": 0}, "local": [{"linux": [{"id": "0", "slots": %d}]}]}\n' \
	"$slots" >resources.json
set +e
ctest --output-on-failure -j"$(nproc)" --resource-spec-file resources.json "$@" 2>&1 |
	tee ctest-output.log
status=${PIPESTATUS[0]}
# The summary only reports: its own failure (a closed output, a log CTest did not finish) never
# changes the suite's status, which is CTest's.
"$OLDPWD/tools/test_summary.sh" ctest-output.log test-skips test-times.txt test-cpu ||
	echo "test: the summary failed ($?)"
echo "total: $((SECONDS - started)) s: setup and builds $((built - started)) s, CTest" \
	"$((SECONDS - built)) s (every test's seconds: $BUILD_DIR/test-times.txt)"
set -e
exit "$status"
