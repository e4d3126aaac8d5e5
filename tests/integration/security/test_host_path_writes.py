# Files the VMM writes whole go only over a regular file or nothing (docs/security.md, "Paths
# from outside", rule 7), and stop signals end it with its cleanup done:
#  - PUT /snapshot/create naming a FIFO, a Unix socket (another VMM's API socket) or a
#    character device (mknod c 1 3 inside this test's own folder, as root; never /dev/null) as
#    snapshot_path or mem_file_path: 400 naming the path and its kind, the node unchanged, no
#    PATH.tmp and no memory file left (before: 204, and a regular file replaced the node);
#  - a create whose state file cannot be made (a missing folder) leaves no memory file (before:
#    the 64 MiB memory file stayed);
#  - --screenshot at a FIFO is refused at start (status 2);
#  - SIGTERM twice in quick succession removes the API socket (before: killed by the second, the
#    socket left in 5 of 6 runs);
#  - SIGTERM during a PUT /snapshot/load whose page-fault handler accepts and never serves ends
#    the VMM within 2 s (before: only when the 10 s stall watch fired).
# labels: security snapshot api
# requires: kvm
# timeout: 120
import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from framework import snapshot_util as snap
from framework.guests import guest_path
from framework.proc import wait_until


def kind_of(path):
    """What stat says it is, with a device's numbers."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    return f"{stat.S_IFMT(st.st_mode):o} {st.st_rdev:x} {st.st_ino}"


def listening(path, backlog=4):
    """A Unix socket listening at PATH (as another VMM's API socket would), in this process."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(backlog)
    return sock


@pytest.fixture(scope="module")
def paused(module_vms):
    """snap_counter, paused, for the refused creates; its folder WORK/w holds the nodes."""
    work = module_vms.workdir
    d = work / "w"
    d.mkdir()
    vm = snap.start_counter(module_vms, "--mem", "64M", "--append", "disk=0 steps=100000",
                            landlock=work)
    # Its vCPU runs first: a pause right after the API answers, before the VM runs, is a 400
    # ("cannot pause the microVM: Cannot send after transport endpoint shutdown").
    vm.wait_out(r"^SNAP-START ", 30)
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    os.mkfifo(d / "fifo")
    server = listening(d / "other.sock")
    yield vm, d
    server.close()


def nodes(d):
    found = [(d / "fifo", "a FIFO"), (d / "other.sock", "a socket")]
    if not (d / "null").exists():
        try:
            os.mknod(d / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except OSError as e:
            print(f"note: not root (or mknod refused: {e}): the character device case is skipped")
    if (d / "null").exists():
        found.append((d / "null", "a character device"))
    return found


@pytest.mark.parametrize("field", ["snapshot_path", "mem_file_path"])
def test_create_over_a_node(paused, field):
    vm, d = paused
    for node, kind in nodes(d):
        before = kind_of(node)
        body = ({"snapshot_path": str(node), "mem_file_path": str(d / "memory")}
                if field == "snapshot_path" else
                {"snapshot_path": str(d / "state"), "mem_file_path": str(node)})
        answer = vm.api.put("/snapshot/create", body)
        assert answer.status == 400 and \
            f"{field} {node}: {kind}, which a written file never replaces" in answer.body, \
            f"{field} = {kind} -> {answer!r} (want 400 naming the path and '{kind}')"
        assert kind_of(node) == before, f"{node} changed: {before} -> {kind_of(node)}"
        left = sorted(set(os.listdir(d)) - {"fifo", "other.sock", "null"})
        assert not left, f"left behind: {left}"
        for name in ("memory", "state"):
            (d / name).unlink(missing_ok=True)


def test_create_in_a_missing_folder(paused):
    """A create whose state file cannot be made: nothing written, no memory file left; a good
    one still works afterwards, over a regular file too."""
    vm, d = paused
    vm.api.want(400, "PUT", "/snapshot/create", {"snapshot_path": str(d / "nodir" / "state"),
                                                 "mem_file_path": str(d / "memory")})
    assert not (d / "memory").exists() and not (d / "memory.tmp").exists(), \
        f"the failed create left: {os.listdir(d)}"
    (d / "memory").write_text("old\n")
    vm.api.want(204, "PUT", "/snapshot/create", {"snapshot_path": str(d / "state"),
                                                 "mem_file_path": str(d / "memory")})
    assert (d / "memory").stat().st_size > 4096, "a good create wrote no memory"
    assert kind_of(d / "fifo") != "missing", "the FIFO went"
    keep = d.parent / "snap"
    keep.mkdir()
    for name in ("state", "memory"):
        (d / name).rename(keep / name)


def test_sigterm_twice(paused):
    """Two stop signals in quick succession: the second one must not skip the cleanup."""
    vm, d = paused
    vm.signal(signal.SIGTERM)
    vm.signal(signal.SIGTERM)
    status = vm.wait(30)
    assert not vm.sock.exists(), f"SIGTERM twice: status {status}, the API socket was left behind"


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGTERM,
                                    signal.SIGTERM], ids=["TERM", "INT", "HUP", "TERM2", "TERM3"])
def test_two_signals_remove_the_socket(vms, second):
    vm = vms.start(["--kernel", guest_path("halt"), "--console", "none", "--append",
                    "halt.irq=1"], api=True)
    vm.signal(signal.SIGTERM)
    vm.signal(second)
    status = vm.wait(10)
    assert not vm.sock.exists(), \
        f"SIGTERM then {second.name}: status {status}, socket left: {vm.err[-300:]}"


def test_screenshot_at_a_fifo(vms, workdir):
    """--screenshot at a FIFO: refused before the VM runs."""
    fifo = workdir / "fifo"
    os.mkfifo(fifo)
    run = vms.run(["--kernel", guest_path("hello"), "--debug-exit", "--console", "none", "--gpu",
                   "--screenshot", fifo], timeout=20)
    assert run.status == 2, f"status {run.status}, want 2\n{run.tail()}"
    assert f"--screenshot {fifo}: a FIFO, which a written file never replaces" in run.err, \
        f"no message naming the FIFO: {run.err[:300]}"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO went"


def waiting_for_a_page(pid):
    """A thread of PID waits in a userfaultfd page fault (its wchan)."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if "userfault" in (task / "wchan").read_text():
                return True
        except OSError:
            pass
    return False


def test_sigterm_during_a_stalled_load(vms, workdir, paused):
    """SIGTERM during a load whose page-fault handler accepts and never answers."""
    folder = paused[1].parent / "snap"
    assert (folder / "state").exists(), "no snapshot (test_create_in_a_missing_folder)"
    handler = listening(workdir / "uffd.sock", 1)
    held = []
    threading.Thread(target=lambda: held.append(handler.accept()), daemon=True).start()
    vm = vms.start(["--landlock-rules", f"{paused[1].parent}:rw",
                    "--landlock-rules", f"{workdir}:rw"], api=True)
    answers = []
    threading.Thread(target=lambda: answers.append(vm.api.put("/snapshot/load", {
        "snapshot_path": str(folder / "state"),
        "mem_backend": {"backend_type": "Uffd", "backend_path": str(workdir / "uffd.sock")}},
        timeout=30)), daemon=True).start()
    vm.wait_out("served by the page-fault handler", 10, err=True)
    wait_until(lambda: waiting_for_a_page(vm.pid), 10, "the restore waits for a page",
               alive=vm.alive)
    start = time.monotonic()
    vm.signal(signal.SIGTERM)
    status = vm.wait(10)
    ms = (time.monotonic() - start) * 1000
    assert ms < 2000, f"ended {ms:.0f} ms after SIGTERM (want < 2000), status {status}: " \
                      f"{vm.err[-300:]}"
    assert not vm.sock.exists(), "API socket left"
    print(f"the load's answer: {answers[:1]}")
    handler.close()
