"""The control sockets: our HTTP API and QEMU's QMP behind one client whose requests are timed,
and a second QMP connection that only records QEMU's events."""

import json
import socket
import threading
import time


class QmpEvents:
    """A second QMP connection that only listens: the CLOCK_MONOTONIC ns of each event's
    timestamp (QEMU stamps them with the real-time clock when it emits them), in .seen[name]."""

    def __init__(self, path, timeout=10.0):
        self.seen = {}
        self.offset = time.time_ns() - time.monotonic_ns()
        self.c = ApiClient("qemu", path, timeout=timeout)
        self.c.s.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.c.f:
                msg = json.loads(line)
                if "event" in msg:
                    t = msg["timestamp"]
                    ns = t["seconds"] * 10**9 + t["microseconds"] * 1000 - self.offset
                    self.seen.setdefault(msg["event"], []).append(ns)
        except (OSError, ValueError):
            pass


class ApiClient:
    """One connection to a control socket; request() returns the round trip in ns."""

    def __init__(self, impl, path, poll=0.05, timeout=10.0):
        """Connects, retrying every `poll` s for up to `timeout` s (the socket may not exist
        yet)."""
        self.impl = impl
        deadline = time.monotonic() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise OSError(f"cannot connect to {path}")
                time.sleep(poll)
        self.s.settimeout(max(timeout, 30.0))
        self.f = self.s.makefile("rb")
        if impl != "vmm":
            if not self.f.readline():  # QMP greeting
                raise OSError(f"{path}: closed before the QMP greeting")
            self._qmp("qmp_capabilities")

    def close(self):
        self.f.close()
        self.s.close()

    def _qmp(self, cmd, args=None):
        msg = {"execute": cmd}
        if args is not None:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:  # events (STOP, RESUME) may come first
            line = self.f.readline()
            if not line:
                raise OSError("QMP connection closed")
            msg = json.loads(line)
            if "return" in msg or "error" in msg:
                return msg

    def _http(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n"
                       "Content-Type: application/json\r\n\r\n".encode() + data)
        status = self.f.readline()
        length = 0
        while True:
            line = self.f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = self.f.read(length)
        return status, body

    def timed(self, what):
        ops = {"status": ("GET", "/vmm/state", None, "query-status"),
               "pause": ("PATCH", "/vm", {"state": "Paused"}, "stop"),
               "resume": ("PATCH", "/vm", {"state": "Resumed"}, "cont")}
        method, path, body, qmp = ops[what]
        t0 = time.monotonic_ns()
        if self.impl == "vmm":
            self._http(method, path, body)
        else:
            self._qmp(qmp)
        return time.monotonic_ns() - t0
