"""Running one VM and watching its output: run_vm() until it exits, LiveVM while this tool talks
to it; our VMM's --boot-timer report; reaping helper processes and reading their memory."""

import os
import re
import select
import signal
import subprocess
import tempfile
import threading
import time


class RunResult:
    def __init__(self):
        self.seen = {}        # pattern name -> ns from launch until it was read
        self.t0 = 0           # CLOCK_MONOTONIC ns just before fork
        self.wall_ns = 0      # launch to reaped
        self.cpu_ns = 0       # user + system time of the process
        self.maxrss_kib = 0
        self.status = None
        self.timed_out = False
        self.out = b""
        self.err = b""


def run_vm(cmd, watch=None, stop_at=None, timeout=60, react=None, stop_when=None):
    """Runs cmd with stdout read as it comes. watch: {name: bytes}; the first time each pattern
    appears is recorded. stop_at: a name in watch; once seen the VM gets SIGTERM (our VMM still
    prints its --boot-timer report then). react(output so far): called after every read (the
    net benchmark starts its host-side sender from it). stop_when(): asked at least once a second;
    once true the VM gets SIGTERM (a measurement that talks to the VM has ended)."""
    watch = watch or {}
    r = RunResult()
    with tempfile.TemporaryFile() as errf:
        r.t0 = time.monotonic_ns()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
        fd = p.stdout.fileno()
        buf = bytearray()
        deadline = r.t0 + int(timeout * 1e9)
        stopping = False
        while True:
            left = deadline - time.monotonic_ns()
            if left <= 0:
                if stopping or r.timed_out:
                    p.kill()
                    break
                r.timed_out = True
                p.send_signal(signal.SIGTERM)
                deadline = time.monotonic_ns() + int(10e9)
                continue
            if stop_when and not stopping and stop_when():
                stopping = True
                p.send_signal(signal.SIGTERM)
                deadline = time.monotonic_ns() + int(10e9)
            ready, _, _ = select.select([fd], [], [], min(left / 1e9, 0.2 if stop_when else 1.0))
            if not ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            now = time.monotonic_ns()
            old = len(buf)
            buf += data
            for name, pat in watch.items():
                if name not in r.seen and buf.find(pat, max(0, old - len(pat) + 1)) >= 0:
                    r.seen[name] = now - r.t0
            if react:
                react(buf)
            if stop_at in r.seen and not stopping:
                stopping = True
                p.send_signal(signal.SIGTERM)
                deadline = now + int(10e9)
        _, status, ru = os.wait4(p.pid, 0)
        r.wall_ns = time.monotonic_ns() - r.t0
        p.returncode = r.status = os.waitstatus_to_exitcode(status)
        p.stdout.close()
        r.cpu_ns = int((ru.ru_utime + ru.ru_stime) * 1e9)
        r.maxrss_kib = ru.ru_maxrss
        r.out = bytes(buf)
        errf.seek(0)
        r.err = errf.read()
    return r


def boot_timer_report(err):
    """Fields of our VMM's 'boot-timer: k=v ...' line, '-' as None; {} if absent."""
    m = re.search(rb"^boot-timer: (.*)$", err, re.M)
    if not m:
        return {}
    fields = {}
    for kv in m.group(1).decode().split():
        k, _, v = kv.partition("=")
        fields[k] = None if v == "-" else int(v)
    return fields


def has_boot_timer(vmm):
    if not os.access(vmm, os.X_OK):
        return False
    return b"--boot-timer" in subprocess.run([vmm, "--help"], capture_output=True).stdout


class LiveVM:
    """A VM left running while this tool talks to it: its stdout is read by a thread (the time
    each `watch` pattern first appears is kept in .seen, ns from launch), stderr goes to a file.
    stop() ends it (SIGTERM, then SIGKILL after `timeout` s); .out, .err and .status then hold
    what res.fail() shows."""

    def __init__(self, cmd, watch=None, stdin=False, beat=None):
        """stdin: a pipe to type() into (else /dev/null). beat: a byte whose every arrival
        time (CLOCK_MONOTONIC ns) is kept in .beats (a guest's heartbeat)."""
        self.watch = watch or {}
        self.seen = {}
        self.beat = beat
        self.beats = []
        self.buf = bytearray()
        self.eof = False
        self.status = None
        self.err = b""
        self.cond = threading.Condition()
        self.errf = tempfile.TemporaryFile()
        self.t0 = time.monotonic_ns()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=self.errf)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.p.stdout.fileno()
        while True:
            data = os.read(fd, 65536)
            now = time.monotonic_ns()
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                old = len(self.buf)
                self.buf += data
                if self.beat is not None and self.beat in data:
                    self.beats.append(now)
                for name, pat in self.watch.items():
                    if name not in self.seen and \
                            self.buf.find(pat, max(0, old - len(pat) + 1)) >= 0:
                        self.seen[name] = now - self.t0
                self.cond.notify_all()

    def type(self, line):
        """Writes a line to the VM's console input (stdin=True)."""
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def watch_for(self, name, pat):
        """Adds a pattern to watch from now on (earlier output is not searched)."""
        with self.cond:
            self.seen.pop(name, None)
            self.watch[name] = pat

    def wait_seen(self, name, timeout):
        """ns from launch to the pattern, or None (timeout, or the VM's output ended)."""
        with self.cond:
            self.cond.wait_for(lambda: name in self.seen or self.eof, timeout)
            return self.seen.get(name)

    def wait_match(self, regex, timeout):
        """The first match of REGEX (bytes) in the output once there, or None (timeout, or the
        VM's output ended without it): for a line whose end follows a watched pattern."""
        with self.cond:
            self.cond.wait_for(lambda: re.search(regex, self.buf) or self.eof, timeout)
            return re.search(regex, self.buf)

    def alive(self):
        return self.p.poll() is None

    def err_so_far(self):
        """What the VM wrote to stderr until now (it may still run)."""
        if self.status is not None:
            return self.err
        return os.pread(self.errf.fileno(), os.fstat(self.errf.fileno()).st_size, 0)

    @property
    def out(self):
        with self.cond:
            return bytes(self.buf)

    def stop(self, timeout=10):
        if self.status is not None:  # stopped already
            return self
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.reader.join(5)
        self.p.stdout.close()
        if self.p.stdin:
            try:
                self.p.stdin.close()
            except OSError:
                pass
        self.status = self.p.returncode
        self.errf.seek(0)
        self.err = self.errf.read()
        self.errf.close()
        return self


def smaps_rollup(pid):
    """kB fields of /proc/PID/smaps_rollup."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"^(\w+):\s+(\d+) kB", line)
            if m:
                fields[m.group(1)] = int(m.group(2))
    return fields


def reap(procs, timeout=30):
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
