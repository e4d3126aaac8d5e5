"""A child process whose output goes to files, with waits that have deadlines and an end that
always comes (the test's cleanup stops it; tests/harness/test_guard.c ends whatever is left).

A wait polls what it waits for (a file, a socket, an exit) every few milliseconds and gives up
at its deadline: nothing sleeps a fixed time.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

POLL = 0.02


class WaitTimeout(AssertionError):
    """A wait reached its deadline (an assertion: the test fails, saying what it waited for)."""


def wait_until(predicate, timeout, what, alive=None):
    """Polls PREDICATE until it returns a true value (returned) or TIMEOUT seconds pass. ALIVE,
    when given, is checked too: once it is false the wait fails at once (the process ended)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if alive is not None and not alive():
            value = predicate()
            if value:
                return value
            raise WaitTimeout(f"{what}: the process ended first")
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what}: not within {timeout} s")
        time.sleep(POLL)


def read_text(path):
    """A file's text with carriage returns dropped (serial consoles send CRLF); "" if absent."""
    try:
        return Path(path).read_bytes().decode("utf-8", "replace").replace("\r", "")
    except FileNotFoundError:
        return ""


def open_fds(pid):
    """{fd: what it names} of PID's open descriptors (/proc/PID/fd). One closed between the
    listing and its readlink (a connection ending) is left out."""
    fds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return fds


class Process:
    """ARGV run in its own process group, stdout and stderr in WORKDIR/NAME.out and NAME.err.
    stdin: None (an empty stdin), "pipe" (write with send()), or a file object."""

    def __init__(self, argv, workdir, name, stdin=None, env=None, pass_fds=(), cwd=None):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.out_path = Path(workdir) / f"{name}.out"
        self.err_path = Path(workdir) / f"{name}.err"
        stdin_arg = subprocess.DEVNULL if stdin is None else subprocess.PIPE if stdin == "pipe" else stdin
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(self.argv, stdin=stdin_arg, stdout=out, stderr=err,
                                          env=env, pass_fds=pass_fds, cwd=cwd,
                                          start_new_session=True)
        self.pid = self.popen.pid

    # ---- output
    @property
    def out(self):
        return read_text(self.out_path)

    @property
    def err(self):
        return read_text(self.err_path)

    def alive(self):
        return self.popen.poll() is None

    def wait_out(self, regex, timeout=60, err=False):
        """Waits until stdout (stderr with ERR) has a line matching REGEX (re.M); returns the
        match. Fails at the deadline or when the process ends without it."""
        pattern = re.compile(regex, re.M)
        source = (lambda: self.err) if err else (lambda: self.out)
        return wait_until(lambda: pattern.search(source()), timeout,
                          f"{self.name}: /{regex}/ in its {'stderr' if err else 'output'}",
                          alive=self.alive)

    def send(self, text):
        """Writes TEXT to the process's stdin (stdin="pipe")."""
        self.popen.stdin.write(text.encode())
        self.popen.stdin.flush()

    # ---- end
    def wait(self, timeout=60):
        """Waits for the exit and returns the status (negative: the signal's number)."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise WaitTimeout(f"{self.name}: still running after {timeout} s") from None

    def signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, grace=10):
        """SIGTERM, then SIGKILL to its whole group after GRACE seconds; returns the status."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        return self.popen.wait()

    def tail(self, lines=40):
        """The last LINES of its output and stderr, for a failure's report."""
        out = "\n".join(self.out.splitlines()[-lines:])
        err = "\n".join(self.err.splitlines()[-lines // 2:])
        return f"---- {self.name} output (last {lines} lines)\n{out}\n---- {self.name} stderr\n{err}"
