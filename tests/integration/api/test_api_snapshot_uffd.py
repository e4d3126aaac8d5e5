# PUT /snapshot/load with Firecracker's mem_backend {"backend_type": "Uffd", "backend_path":
# SOCKET} on a VMM with no VM yet, which needs no KVM: a backend_path that is missing, not a
# socket, too long or absent, and an unknown backend_type, are each a 400 with a fault_message
# that says so; a socket where the example handler (vmm-uffd-handler) listens is taken, so the
# load goes on to the state file, whose error is the 400; the VMM keeps answering, not started,
# and the handler was never contacted (the state file is read before the memory is handed over).
# A state file that opens gets its memory handed to the handler (which ends with 0 when the VMM
# drops the half-built VM), and a stale socket is a 400 "refused the connection". The load
# itself with a handler is tests/integration/snapshot/snapshot_uffd.sh (needs KVM).
# labels: api snapshot
# timeout: 120
import json
import os
import re
import signal
import struct
import zlib

from api_util import api_vmm, want
from framework import host, paths
from framework.proc import wait_until


def write_state(path):
    """A state file with a configuration section only, as vmm/snapshot/vm_snapshot.c writes it."""
    cfg = json.dumps({"version": 1, "mem_size": 64 << 20, "vcpus": 1,
                      "options": [["mem", "64M"]]}).encode()
    sec = struct.pack("<IIQ", 1, 0, len(cfg)) + cfg + b"\0" * (-len(cfg) % 8)
    head = b"VMMSNAP\0" + struct.pack("<IIQ", 1, 0, 24 + len(sec) + 8)
    path.write_bytes(head + sec + struct.pack("<II", zlib.crc32(head + sec), 0x444E4553))


def test_uffd_backend(vms, workdir):
    handler = paths.BUILD_DIR / "vmm-uffd-handler"
    if not os.access(handler, os.X_OK):
        host.skip("not built", f"{handler} (the vmm-uffd-handler target)")
    handler_sock = workdir / "uffd.sock"
    memory = workdir / "memory"
    none_state = workdir / "none" / "state"
    vm = api_vmm(vms)
    api = vm.api

    def load(backend_type, path):
        return {"snapshot_path": str(none_state),
                "mem_backend": {"backend_type": backend_type, "backend_path": str(path)}}

    def start_handler():
        run = vms.process([handler, "--timeout", 60, handler_sock, memory], name="uffd-handler")
        wait_until(handler_sock.exists, 10, "the handler's socket", alive=run.alive)
        return run

    want(api, 400, "PUT", "/snapshot/load", load("Uffd", handler_sock),
         re.escape(f"no page-fault handler socket at {handler_sock}"))
    with open(memory, "wb") as f:
        f.truncate(64 << 20)
    want(api, 400, "PUT", "/snapshot/load", load("Uffd", memory), "is not a Unix socket")
    want(api, 400, "PUT", "/snapshot/load", load("Uffd", workdir / ("a" * 120)), "at most 107 bytes")
    want(api, 400, "PUT", "/snapshot/load", load("Hugetlbfs", memory),
         "backend_type must be File or Uffd")
    want(api, 400, "PUT", "/snapshot/load",
         {"snapshot_path": str(none_state), "mem_backend": {"backend_type": "Uffd"}}, "backend_path")
    want(api, 400, "PUT", "/snapshot/load", {**load("Uffd", handler_sock), "mem_file_path": str(memory)},
         "either mem_file_path or mem_backend")

    run = start_handler()
    want(api, 400, "PUT", "/snapshot/load", load("Uffd", handler_sock), re.escape(str(none_state)))
    want(api, 200, "GET", "/", regex=r'"state":"Not started"')
    assert run.alive() and not run.err, f"the handler was contacted: {run.err}"

    # A state file that opens: the load goes on to the memory, which is handed to the handler
    # (the API thread's seccomp list and the watch thread's are used for real here), then to
    # KVM, whose absence (or, where KVM works, the state's missing KVM sections) is the 400; the
    # VM is torn down, the connection closed, and the handler ends with status 0.
    state = workdir / "state"
    write_state(state)
    state_load = {"snapshot_path": str(state),
                  "mem_backend": {"backend_type": "Uffd", "backend_path": str(handler_sock)}}
    want(api, 400, "PUT", "/snapshot/load", state_load, '"fault_message"')
    assert f"served by the page-fault handler at {handler_sock}" in vm.err, \
        f"no hand-off: {vm.err[-600:]}"
    status = run.wait(10)
    assert status == 0, f"the handler ended with {status}: {run.err}"
    print(f"the handler ended with 0: {run.err.strip().splitlines()[-1:]}")
    want(api, 200, "GET", "/", regex=r'"state":"Not started"')

    # A stale socket: its handler is gone.
    run = start_handler()
    run.signal(signal.SIGKILL)  # as a crashed handler: its socket stays
    run.wait(10)
    want(api, 400, "PUT", "/snapshot/load", state_load, "refused the connection")
    assert vm.alive(), f"the VMM is gone:\n{vm.tail()}"
