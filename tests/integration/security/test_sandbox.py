# The sandbox is real: every thread of a running VMM has a seccomp filter, no_new_privs and no
# capabilities; a forbidden system call made on purpose by a device thread, a vCPU thread or the
# API thread (the test trigger VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=ROLE) kills the
# VMM by SIGSYS; with --seccomp log (SCMP_ACT_LOG) the call is made, the kernel logs it and the
# VMM runs on; --seccomp off installs no filter but still drops the capabilities.
# labels: sandbox
# requires: kvm
# timeout: 300
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from framework.guests import expect_pass, guest_path
from framework.proc import WaitTimeout, wait_until
from framework.snapshot_util import env

NONE = "0000000000000000"


def statuses(pid):
    """{thread name: its /proc status fields} of PID's threads (the main thread is "vmm")."""
    found = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            text = (task / "status").read_text()
        except OSError:
            continue
        fields = {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines()
                                            if ":" in line)}
        found[fields["Name"]] = fields
    return found


def unconfined(pid, seccomp):
    """Why PID's threads are not all confined (Seccomp SECCOMP, NoNewPrivs 1, no effective or
    permitted capability, an empty bounding set; at least 4 threads), or "" when they are."""
    threads = statuses(pid)
    why = [f"thread {name}: Seccomp {t['Seccomp']} NoNewPrivs {t['NoNewPrivs']} CapEff "
           f"{t['CapEff']} CapPrm {t['CapPrm']} CapBnd {t['CapBnd']}"
           for name, t in threads.items()
           if (t["Seccomp"], t["NoNewPrivs"], t["CapEff"], t["CapPrm"], t["CapBnd"]) !=
           (str(seccomp), "1", NONE, NONE, NONE)]
    if len(threads) < 4:
        why.append(f"{len(threads)} threads, want at least 4")
    return "\n".join(why)


def expect_confined(vm, seccomp=2, timeout=10):
    """Waits (the threads name and confine themselves as they start) until every thread is
    confined; fails with what is not."""
    try:
        wait_until(lambda: not unconfined(vm.pid, seccomp), timeout, "every thread confined",
                   alive=vm.alive)
    except WaitTimeout:
        pytest.fail(f"a thread is not confined:\n{unconfined(vm.pid, seccomp)}")


def start(vms, *args, **kw):
    """A long-running VMM (the halt guest waits with interrupts on) with an API socket."""
    return vms.start(["--kernel", guest_path("halt"), "--debug-exit", "--console", "stdio",
                      "--rng", "--append", "halt.irq=1", *args], api=True, **kw)


def stop(vm):
    vm.signal(signal.SIGTERM)
    vm.wait(30)


def test_default(vms):
    vm = start(vms)
    expect_confined(vm)
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})  # the confined API still pauses it
    stop(vm)


def test_api_only(vms):
    """The API thread is confined before its first request, with no VM yet (Landlock too:
    test_landlock.py); the broker, which will build the VM, and the main thread keep only what
    they need until the VM exists."""
    vm = vms.start([], api=True)

    def field(thread, name):
        return statuses(vm.pid).get(thread, {}).get(name, f"no-thread-{thread}")
    # The socket is bound before the thread that serves it has named and confined itself.
    try:
        wait_until(lambda: field("api", "Seccomp") == "2" and field("vmm", "NoNewPrivs") == "1",
                   5, "the API thread confined", alive=vm.alive)
    except WaitTimeout:
        pass
    assert (field("api", "Seccomp"), field("api", "NoNewPrivs"), field("api", "CapEff")) == \
        ("2", "1", NONE), f"API thread: {statuses(vm.pid).get('api')}"
    # The broker (which will build the VM for the API) has its filter and keeps only
    # CAP_NET_ADMIN (12, a tap), CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2): 0x1006; the
    # main thread, which only waits, none at all; no thread has a bounding set.
    assert (field("broker", "Seccomp"), field("broker", "CapEff")) == ("2", "0000000000001006"), \
        f"broker: {statuses(vm.pid).get('broker')}"
    assert (field("vmm", "CapEff"), field("vmm", "CapPrm"), field("vmm", "NoNewPrivs")) == \
        (NONE, NONE, "1"), f"main: {statuses(vm.pid).get('vmm')}"
    bounding = {t["CapBnd"] for t in statuses(vm.pid).values()}
    assert bounding == {NONE}, f"CapBnd: {bounding}"
    vm.api.want(200, "GET", "/")
    stop(vm)


def test_api_built_vm_with_a_tap(vms, netns):
    """A VM the API builds (the broker builds it) with a tap the broker opens (CAP_NET_ADMIN,
    kept until the VM exists; the tap must exist at PUT, as in Firecracker), in a network
    namespace of its own; once the VM runs every thread is confined as with a command-line VM."""
    ns = netns(tap="vmmtap0")
    vm = vms.start(["--debug-exit", "--console", "stdio"], api=True, wrap=ns.wrap)
    vm.api.want(204, "PUT", "/boot-source", {"kernel_image_path": str(guest_path("halt")),
                                             "boot_args": "halt.irq=1"})
    vm.api.want(204, "PUT", "/network-interfaces/eth0", {"iface_id": "eth0",
                                                         "host_dev_name": "vmmtap0"})
    vm.api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})
    # The wrap (ip netns exec) execs the VMM: its pid is the VMM's.
    expect_confined(vm)
    stop(vm)


def test_seccomp_off(vms):
    """No filter, capabilities dropped all the same."""
    vm = start(vms, "--seccomp", "off")
    expect_confined(vm, seccomp=0)
    stop(vm)


def ids(pid, field):
    return {"".join(t[field].split()) for t in statuses(pid).values()}


def test_user(vms):
    vm = start(vms, "--user", "65534:65534")
    expect_confined(vm)
    assert ids(vm.pid, "Uid") == {"65534" * 4} and ids(vm.pid, "Gid") == {"65534" * 4}, \
        f"uids {ids(vm.pid, 'Uid')} gids {ids(vm.pid, 'Gid')}"
    vm.api.want(200, "GET", "/")
    stop(vm)


def test_user_api_built_vm(vms):
    """The same switch when the API builds the VM: the broker and the API thread, confined
    before it, take part in it (CAP_SETUID/CAP_SETGID kept until then), then lose every
    capability."""
    vm = vms.start(["--user", "65534:65534", "--debug-exit", "--console", "stdio"], api=True)
    vm.api.want(204, "PUT", "/boot-source", {"kernel_image_path": str(guest_path("halt")),
                                             "boot_args": "halt.irq=1"})
    vm.api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})
    expect_confined(vm)
    assert ids(vm.pid, "Uid") == {"65534" * 4}, f"uids {ids(vm.pid, 'Uid')}"
    stop(vm)


def kernel_logged(pid, nr):
    """The kernel's audit log (dmesg) has a seccomp record (type=1326) of PID's system call NR.
    Where the log cannot be read (not root, an audit daemon takes the records) it says so and
    checks nothing."""
    log = subprocess.run(["dmesg"], capture_output=True, text=True)
    auditd = subprocess.run(["pidof", "auditd"], capture_output=True).returncode == 0
    if log.returncode != 0 or auditd or not shutil.which("dmesg"):
        print("note: the kernel log is not readable here (or auditd has it): not checked")
        return
    assert re.search(rf"type=1326.* pid={pid} .* syscall={nr} ", log.stdout), \
        f"no kernel log record of pid {pid}'s system call {nr}"


def violation(role):
    return env(VMM_SANDBOX_TEST="1", VMM_SANDBOX_TEST_VIOLATION=role)


def forbidden_run(vms, role):
    """The VMM with the trigger, to its end (its API socket named, not waited for: it may be
    killed first)."""
    return vms.run(["--kernel", guest_path("halt"), "--debug-exit", "--console", "stdio",
                    "--rng", "--append", "halt.irq=1", "--api-sock", vms.workdir / "api.sock"],
                   timeout=60, env=violation(role))


def expect_sigsys(run):
    assert run.status == -signal.SIGSYS, \
        f"status {run.status}, want -{int(signal.SIGSYS)} (killed by SIGSYS)\n{run.tail()}"


# A forbidden call on purpose (getpgrp, in no list), in each kind of thread: --seccomp on kills
# the VMM; --seccomp log (SCMP_ACT_LOG) lets the call through, the kernel logs it, the VM runs
# on. The broker too, --seccomp on only (the kernel logs at most 10 records in 5 s, and the
# log runs make most of them).
@pytest.mark.parametrize("role", ["io-virtio-rng", "vcpu0", "api", "broker"])
def test_forbidden_call_kills(vms, role):
    expect_sigsys(forbidden_run(vms, role))


@pytest.mark.parametrize("role", ["io-virtio-rng", "vcpu0", "api"])
def test_forbidden_call_logged(vms, role):
    vm = start(vms, "--seccomp", "log", env=violation(role))
    vm.wait_out(rf"the {role} thread's getpgrp\(\) returned [0-9]", 10, err=True)
    assert vm.alive(), f"the VMM died: {vm.tail()}"
    assert "seccomp log: calls outside a thread's list are allowed" in vm.err, \
        "no word on the log mode"
    stop(vm)
    kernel_logged(vm.pid, 111)  # getpgrp


def test_unlisted_ioctl(vms):
    """An ioctl outside the API thread's request numbers (FIONREAD on stderr): the api list
    allows ioctl only with the KVM, block and tap requests it makes, so --seccomp on kills the
    VMM and --seccomp log lets the call through and the kernel logs it."""
    expect_sigsys(forbidden_run(vms, "api:ioctl"))
    vm = start(vms, "--seccomp", "log", env=violation("api:ioctl"))
    vm.wait_out(r"the api thread's ioctl\(FIONREAD\) returned 0", 10, err=True)
    assert vm.alive(), f"the VMM died: {vm.tail()}"
    stop(vm)
    kernel_logged(vm.pid, 16)  # ioctl


def test_trigger_needs_the_test_switch(vms):
    """Without VMM_SANDBOX_TEST=1 the trigger does nothing."""
    run = vms.run(["--kernel", guest_path("hello"), "--debug-exit"], timeout=60,
                  env=env(VMM_SANDBOX_TEST_VIOLATION="vcpu0"))
    expect_pass(run)


@pytest.mark.parametrize("option", [["--user", "nobody"], ["--seccomp", "maybe"]],
                         ids=["user", "seccomp"])
def test_bad_option(vms, option):
    run = vms.run(["--kernel", guest_path("halt"), *option], timeout=30)
    assert run.status == 2, f"status {run.status}, want 2\n{run.tail()}"
