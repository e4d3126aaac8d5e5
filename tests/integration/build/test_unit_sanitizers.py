# Every unit test again under AddressSanitizer + UndefinedBehaviorSanitizer: tools/build-asan.sh
# units builds the unit test binaries in $BUILD_DIR/asan (-DVMM_SANITIZE=ON; tools/test.sh has
# built them before CTest, so this is seconds), then `ctest -L unit` runs there. Any failing test,
# sanitizer report or build error fails.
# labels: sanitize
# resource: asan-build
# timeout: 1200
import os
import subprocess

from framework import paths


def test_every_unit_test_passes_under_asan_and_ubsan():
    env = dict(os.environ, SOURCE_DIR=str(paths.SOURCE_DIR), BUILD_DIR=str(paths.BUILD_DIR))
    build = subprocess.run([paths.tool("build-asan.sh"), "units"], env=env,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-2000:]
    asan = paths.BUILD_DIR / "asan"
    # Stop at the first report, with a stack; leaks count as failures too. Leaks inside the test
    # framework itself (tests/lsan.supp says which) are not ours.
    env.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1:strict_string_checks=1")
    env.setdefault("LSAN_OPTIONS",
                   f"suppressions={paths.SOURCE_DIR}/tests/lsan.supp:print_suppressions=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    jobs = os.environ.get("SANITIZE_JOBS", "2")
    run = subprocess.run(["ctest", "-L", "unit", "-j", jobs, "--output-on-failure"], cwd=asan,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, (f"a unit test failed under ASan/UBSan (rerun: cd {asan} && "
                                 f"ctest -L unit -R NAME -V):\n{run.stdout[-8000:]}")
