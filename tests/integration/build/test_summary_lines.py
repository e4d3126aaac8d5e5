# tools/test_summary.sh, the closing lines of the README's test command, on a CTest output made
# here: the counts (a timeout and a crash are failures, a skip is no pass), the skip reasons, the
# ten slowest, the wall and summed time, and the table of every test's seconds (TABLE argument):
# slowest first, each test's result as CTest printed it.
# labels: lint harness
# timeout: 60
import subprocess

from framework import paths

CTEST = """\
  1/6 Test #12: integration/linux_fork ............   Passed  410.12 sec
  2/6 Test #13: integration/firmware_ovmf .........***Skipped   0.51 sec
  3/6 Test #14: unit/test_a .......................***Failed    3.20 sec
  4/6 Test #15: integration/linux_debian ..........***Timeout 1200.03 sec
  5/6 Test #16: unit/test_b .......................   Passed    0.02 sec
  6/6 Test #17: unit/test_c .......................***Exception: SegFault  0.61 sec
Total Test time (real) = 1500.10 sec
"""


def summary(tmp_path):
    (tmp_path / "ctest.log").write_text(CTEST)
    (tmp_path / "skips").mkdir()
    (tmp_path / "skips" / "integration-firmware_ovmf").write_text("L1 aborts: OVMF\n")
    run = subprocess.run(["bash", paths.SOURCE_DIR / "tools" / "test_summary.sh", tmp_path / "ctest.log",
                          tmp_path / "skips", tmp_path / "times.txt"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines(), (tmp_path / "times.txt").read_text().splitlines()


def test_counts_times_and_reasons(tmp_path):
    lines, _ = summary(tmp_path)
    assert "tests: 2 passed, 3 failed, 1 skipped" in lines, lines
    assert "skipped: 1 L1 aborts" in lines, lines
    assert "time: CTest 1500 s wall, 1614 s of test time" in lines, lines
    slowest = [x for x in lines if x.startswith("slowest: ")]
    assert slowest and slowest[0].startswith(
        "slowest: integration/linux_debian 1200 s, integration/linux_fork 410 s, unit/test_a 3 s"), lines


def test_table_of_every_test(tmp_path):
    _, table = summary(tmp_path)
    assert [x.split() for x in table] == [
        ["1200", "integration/linux_debian", "Timeout"],
        ["410", "integration/linux_fork", "Passed"],
        ["3", "unit/test_a", "Failed"],
        ["1", "unit/test_c", "Exception:-SegFault"],
        ["1", "integration/firmware_ovmf", "Skipped"],
        ["0", "unit/test_b", "Passed"],
    ], table


def test_a_log_without_tests(tmp_path):
    """CTest printed no test line (it failed before any ran): the summary still ends with the
    counts, and the table is empty."""
    (tmp_path / "ctest.log").write_text("CMake Error: something\n")
    run = subprocess.run(["bash", paths.SOURCE_DIR / "tools" / "test_summary.sh", tmp_path / "ctest.log",
                          tmp_path / "skips", tmp_path / "times.txt"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "tests: 0 passed, 0 failed, 0 skipped", run.stdout
    assert (tmp_path / "times.txt").read_text() == ""
