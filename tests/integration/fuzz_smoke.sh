#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in $BUILD_DIR/fuzz and runs each one briefly over its
# seed corpus and regression inputs (tools/fuzz/fuzz); any crash or broken invariant fails.
# Every target (12: split_ring packed_ring virtio_mmio virtio_blk virtio_console virtio_rng
# virtio_net virtio_pci pci_config loaders cli uart8250) runs FUZZ_SMOKE_SECONDS (default 15), so
# the fuzzing itself stays at ~3 minutes on top of the build.
# labels: fuzz
# timeout: 900
set -u
SRC=${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-15}

if ! command -v clang >/dev/null; then
	echo "FAIL: clang is missing (tools/setup.sh installs clang and libclang-rt-dev)"
	exit 1
fi
export FUZZ_BUILD_DIR=${BUILD_DIR:-$SRC/build}/fuzz
if ! "$SRC/tools/fuzz/fuzz" build >"$FUZZ_BUILD_DIR.build.log" 2>&1; then
	tail -30 "$FUZZ_BUILD_DIR.build.log"
	echo "FAIL: the fuzz targets do not build (log: $FUZZ_BUILD_DIR.build.log)"
	exit 1
fi
if "$SRC/tools/fuzz/fuzz" run all "$SECONDS_EACH"; then
	echo "ok: every fuzz target ran ${SECONDS_EACH}s without a crash"
	exit 0
fi
echo "FAIL: a fuzz target crashed (reproduce with tools/fuzz/fuzz repro TARGET FILE)"
exit 1
