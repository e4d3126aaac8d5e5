"""Helpers of the network tests (net/, bench/) that the shared framework lacks (issue 64's net
group; candidates for framework/vm.py and framework/net.py):

  qemu_in(vms, ns, args)   QEMU started through the harness inside a network namespace (Vms.qemu
                           has no `wrap` as Vms.start has)
  in_ns(ns, code, *args)   a short Python snippet run to its end inside the namespace
  has_packet_socket(proc)  whether a helper holds its AF_PACKET socket yet (to wait for it)
"""
import sys

from . import host, paths
from .proc import Process, open_fds
from .vm import Qemu


class _WrappedQemu(Qemu):
    """Qemu with its argv behind WRAP (`ip netns exec NAME`: which execs QEMU, so the pid is
    QEMU's); the same accelerator choice and options as Qemu."""

    def __init__(self, workdir, args, wrap, name="qemu", console_in=False):
        accel = (["-enable-kvm", "-cpu", "host,-arch-capabilities"] if host.kvm_usable()
                 else ["-accel", "tcg", "-cpu", "max"])
        argv = [*wrap, paths.QEMU, *accel, "-nodefaults", "-no-user-config", "-nographic", *args]
        Process.__init__(self, argv, workdir, name, stdin="pipe" if console_in else None)


def qemu_in(vms, ns, args, name="qemu", **kw):
    """Starts QEMU with ARGS inside namespace NS (a framework.net.NetNs) as one of VMS's runs."""
    run = _WrappedQemu(vms.workdir, args, ns.wrap, name=vms._name(name), **kw)
    vms.runs.append(run)
    return run


def in_ns(ns, code, *args, check=True, timeout=60):
    """Runs python3 -c CODE ARGS inside NS to its end; returns the CompletedProcess."""
    return ns.exec(sys.executable, "-c", code, *args, check=check, timeout=timeout)


def has_packet_socket(proc):
    """True once PROC (a Process, run through `ip netns exec`, which execs it) holds an AF_PACKET
    socket: one of its fds is listed in its namespace's /proc/PID/net/packet. A wait for a
    host-side counter to be bound before the guest sends."""
    try:
        fds = set(open_fds(proc.pid).values())
        with open(f"/proc/{proc.pid}/net/packet") as f:
            inodes = {line.split()[-1] for line in f.read().splitlines()[1:] if line.split()}
    except OSError:
        return False
    return any(f"socket:[{inode}]" in fds for inode in inodes)
