"""Shared parts of test_vmmctl.py (against a fake API server) and test_vmmctl_vmm.py (against
the real VMM): `Ctl` runs vmmctl on a socket and checks its status, output and (with the fake
server's log) the requests that reached the server."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from framework import paths


def vmmctl_path():
    if not os.access(paths.VMMCTL, os.X_OK):
        pytest.fail(f"no vmmctl at {paths.VMMCTL} (built with the tree)")
    return paths.VMMCTL


class Ctl:
    """vmmctl --sock SOCK; LOG is the fake server's request log (one JSON object a line)."""

    def __init__(self, sock, log=None):
        self.sock = str(sock)
        self.log = Path(log) if log else None
        self.label = ""
        self.status, self.out, self.err = None, "", ""

    def __call__(self, *args, env=None):
        """Runs vmmctl --sock SOCK ARGS with a fresh request log; sets status, out, err."""
        args = [str(a) for a in args]
        self.label = "vmmctl " + " ".join(args)
        if self.log:
            self.log.write_text("")
        run = subprocess.run([str(vmmctl_path()), "--sock", self.sock, *args],
                             capture_output=True, text=True, timeout=120, env=env)
        self.status, self.out, self.err = run.returncode, run.stdout, run.stderr
        return self

    def _what(self):
        return f"{self.label}: status {self.status}\nstdout: {self.out}\nstderr: {self.err}"

    def exit(self, status):
        assert self.status == status, f"want status {status}; {self._what()}"
        return self

    def has_out(self, regex):
        assert re.search(regex, self.out, re.M), f"stdout lacks /{regex}/; {self._what()}"
        return self

    def has_err(self, regex):
        assert re.search(regex, self.err, re.M), f"stderr lacks /{regex}/; {self._what()}"
        return self

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            pytest.fail(f"not JSON; {self._what()}")

    def requests(self, *wanted):
        """Exactly these requests ('METHOD PATH BODY', BODY as JSON or null) reached the
        server, in order."""
        got = [json.loads(line) for line in self.log.read_text().splitlines()]
        want = []
        for w in wanted:
            method, path, body = w.split(" ", 2)
            want.append((method, path, json.loads(body)))
        got_t = [(g["method"], g["path"], g["body"]) for g in got]
        assert got_t == want, f"{self.label}: requests {got_t}, want {want}"
        return self
