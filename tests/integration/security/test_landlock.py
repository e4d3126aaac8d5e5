# Landlock (host/sandbox/landlock.c): once the VM is set up the VMM may open only what setup
# allowed, and the API thread nothing from its first request. A device thread and the API thread
# (before any request, and once the VM runs) that open /etc/shadow on purpose (the test trigger
# VMM_SANDBOX_TEST_VIOLATION=ROLE:open) get EACCES while the VMM runs on and the guest passes;
# the files requests name are opened by the broker (PUT /logger, /boot-source);
# with --landlock off the same open succeeds; -v -v lists what was allowed; a drive swap
# (PATCH /drives) outside the set is a 400 that says why; the files a request writes (a
# snapshot, the logger's file) are made by the opener (host/sandbox/opener.h) outside the set,
# as Firecracker's clients expect, within host_path_open()'s rules (no symbolic link planted at
# the temporary name, nothing of /proc); the opener thread keeps no capability and its filter.
# labels: sandbox landlock
# requires: kvm
# timeout: 300
import ctypes
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from framework import host
from framework.guests import expect_pass, guest_path
from framework.snapshot_util import env


@pytest.fixture(autouse=True)
def landlock():
    abi = ctypes.CDLL(None).syscall(444, None, 0, 1)
    if abi < 1:
        host.skip("kernel", f"this kernel has no Landlock (ABI {abi})")
    if not os.access("/etc/shadow", os.R_OK):
        host.skip("host", "/etc/shadow is not readable here: the open could not tell")


def violation(role):
    return env(VMM_SANDBOX_TEST="1", VMM_SANDBOX_TEST_VIOLATION=f"{role}:open")


def run_shadow(vms, *args):
    """A device thread (the rng's) under --seccomp off, where only Landlock can refuse its open
    (its seccomp list has no open at all); the guest still passes."""
    return vms.run(["--kernel", guest_path("virtio_rng"), "--debug-exit", "--console", "stdio",
                    "--rng", "--append", "transport=mmio ring=split", "--seccomp", "off", *args],
                   timeout=60, env=violation("io-virtio-rng"))


def test_device_thread(vms):
    run = run_shadow(vms)
    expect_pass(run)
    assert "the io-virtio-rng thread's open(/etc/shadow): Permission denied" in run.err, \
        f"device thread: {run.err}"


def test_landlock_off(vms):
    """The same open succeeds with --landlock off (the test can fail)."""
    run = run_shadow(vms, "--landlock", "off")
    expect_pass(run)
    assert "the io-virtio-rng thread's open(/etc/shadow): opened" in run.err, \
        f"--landlock off: {run.err}"


def test_api_thread_before_the_vm(vms, workdir):
    """The API thread (seccomp on: its list has openat) is under Landlock from its first entry,
    before any request and with no VM: it opens nothing itself; the broker opens the files that
    requests name (host/sandbox/broker.h)."""
    vm = vms.start([], api=True, env=violation("api"))
    vm.wait_out(r"api thread's open\(/etc/shadow\)", 10, err=True)
    assert "the api thread's open(/etc/shadow): Permission denied" in vm.err, \
        f"api thread before the VM: {vm.err}"
    # a file a request names is opened all the same, by the broker: a log in a folder no rule has
    (workdir / "vmm.log").write_bytes(b"")
    vm.api.want(204, "PUT", "/logger", {"log_path": str(workdir / "vmm.log"), "level": "Info"})
    vm.api.want(204, "PUT", "/boot-source", {"kernel_image_path": str(guest_path("halt"))})
    vm.signal(signal.SIGTERM)
    vm.wait(30)


@pytest.fixture
def outside():
    path = Path(f"/var/tmp/vmm-landlock-test.{os.getpid()}")
    path.mkdir()
    (path / "disk.img").write_bytes(bytes(1 << 20))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_api_configured_vm(vms, workdir, outside):
    """An API-configured VM; its API thread opens /etc/shadow once the VM exists."""
    disk, snaps = workdir / "disk.img", workdir / "snaps"
    disk.write_bytes(bytes(1 << 20))
    (workdir / "disk2.img").write_bytes(bytes(1 << 20))
    snaps.mkdir()
    vm = vms.start(["--debug-exit", "--console", "stdio", "--landlock-rules", f"{snaps}:rw",
                    "-v", "-v"], api=True, env=violation("api"))
    api = vm.api
    api.put("/boot-source", {"kernel_image_path": str(guest_path("halt")),
                             "boot_args": "halt.irq=1"})
    api.put("/drives/disk0", {"drive_id": "disk0", "path_on_host": str(disk),
                              "is_root_device": False, "is_read_only": False})
    api.patch("/machine-config", {"track_dirty_pages": True})
    api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})
    vm.wait_out(r"api thread's open\(/etc/shadow\): Permission denied", 10, err=True)
    assert vm.alive(), "the VMM died after the API thread's open"
    found = re.search(r"landlock: on \(ABI \d+\); the VMM may open only: .*", vm.err)
    assert found and f" {workdir}:rw " in found.group(0) and f" {snaps}:rwc " in found.group(0), \
        f"-v -v lists no such set: {found and found.group(0)}"

    api.want(204, "PATCH", "/drives/disk0", {"drive_id": "disk0",
                                             "path_on_host": str(workdir / "disk2.img")})
    answer = api.want(400, "PATCH", "/drives/disk0", {"drive_id": "disk0",
                                                      "path_on_host": str(outside / "disk.img")})
    assert "outside what this VMM may open" in answer.body, f"a swap outside: {answer!r}"
    api.patch("/vm", {"state": "Paused"})
    # A snapshot outside the set, no --landlock-rules: made by the opener.
    api.want(204, "PUT", "/snapshot/create", {"snapshot_path": str(outside / "state"),
                                              "mem_file_path": str(outside / "mem")})
    assert (outside / "state").stat().st_size > 0 and (outside / "mem").is_file() and \
        not (outside / "state.tmp").exists(), "the snapshot outside the set"
    api.want(204, "PUT", "/snapshot/create", {"snapshot_path": str(snaps / "state"),
                                              "mem_file_path": str(snaps / "mem")})
    assert (snaps / "state").stat().st_size > 0, "a snapshot into a --landlock-rules directory"
    api.want(204, "PUT", "/snapshot/create", {"snapshot_type": "Diff",
                                              "snapshot_path": str(outside / "state-diff"),
                                              "mem_file_path": str(outside / "mem")})
    assert (outside / "state-diff").stat().st_size > 0, "a Diff snapshot onto that memory file"
    (outside / "s2.tmp").symlink_to(outside / "victim")
    answer = api.want(400, "PUT", "/snapshot/create", {"snapshot_path": str(outside / "s2"),
                                                       "mem_file_path": str(outside / "mem2")})
    assert "symbolic link" in answer.body, f"a link at the temporary name -> {answer!r}"
    assert not (outside / "victim").exists(), "written through the link"
    api.want(400, "PUT", "/snapshot/create", {"snapshot_path": "/proc/self/attr/current",
                                              "mem_file_path": "/proc/self/mem"})
    api.want(204, "PUT", "/logger", {"log_path": str(outside / "after.log"), "level": "Info"})
    assert (outside / "after.log").is_file(), "PUT /logger once the VM runs, a new file outside"

    opener = None
    for task in Path(f"/proc/{vm.pid}/task").glob("*"):
        status = (task / "status").read_text()
        if re.search(r"^Name:.*opener", status, re.M):
            opener = status
            break
    assert opener, "no opener thread"
    fields = dict(line.split(":", 1) for line in opener.splitlines() if ":" in line)
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapPrm"], 16) == 0 and \
        fields["Seccomp"].strip() == "2", \
        f"the opener thread: {[fields[k] for k in ('CapEff', 'CapPrm', 'Seccomp')]}"
    assert vm.alive(), f"the VMM died: {vm.tail()}"
    vm.signal(signal.SIGTERM)
    vm.wait(30)
    assert not vm.sock.exists(), "the API socket stayed"


@pytest.mark.parametrize("option", [["--landlock", "maybe"], ["--landlock-rules", "/tmp"]],
                         ids=["landlock", "landlock-rules"])
def test_bad_option(vms, option):
    run = vms.run(["--kernel", guest_path("halt"), *option], timeout=30)
    assert run.status == 2, f"status {run.status}, want 2\n{run.tail()}"
