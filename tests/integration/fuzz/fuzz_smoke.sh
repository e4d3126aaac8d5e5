#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in $BUILD_DIR/fuzz and runs each one deterministically
# (tools/fuzz/fuzz smoke): its seed corpus and regression inputs, then a fixed number of inputs
# mutated from a fixed seed (FUZZ_SMOKE_SEED, default 1) into a fresh work corpus, without ASLR.
# The same commit always does the same work, so a failure here is a reproducible bug. The run
# counts (tools/fuzz/fuzz, smoke_runs) take ~2 s per target on an idle core, ~50 s for all;
# FUZZ_SMOKE_SCALE=percent scales them. Long random fuzzing: tools/fuzz/fuzz run or campaign.
# labels: fuzz
# requires: clang
# timeout: 900
set -u
SRC=${SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
SEED=${FUZZ_SMOKE_SEED:-1}

. "$SRC/tests/integration/lib/require.sh"
require clang
export FUZZ_BUILD_DIR=${BUILD_DIR:-$SRC/build}/fuzz
if ! "$SRC/tools/fuzz/fuzz" build >"$FUZZ_BUILD_DIR.build.log" 2>&1; then
	tail -30 "$FUZZ_BUILD_DIR.build.log"
	echo "FAIL: the fuzz targets do not build (log: $FUZZ_BUILD_DIR.build.log)"
	exit 1
fi
if "$SRC/tools/fuzz/fuzz" smoke all "$SEED"; then
	echo "ok: every fuzz target replayed its corpus and regressions and ran its seed-$SEED inputs"
	exit 0
fi
echo "FAIL: a fuzz target crashed (reproduce with tools/fuzz/fuzz repro TARGET FILE, or rerun"
echo "      tools/fuzz/fuzz smoke TARGET $SEED: the same commit does the same runs)"
exit 1
