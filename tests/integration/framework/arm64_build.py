"""The aarch64 build ($BUILD_DIR/arm64, cmake/toolchain-aarch64.cmake) that the arm64 tests need:
configured and built through ccache (a warm run compiles nothing), one build at a time (a file
lock beside it: integration/arm64_unit and the arm64 L1 tests may run together)."""
import fcntl
import os
import re
import subprocess
from pathlib import Path

from framework import host, paths

TOOLCHAIN = paths.SOURCE_DIR / "cmake" / "toolchain-aarch64.cmake"
SYSROOT = Path("/opt/vmm-aarch64")  # cmake/toolchain-aarch64.cmake's VMM_CROSS_SYSROOT
JOBS = os.environ.get("ARM64_JOBS", "2")
DIR = paths.BUILD_DIR / "arm64"


def env():
    """The environment of the build and of CTest there: tools/test.sh's ccache settings."""
    return dict(os.environ, CCACHE_DIR=os.environ.get("CCACHE_DIR", "/var/cache/vmm-ccache"),
                CCACHE_BASEDIR=str(paths.SOURCE_DIR), CCACHE_NOHASHDIR="true")


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def build(*targets, unit_tests=False):
    """Configures and builds TARGETS in DIR (with unit_tests, every unit test's binary too; with
    neither, everything); skips (77) without the arm64 sysroot, fails the test on a configure or
    build error. Returns DIR."""
    if not (SYSROOT / "usr/lib/aarch64-linux-gnu/pkgconfig/criterion.pc").exists():
        host.skip("missing tool", f"the arm64 sysroot {SYSROOT} (Criterion) is not there "
                  "(tools/setup.sh)")
    DIR.mkdir(parents=True, exist_ok=True)
    with open(paths.BUILD_DIR / "arm64.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rc, out = run(["cmake", "-S", str(paths.SOURCE_DIR), "-B", str(DIR), "-G", "Ninja",
                       "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}"])
        assert rc == 0, "configuring the aarch64 build failed:\n" + out[-6000:]
        if unit_tests:  # their names are their targets' (tests/CMakeLists.txt: unit/<target>)
            rc, out = run(["ctest", "-N", "-L", "unit"], cwd=DIR)
            targets += tuple(re.findall(r"Test +#\d+: unit/(\S+)", out))
        rc, out = run(["cmake", "--build", str(DIR), "-j", JOBS]
                      + (["--target", *targets] if targets else []))
        assert rc == 0, "building for aarch64 failed:\n" + out[-8000:]
    return DIR
