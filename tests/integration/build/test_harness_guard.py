# Every test ends by itself within its timeout (run_test.sh runs it under test-guard,
# tests/harness/test_guard.c). Under tools/kvm-in-qemu two tests ran 10 minutes past theirs: CTest
# kills a test's process tree, and what had left it kept running. Here fixture tests are run as
# CTest runs them (run_test.sh, VMM_TEST_TIMEOUT, TEST_GUARD):
#   1. a bash one that never ends ("# timeout: 8"), whose processes ignore SIGTERM, keep the
#      output open and left its tree or process group (`setsid`, `timeout`, an orphan): it must
#      fail within its 8 s with "FAIL: harness:" naming them, its EXIT trap run, none left;
#   2. the same labelled slow (its output piped through run_test.sh's timestamps);
#   3. one that ends with status 3 but leaves two such processes: status 3 at once, both ended;
#   4. a pytest one (the harness's own kind) that never ends and leaves a process ignoring
#      SIGTERM: it fails within its 8 s the same way, nothing left.
# Before test-guard, 1 and 2 ran until this script's own limit and left every process behind.
# The bash fixtures stay bash: the shell's own ways of leaving a tree are what they test.
# labels: harness
# timeout: 90
import os
import re
import subprocess
import time

import pytest

from framework import host, paths

M = 8000000 + os.getpid() % 1000000  # in every fixture process's command line, to find them


def header(labels, timeout):
    # written so, lest CMake take them for this file's own
    return f"# {'labels'}: {labels}\n# {'timeout'}: {timeout}\n"


HANG = """M=$1
echo "fixture started"
trap 'echo "fixture: EXIT trap ran"' EXIT
bash -c "trap '' TERM; exec sleep $M.1" &
setsid sleep "$M.2" &
timeout 900 sleep "$M.3" &
(trap '' TERM; exec sleep "$M.4") &
( (sleep "$M.5" &) )
sleep "$M.6"
"""
LEAVE = """M=$1
bash -c "trap '' TERM; exec sleep $M.7" &
setsid sleep "$M.8" &
sleep 1 # both started
echo "fixture done"
exit 3
"""
PYTEST_HANG = """import os, subprocess, sys, time
M = os.environ["GUARD_MARK"]
def test_hangs():
    subprocess.Popen(["bash", "-c", f"trap '' TERM; exec sleep {M}.9"], start_new_session=True)
    time.sleep(900)
"""


def left_over(pattern):
    run = subprocess.run(["pgrep", "-f", f"sleep {M}\\.{pattern}"], capture_output=True, text=True)
    return run.stdout.split()


@pytest.fixture(scope="module", autouse=True)
def guard():
    if not os.environ.get("TEST_GUARD") or not os.access(os.environ["TEST_GUARD"], os.X_OK):
        host.skip("not built", "TEST_GUARD (the built tests/harness/test_guard.c) is unset: "
                  "run it with ctest")
    yield
    for pid in left_over("[0-9]"):
        try:
            os.kill(int(pid), 9)
        except ProcessLookupError:
            pass


def run_fixture(folder, name, text, timeout):
    """Runs fixture NAME as CTest would; returns (status, seconds, output). The outer timeout
    only bounds this test should the guard not work."""
    path = folder / name
    path.write_text(text)
    env = dict(os.environ, VMM_TEST_TIMEOUT=str(timeout), GUARD_MARK=str(M))
    env.pop("VMM_TEST_NAME", None)
    start = time.monotonic()
    run = subprocess.run(["timeout", "-k", "2", "30", "bash",
                          paths.SOURCE_DIR / "tests/harness/run_test.sh", path,
                          *([str(M)] if name.endswith(".sh") else [])],
                         capture_output=True, text=True, env=env, cwd=folder)
    output = run.stdout + run.stderr
    print(re.sub(r"(?m)^", "    | ", output))
    return run.returncode, time.monotonic() - start, output


@pytest.mark.parametrize("labels", ["fixture", "fixture slow"])
def test_a_test_that_never_ends_fails_in_time_and_leaves_nothing(tmp_path, labels):
    name = "hang_slow.sh" if "slow" in labels else "hang.sh"
    status, seconds, output = run_fixture(tmp_path, name, header(labels, 8) + HANG, 8)
    assert status == 1, f"status {status}, want 1"
    assert seconds <= 9.5, f"ended after {seconds:.1f} s, past its 8 s"
    assert re.search(r"^(\[ *\d+s\] )?FAIL: harness: the test did not end within", output, re.M)
    for i in range(1, 7):
        assert re.search(rf"sleep {M}\.{i}$", output, re.M), f"sleep {M}.{i} not named"
    assert "fixture: EXIT trap ran" in output
    assert not left_over("[1-6]"), f"still running: {left_over('[1-6]')}"


def test_a_test_that_leaves_processes_keeps_its_status_and_they_end(tmp_path):
    status, seconds, output = run_fixture(tmp_path, "leave.sh", header("fixture", 30) + LEAVE, 30)
    assert status == 3, f"status {status}, want 3"
    assert seconds <= 4.5, f"ended after {seconds:.1f} s"
    assert re.search(r"^harness: the test left these running; ended now:", output, re.M)
    assert re.search(rf"sleep {M}\.7$", output, re.M)
    assert not left_over("[78]"), f"still running: {left_over('[78]')}"


def test_a_pytest_test_that_never_ends_fails_in_time_and_leaves_nothing(tmp_path):
    status, seconds, output = run_fixture(tmp_path, "test_hang.py",
                                          header("fixture", 8) + PYTEST_HANG, 8)
    assert status == 1, f"status {status}, want 1"
    assert seconds <= 9.5, f"ended after {seconds:.1f} s, past its 8 s"
    assert re.search(r"^FAIL: harness: the test did not end within", output, re.M), output[-2000:]
    assert not left_over("9"), f"still running: {left_over('9')}"
