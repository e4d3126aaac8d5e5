# Builds the libFuzzer targets with clang in $BUILD_DIR/fuzz and runs each one deterministically
# (tools/fuzz/fuzz smoke): its seed corpus and regression inputs, then a fixed number of inputs
# mutated from a fixed seed (FUZZ_SMOKE_SEED, default 1) into a fresh work corpus, without ASLR.
# The same commit always does the same work, so a failure here is a reproducible bug. The run
# counts (tools/fuzz/fuzz, smoke_runs) take ~2 s per target on an idle core, ~50 s for all;
# FUZZ_SMOKE_SCALE=percent scales them. Long random fuzzing: tools/fuzz/fuzz run or campaign.
# labels: fuzz
# requires: clang
# timeout: 900
import os

from framework import host, paths

SEED = os.environ.get("FUZZ_SMOKE_SEED", "1")
FUZZ = paths.tool("fuzz", "fuzz")


def test_fuzz_targets_build_and_replay(vms, workdir):
    host.require("clang")
    build_dir = paths.BUILD_DIR / "fuzz"
    env = {**os.environ, "FUZZ_BUILD_DIR": str(build_dir)}
    build = vms.process([FUZZ, "build"], name="fuzz-build", env=env)
    status = build.wait(800)
    log = build_dir.parent / "fuzz.build.log"
    log.write_text(build.out + build.err)
    tail = "\n".join((build.out + build.err).splitlines()[-30:])
    assert status == 0, f"the fuzz targets do not build (log: {log}):\n{tail}"
    # the targets' scratch files (fuzz_snapshot's) in this test's folder
    smoke = vms.process([FUZZ, "smoke", "all", SEED], name="fuzz-smoke",
                        env={**env, "TMPDIR": str(workdir)})
    status = smoke.wait(800)
    assert status == 0, (
        "a fuzz target crashed (reproduce with tools/fuzz/fuzz repro TARGET FILE, or rerun "
        f"tools/fuzz/fuzz smoke TARGET {SEED}: the same commit does the same runs)\n{smoke.tail()}")
