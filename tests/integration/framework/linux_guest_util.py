"""Helpers of the default-Linux-guest tests (linux_vmgenid, firmware_linux, linux_userspace*)
that the shared harness does not have yet (issue 64: candidates for framework/linux.py and a
framework/term.py).

  guest_value(shell, tag, cmd, regex)   one value printed by one guest program, tried 3 times
  Terminal                      a program in a real terminal (tmux): type, keys, screen
"""
import os
import re
import shlex
import subprocess
from pathlib import Path

from .proc import WaitTimeout, read_text, wait_until


def guest_value(shell, tag, command, regex=".+", tries=3):
    """The guest prints "TAG: " and COMMAND's output (one program in $(...), run again up to
    TRIES times while it prints nothing: on kvm_pvm a busybox program the guest's shell starts
    sometimes dies at its first thread-local access, docs/testing.md "Known issue"); returns
    the value, asserted to match REGEX."""
    _, output = shell.run(f"for i in $(seq {tries}); do v=$({command}) && [ -n \"$v\" ] && break;"
                          f" done; echo {tag}: $v")
    match = re.search(rf"^{re.escape(tag)}: (.*)$", output, re.M)
    value = match.group(1).strip() if match else ""
    assert re.fullmatch(regex, value), \
        f"{tag}: `{command}` gave {value!r}, want /{regex}/\n{output}"
    return value


class Terminal:
    """ARGV in a real terminal: a detached tmux session (200x50, TERM=xterm) on a server of its
    own (a socket in WORKDIR: a server shared by tests that ran at once belonged to whichever
    started it first, and went with that test). Everything the program prints is kept in
    WORKDIR/NAME.log (pipe-pane); its exit status in WORKDIR/NAME.status once it has ended."""

    def __init__(self, vms, argv, name="term"):
        workdir = Path(vms.workdir)
        self.sock = workdir / f"{name}.tmux"
        self.log = workdir / f"{name}.log"
        self.status_path = workdir / f"{name}.status"
        self.session = name
        script = workdir / f"{name}.cmd"
        status = shlex.quote(str(self.status_path))
        script.write_text(" ".join(shlex.quote(str(a)) for a in argv) +
                          f"\nstatus=$?\necho $status >{status}.tmp && mv {status}.tmp {status}\n")
        self.log.write_text("")
        # The server is a harness process (vms.process): the test's cleanup ends it and all it
        # runs; `tmux -D` keeps it in the foreground, so the session is started by a client.
        self.server = vms.process(["tmux", "-S", self.sock, "-D", "-f", "/dev/null"],
                                  name=f"{name}-tmux", env=_env())
        wait_until(lambda: self._tmux_ok("list-sessions", check=False) is not None, 10,
                   "tmux server", alive=self.server.alive)
        # The program starts once pipe-pane is set (tmux's wait-for channel): none of its output
        # is lost to the file.
        sock = shlex.quote(str(self.sock))
        self._tmux("new-session", "-d", "-s", self.session, "-x", "200", "-y", "50",
                   f"tmux -S {sock} wait-for {name}-go; bash {shlex.quote(str(script))}; sleep 600")
        self._tmux("pipe-pane", "-o", "-t", self.session, f"cat >>{shlex.quote(str(self.log))}")
        self._tmux("wait-for", "-S", f"{name}-go")

    def _tmux_ok(self, *args, check=True):
        run = subprocess.run(["tmux", "-S", str(self.sock), *args], capture_output=True,
                             text=True, env=_env())
        if run.returncode != 0:
            if check:
                raise AssertionError(f"tmux {' '.join(args)}: {run.stderr.strip()}")
            return None
        return run.stdout

    def _tmux(self, *args):
        return self._tmux_ok(*args)

    @property
    def out(self):
        return read_text(self.log)

    def ended(self):
        return self.status_path.exists()

    def wait_out(self, regex, timeout):
        """Waits until the output has a line matching REGEX (re.M); returns the match, or None
        when the program ended first or at the deadline (the caller asserts)."""
        pattern = re.compile(regex, re.M)
        try:
            return wait_until(lambda: pattern.search(self.out), timeout,
                              f"terminal: /{regex}/", alive=lambda: not self.ended())
        except WaitTimeout:
            return pattern.search(self.out)

    def screen(self):
        return self._tmux_ok("capture-pane", "-p", "-t", self.session, check=False) or ""

    def type(self, text):
        self._tmux("send-keys", "-t", self.session, "-l", text)
        self._tmux("send-keys", "-t", self.session, "Enter")

    def keys(self, *keys):
        self._tmux("send-keys", "-t", self.session, *keys)

    def wait_exit(self, timeout):
        """The program's exit status, or "timeout"."""
        try:
            wait_until(self.ended, timeout, "the terminal's program to end")
        except WaitTimeout:
            return "timeout"
        return int(self.status_path.read_text().strip())

    def stop(self):
        self._tmux_ok("kill-server", check=False)
        self.server.stop(grace=5)


def _env():
    return {**os.environ, "TERM": "xterm"}
