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


def test_cpu_column_and_line(tmp_path):
    """With a CPU folder (test_guard's files, "USER SYSTEM" seconds): the table's fourth column
    is each test's CPU seconds ("-" without a file), and the cpu lines sum them and name the
    hungriest."""
    (tmp_path / "ctest.log").write_text(CTEST)
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    (cpu / "integration_linux_fork").write_text("10.50 380.20\n")
    (cpu / "integration_linux_debian").write_text("1.00 2.00\n")
    # the commands' times (framework/linux.py, record_command_time) beside them: not counted
    (cpu / "shell").mkdir()
    (cpu / "shell" / "integration_linux_fork").write_text("2.50\ttrue\n")
    run = subprocess.run(["bash", paths.SOURCE_DIR / "tools" / "test_summary.sh", tmp_path / "ctest.log",
                          tmp_path / "skips", tmp_path / "times.txt", cpu],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "cpu: 394 s in the tests' processes, 382 s of it system" in lines, lines
    assert "cpu, most: integration/linux_fork 391 s, integration/linux_debian 3 s" in lines, lines
    table = [x.split() for x in (tmp_path / "times.txt").read_text().splitlines()]
    assert table[0] == ["1200", "integration/linux_debian", "Timeout", "3"], table
    assert table[1] == ["410", "integration/linux_fork", "Passed", "391"], table
    assert table[2] == ["3", "unit/test_a", "Failed", "-"], table


def test_an_inner_ctest_run_is_not_counted(tmp_path):
    """A test whose output shows a CTest run of its own (unit_sanitizers' failure): only the
    outer run's lines (their "/N" that of its closing "out of N") count. (An inner run with as
    many tests as the outer would still count: the suite has 319, the unit tests 184.)"""
    inner = ("[ 99s] E     1/3 Test #1: unit/test_x ....   Passed    0.10 sec\n"
             "  3/3 Test #2: unit/test_y .......***Failed   30.00 sec\n"
             "66% tests passed, 1 tests failed out of 3\n")
    (tmp_path / "ctest.log").write_text(
        "  1/2 Test #7: integration/unit_sanitizers ...***Failed  100.00 sec\n" + inner +
        "  2/2 Test #8: integration/guest_hello ....   Passed    1.00 sec\n"
        "50% tests passed, 1 tests failed out of 2\nTotal Test time (real) = 101.00 sec\n")
    run = subprocess.run(["bash", paths.SOURCE_DIR / "tools" / "test_summary.sh", tmp_path / "ctest.log",
                          tmp_path / "skips", tmp_path / "times.txt"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "tests: 1 passed, 1 failed, 0 skipped" in run.stdout.splitlines(), run.stdout
    assert len((tmp_path / "times.txt").read_text().splitlines()) == 2


def test_why_each_failed_test_failed(tmp_path):
    """A line per failed test with the first assertion pytest printed, else its output's last
    line: CI shows the log's end, where the outputs themselves may be cut off."""
    (tmp_path / "ctest.log").write_text(
        "        Start 7: integration/linux_x\n"
        "  1/3 Test #7: integration/linux_x ...***Failed  10.00 sec\n"
        "[  9s] setup\n[  9s] E   AssertionError: VMM status 4\n[  9s] E     more\n"
        "        Start 8: integration/linux_y\n"
        "  2/3 Test #8: integration/linux_y ...   Passed   1.00 sec\n"
        "  3/3 Test #9: unit/test_z ...***Timeout  30.00 sec\n[----] started\nthe last words\n\n"
        "33% tests passed, 2 tests failed out of 3\nTotal Test time (real) = 41.00 sec\n")
    run = subprocess.run(["bash", paths.SOURCE_DIR / "tools" / "test_summary.sh", tmp_path / "ctest.log",
                          tmp_path / "skips"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    why = [x for x in run.stdout.splitlines() if x.startswith("why: ")]
    assert why == ["why: integration/linux_x: E   AssertionError: VMM status 4",
                   "why: unit/test_z: the last words"], run.stdout
