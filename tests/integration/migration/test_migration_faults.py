# Live migration's destination against bad sources, without KVM (docs/migration.md): the VMM
# never builds a VM here, so every case ends before KVM is needed.
#   1. `vmm --migrate-from` refuses what conflicts (--kernel, --restore, a device option, a bad
#      address) with a usage error (2);
#   2. `vmm --migrate-from unix:M` against a source that sends garbage, one that connects and
#      closes, one that sends a whole stream (a fuzz seed written by the real sender) whose
#      state has no VM configuration, and a SIGTERM while it waits: each ends within seconds
#      with a clear message and status 1 (143 for the signal), the socket file gone;
#   3. `vmm --api-sock` (seccomp on, the default: the API thread's real filter):
#      send-migration, GET /vmm/migration and cancel without a VM are refused with a message;
#      receive-migration over Unix and TCP against the same bad sources answers 400 with the
#      reason each time and the VMM keeps serving (not killed by its filter); a source that
#      sends the whole stream gets a RESULT frame with the reason;
#   4. `vmm --migrate-from unix:M --api-sock S`: the API refuses to build a VM of its own.
# labels: api migration
# timeout: 120
import os
import re
import signal
import socket
import threading

import pytest

from framework import paths
from framework import snapshot_util as snap
from framework.proc import wait_until

SEED = paths.SOURCE_DIR / "tools" / "fuzz" / "corpus" / "migration" / "seed-two-regions-rounds"


def whole():
    return SEED.read_bytes()[1:]  # the fuzz input's first byte is its mode, not the stream


def bad_source(kind, addr):
    """Connects to ADDR (unix:PATH or tcp:HOST:PORT) as a bad source: garbage, close (nothing
    sent) or whole (a whole stream); returns what the destination answered."""
    def connect():
        try:
            if addr.startswith("unix:"):
                s = socket.socket(socket.AF_UNIX)
                s.connect(addr[5:])
            else:
                host, port = addr[4:].rsplit(":", 1)
                s = socket.create_connection((host, int(port)))
            return s
        except OSError:
            return None
    s = wait_until(connect, 10, f"a connection to {addr}")
    s.settimeout(20)
    try:
        if kind == "garbage":
            s.sendall(b"garbage!" * 64)
        elif kind == "whole":
            s.sendall(whole())
        else:
            return ""  # close: nothing sent, no answer awaited
        try:
            return s.recv(4096)[12:].decode(errors="replace")  # a RESULT frame: 12-byte header
        except OSError as e:
            return f"no answer: {e}"
    finally:
        s.close()


@pytest.mark.parametrize("args", ["--kernel /x", "--restore /x", "--config-file /x", "--disk /x",
                                  "--mem-shared"],
                         ids=lambda a: a.split()[0].lstrip("-"))  # a "/" in an id breaks workdir
def test_conflicting_options(vms, workdir, args):
    run = vms.run(["--migrate-from", f"unix:{workdir}/mig.sock", *args.split()], timeout=10)
    assert run.status == 2, run.tail()
    assert "the source brings the whole VM" in run.err, f"stderr: {run.err}"


def test_unknown_address(vms):
    run = vms.run(["--migrate-from", "ftp:x"], timeout=10)
    assert run.status == 2, run.tail()
    assert "unknown migration address" in run.err, f"stderr: {run.err}"


@pytest.mark.parametrize("kind,regex", [
    ("garbage", r"failed: frame 0 .*claims [0-9]+ bytes, at most"),
    ("close", r"failed: connection closed after 0 frames"),
    ("whole", r"failed: snapshot has no readable configuration"),
])
def test_destination(vms, workdir, kind, regex):
    mig = workdir / "mig.sock"
    vm = vms.start(["--migrate-from", f"unix:{mig}"], name="destination")
    answer = bad_source(kind, f"unix:{mig}")
    status = vm.wait(30)
    assert status == 1, vm.tail()
    assert re.search(regex, vm.err), f"stderr: {vm.err}"
    assert not mig.exists(), f"{mig} left behind"
    if kind == "whole":
        assert "no readable configuration" in answer, f"the source got: {answer}"


def test_sigterm_while_waiting(vms, workdir):
    mig = workdir / "mig.sock"
    vm = vms.start(["--migrate-from", f"unix:{mig}"], name="destination")
    wait_until(mig.is_socket, 10, "the migration socket", alive=vm.alive)
    vm.signal(signal.SIGTERM)
    status = vm.wait(30)
    assert status == 143 or status == -signal.SIGTERM, f"status {status}"
    assert not mig.exists(), f"{mig} left behind"


def want(api, status, method, route, body=None, regex=None):
    got = api.request(method, route, body, timeout=30)
    assert got.status == status, f"{method} {route} -> {got!r} (want {status})"
    if regex:
        assert re.search(regex, got.body), f"{method} {route} -> {got!r} (lacks /{regex}/)"
    return got


def test_api_destination(vms, workdir):
    """The API's destination, under the API thread's seccomp filter."""
    mig = workdir / "mig.sock"
    vm = vms.start([], name="api", api=True)
    api = vm.api
    want(api, 400, "PUT", "/vmm/send-migration", {"destination_url": f"unix:{mig}"}, "not started|before")
    want(api, 400, "GET", "/vmm/migration", None, "no migration was started")
    want(api, 400, "PUT", "/vmm/migration/cancel", {}, "no migration is running")
    want(api, 400, "PUT", "/vmm/receive-migration", {"receiver_url": "ftp:x"}, "receiver_url: unknown")
    if os.access(paths.VMMCTL, os.X_OK):
        out = snap.vmmctl("-s", vm.sock, "migration", timeout=30)
        assert out.returncode != 0 and "no migration was started" in out.stdout + out.stderr, \
            f"vmmctl migration: {out.returncode}, {out.stdout}{out.stderr}"
        out = snap.vmmctl("-s", vm.sock, "migrate", f"unix:{mig}", "--local", timeout=30)
        assert out.returncode != 0 and "before starting" in out.stdout + out.stderr, \
            f"vmmctl migrate: {out.returncode}, {out.stdout}{out.stderr}"

    def receive(kind, addr, regex):
        """PUT /vmm/receive-migration on ADDR, a bad source of KIND: a 400 whose message matches
        REGEX, and the VMM still serving."""
        if mig.exists():
            mig.unlink()
        answer = {}
        put = threading.Thread(target=lambda: answer.update(
            got=api.put("/vmm/receive-migration", {"receiver_url": addr}, timeout=30)))
        put.start()
        bad_source(kind, addr)
        put.join(40)
        got = answer.get("got")
        assert got is not None and got.status == 400 and re.search(regex, got.body), \
            f"receive-migration on {addr}, a source that sends {kind} -> {got!r} (want 400 /{regex}/)"
        want(api, 200, "GET", "/", None, '"state":"Not started"')

    receive("garbage", f"unix:{mig}", r"claims [0-9]+ bytes")
    receive("close", f"unix:{mig}", r"connection closed")
    receive("whole", f"unix:{mig}", r"no readable configuration")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    receive("garbage", f"tcp:127.0.0.1:{port}", r"claims [0-9]+ bytes")
    receive("whole", f"tcp:127.0.0.1:{port}", r"no readable configuration")
    assert vm.alive(), "the VMM died"
    vm.signal(signal.SIGTERM)
    status = vm.wait(30)
    assert status in (143, -signal.SIGTERM), f"status {status} on SIGTERM"
    assert not re.search(r"SIGSYS|Bad system call", vm.err), f"a seccomp kill: {vm.err}"


def test_migrate_from_with_api(vms, workdir):
    """--migrate-from with --api-sock: the API does not build a VM meanwhile."""
    mig = workdir / "mig.sock"
    vm = vms.start(["--migrate-from", f"unix:{mig}"], name="destination", api=True)
    want(vm.api, 400, "PUT", "/vmm/receive-migration", {"receiver_url": f"unix:{workdir}/other.sock"},
         "waits for a migrating VM")
    bad_source("garbage", f"unix:{mig}")
    status = vm.wait(30)
    assert status == 1, f"status {status}"
