# The shell snippets the default-guest tests type at the guest (framework/linux.py), run here in
# the host's busybox sh, the shell the guest runs:
#   - linux.until(COND, SECONDS) returns soon after COND holds (a file made 0.6 s in), and when
#     COND never holds it goes on after SECONDS, not at once (its pause is a `read -t 0.2` on a
#     FIFO, which a missing FIFO would turn into a busy loop) and not much later;
#   - linux.random_hex_command(PATH, KIB) writes KIB KiB of hex digits, different each run.
# labels: harness
# requires: busybox
# timeout: 60
import re
import subprocess
import time

from framework import linux


def sh(command, timeout=30):
    start = time.monotonic()
    run = subprocess.run(["busybox", "sh", "-c", command], capture_output=True, text=True,
                         timeout=timeout)
    return run, time.monotonic() - start


def test_until_returns_once_the_condition_holds(tmp_path):
    flag, fifo = tmp_path / "flag", tmp_path / "wait"
    run, took = sh(f"(sleep 0.6; : >{flag}) & " + linux.until(f"[ -e {flag} ]", 10, fifo) +
                   f"; [ -e {flag} ] && echo held")
    assert run.returncode == 0 and run.stdout.strip() == "held", (run.stdout, run.stderr)
    assert 0.5 < took < 3, f"until took {took:.1f} s for a condition that held after 0.6 s"


def test_until_goes_on_after_its_seconds(tmp_path):
    fifo = tmp_path / "wait"
    run, took = sh(linux.until("false", 1, fifo) + "; echo after")
    assert run.stdout.strip() == "after", (run.stdout, run.stderr)
    assert 0.9 < took < 4, f"until false, 1 s: took {took:.1f} s"
    assert fifo.is_fifo(), "no FIFO made"


def test_random_hex_command_writes_fresh_hex(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    run, _ = sh(linux.random_hex_command(first, 2) + "; sleep 1; " +
                linux.random_hex_command(second, 2))
    assert run.returncode == 0, run.stderr
    data = first.read_text()
    assert len(data) == 2048 and re.fullmatch(r"[0-9a-f]+", data), data[:80]
    assert second.read_text() != data, "two runs a second apart wrote the same digits"
