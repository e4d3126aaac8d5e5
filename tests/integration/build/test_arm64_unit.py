# The arch-neutral unit tests built for aarch64 and run under qemu-user (issue 67,
# docs/aarch64.md): $BUILD_DIR/arm64 is configured with cmake/toolchain-aarch64.cmake (the cross
# compiler, the multiarch arm64 libraries and the arm64 sysroot of tools/setup.sh), its unit
# tests are built there (through ccache, as tools/test.sh's builds: a warm run compiles nothing)
# and CTest runs each there under qemu-aarch64. A build error or a failing test fails; the
# tests that cannot run under qemu-user yet are listed, with why, in tests/CMakeLists.txt
# (CTest's "Not Run (Disabled)"). Skipped (77) only when the cross toolchain is not installed.
# labels: arm64
# timeout: 900
# requires: aarch64-linux-gnu-gcc qemu-aarch64
import os
import re
import subprocess
from pathlib import Path

from framework import host, paths

TOOLCHAIN = paths.SOURCE_DIR / "cmake" / "toolchain-aarch64.cmake"
SYSROOT = Path("/opt/vmm-aarch64")  # cmake/toolchain-aarch64.cmake's VMM_CROSS_SYSROOT
JOBS = os.environ.get("ARM64_JOBS", "2")


def run(cmd, env, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def test_arm64_unit_tests_pass_under_qemu_user():
    if not (SYSROOT / "usr/lib/aarch64-linux-gnu/pkgconfig/criterion.pc").exists():
        host.skip("missing tool", f"the arm64 sysroot {SYSROOT} (Criterion) is not there "
                  "(tools/setup.sh)")
    build = paths.BUILD_DIR / "arm64"
    env = dict(os.environ, CCACHE_DIR=os.environ.get("CCACHE_DIR", "/var/cache/vmm-ccache"),
               CCACHE_BASEDIR=str(paths.SOURCE_DIR), CCACHE_NOHASHDIR="true")
    rc, out = run(["cmake", "-S", str(paths.SOURCE_DIR), "-B", str(build), "-G", "Ninja",
                   "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}"],
                  env)
    assert rc == 0, "configuring the aarch64 build failed:\n" + out[-6000:]
    rc, out = run(["cmake", "--build", str(build), "-j", JOBS], env)
    assert rc == 0, "building for aarch64 failed:\n" + out[-8000:]
    rc, out = run(["ctest", "-L", "unit", "-j", JOBS, "--output-on-failure"], env, cwd=build)
    ran = re.search(r"tests passed, (\d+) tests failed out of (\d+)", out)
    assert ran and int(ran.group(2)) > 0, "no arm64 unit test ran:\n" + out[-4000:]
    assert rc == 0, (f"an arm64 unit test failed under qemu-user (rerun: cd {build} && ctest "
                     f"-R NAME --output-on-failure):\n{out[-8000:]}")
