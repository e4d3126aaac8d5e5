# Paths named through the API of a VMM whose VM is not started (needs no KVM), opened by
# host_path_open() (docs/security.md, "Paths from outside"): a FIFO named as a snapshot's state
# or memory file is a 400 in under a second, the VMM keeps answering and SIGTERM ends it;
# /proc/self/mem is refused as a drive, as the log and as the metrics file; the log file is open
# write-only; a metrics FIFO without a reader is taken without blocking (as Firecracker does).
# labels: api
# timeout: 60
import os
import re
import signal
import time

import pytest

from framework.proc import WaitTimeout, open_fds


@pytest.fixture(scope="module")
def vmm(module_vms):
    return module_vms.start(["--console", "none"], api=True)


@pytest.fixture(scope="module")
def fifos(module_vms):
    state, mem = module_vms.workdir / "state.fifo", module_vms.workdir / "mem.fifo"
    os.mkfifo(state)
    os.mkfifo(mem)
    return state, mem


def want(vm, status, method, route, body=None, regex="", fast=True):
    """METHOD ROUTE answers STATUS with REGEX in its body, in under a second when FAST (the
    client gives up after 5 s: a hang fails this case, not the suite)."""
    start = time.monotonic()
    answer = vm.api.request(method, route, body, timeout=5)
    ms = (time.monotonic() - start) * 1000
    assert answer.status == status and re.search(regex, answer.body), \
        f"{method} {route} {str(body)[:120]} -> {answer!r} (want {status}, /{regex}/)"
    if fast:
        assert ms < 1000, f"{method} {route}: answered in {ms:.0f} ms (want < 1000)"


def test_fifo_snapshot_files(vmm, fifos):
    state, mem = fifos
    want(vmm, 400, "PUT", "/snapshot/load",
         {"snapshot_path": str(state), "mem_backend": {"backend_type": "File",
                                                       "backend_path": str(mem)}},
         r"state.fifo: not a regular file \(a FIFO\)")
    want(vmm, 200, "GET", "/", regex='"state":"Not started"', fast=False)


def test_refused_paths(vmm, fifos):
    state, mem = fifos
    want(vmm, 400, "PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/proc/self/mem",
                                         "is_root_device": False}, "disk /proc/self/mem: on /proc")
    want(vmm, 400, "PUT", "/boot-source", {"kernel_image_path": str(state)},
         r"kernel .*state.fifo: not a regular file \(a FIFO\)")
    want(vmm, 400, "PUT", "/logger", {"log_path": "/proc/self/mem", "level": "Info"},
         "log_path /proc/self/mem: on /proc")
    want(vmm, 400, "PUT", "/logger", {"log_path": f"{mem}/x"}, "log_path .*: Not a directory")
    want(vmm, 400, "PUT", "/metrics", {"metrics_path": "/proc/self/mem"},
         "metrics file /proc/self/mem: on /proc")
    want(vmm, 400, "PUT", "/metrics", {"metrics_path": "/dev/null"},
         r"not a regular file or a FIFO \(a character device\)")


def test_log_write_only(vmm, module_vms):
    """The log file is open write-only (the logger used to open it read-write)."""
    log = module_vms.workdir / "vmm.log"
    log.write_bytes(b"")
    want(vmm, 204, "PUT", "/logger", {"log_path": str(log), "level": "Info"})
    mode = None
    for fd, target in open_fds(vmm.pid).items():
        if target != str(log):
            continue
        try:
            info = open(f"/proc/{vmm.pid}/fdinfo/{fd}").read()
        except FileNotFoundError:
            continue
        mode = int(re.search(r"^flags:\s*([0-7]+)", info, re.M).group(1), 8) & 3
    assert mode == os.O_WRONLY, f"the log file's open mode is {mode} (want 1, O_WRONLY)"


def test_metrics_fifo_without_reader(vmm, fifos):
    """A metrics FIFO with no reader: taken at once, never waited on."""
    want(vmm, 204, "PUT", "/metrics", {"metrics_path": str(fifos[1])})
    want(vmm, 200, "GET", "/", regex='"state":"Not started"', fast=False)


def test_sigterm_ends_it(vmm):
    """SIGTERM ends it at once (no thread is stuck in an open())."""
    vmm.signal(signal.SIGTERM)
    try:
        vmm.wait(5)
    except WaitTimeout:
        pytest.fail("SIGTERM did not end the VMM within 5 s")
