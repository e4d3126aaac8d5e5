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
import re

from framework import arm64_build


def test_arm64_unit_tests_pass_under_qemu_user():
    build = arm64_build.build(unit_tests=True)  # the test binaries alone: no vmm, no tools
    rc, out = arm64_build.run(["ctest", "-L", "unit", "-j", arm64_build.JOBS,
                               "--output-on-failure"], cwd=build)
    ran = re.search(r"tests passed, (\d+) tests failed out of (\d+)", out)
    assert ran and int(ran.group(2)) > 0, "no arm64 unit test ran:\n" + out[-4000:]
    assert rc == 0, (f"an arm64 unit test failed under qemu-user (rerun: cd {build} && ctest "
                     f"-R NAME --output-on-failure):\n{out[-8000:]}")
