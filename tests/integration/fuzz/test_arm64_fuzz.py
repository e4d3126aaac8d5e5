# The fuzz targets built for aarch64 (issue 67: they build and run on both architectures;
# FUZZ_ARCH=aarch64 tools/fuzz/fuzz, clang --target=aarch64-linux-gnu with Debian's
# libclang-rt-14-dev:arm64) and run under qemu-user, deterministically as integration/fuzz_smoke
# runs the host's: snapshot_arm64 (host/kvm/aarch64's restore of the vCPU registers, the GICv3
# and ITS, and the arm64 CPU model, over an in-memory KVM: tools/fuzz/aarch64) and pl011 (the
# arm64 console) and cpu_template_arm64 (arm64 CPU templates: the JSON, the bitmaps, the check
# against a host), each its seeds and regressions, then a fixed number of inputs mutated from a
# fixed seed. LeakSanitizer is off there (it cannot run under qemu-user). The other targets,
# arch-neutral code, run in integration/fuzz_smoke; `FUZZ_ARCH=aarch64 tools/fuzz/fuzz check
# all` replays all of them on arm64 (~2 min). Building these: ~3 min cold on 2 cores,
# seconds through ccache. Skipped (77) without clang,
# qemu-aarch64 or the arm64 runtimes.
# labels: fuzz arm64
# timeout: 900
# cost: 240
# requires: clang qemu-aarch64 aarch64-linux-gnu-gcc
import glob
import os

from framework import host, paths

SEED = os.environ.get("FUZZ_SMOKE_SEED", "1")
FUZZ = paths.tool("fuzz", "fuzz")
TARGETS = ("snapshot_arm64", "pl011", "cpu_template_arm64")


def test_arm64_fuzz_targets_build_and_replay(vms, workdir):
    if not glob.glob("/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-aarch64.a"):
        host.skip("no libFuzzer for aarch64", "libclang-rt-14-dev:arm64 (tools/setup.sh)")
    build_dir = paths.BUILD_DIR / "fuzz-arm64"
    env = {**os.environ, "FUZZ_ARCH": "aarch64", "FUZZ_BUILD_DIR": str(build_dir)}
    build = vms.process([FUZZ, "build", *TARGETS], name="fuzz-arm64-build", env=env)
    status = build.wait(800)
    tail = "\n".join((build.out + build.err).splitlines()[-30:])
    assert status == 0, f"the arm64 fuzz targets do not build:\n{tail}"
    for t in TARGETS:
        smoke = vms.process([FUZZ, "smoke", t, SEED], name=f"fuzz-arm64-{t}",
                            env={**env, "TMPDIR": str(workdir)})
        status = smoke.wait(800)
        assert status == 0, (
            f"fuzz_{t} failed on arm64 (reproduce: FUZZ_ARCH=aarch64 tools/fuzz/fuzz repro {t} "
            f"FILE; the same commit does the same runs)\n{smoke.tail()}")
