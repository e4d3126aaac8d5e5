"""What the KVM under a stalled VMM does with its vCPUs, read from the kernel's kvm tracepoints
for a moment (in a job of the run's L1 only, framework/l1.py, as root).

Our guest in L1 (QEMU's TCG with nested SVM) now and then stops for good while the VMM's vCPU
threads stay alive: the halt watch's kicks come back, no exit reaches the VMM. Seen from L1's
kernel (2026-11-30, issue 66: twice under OVMF, once in linux_stock's direct boot over mmio) one
vCPU was in an endless loop inside L1's KVM: the guest fetched code at 0xffffffffc07x?20c (an
address of L1's: the instruction after `vmrun` in its kvm-amd.ko, L1's state saved into the
guest's by TCG, tools/kvm-in-qemu/README.md), the #PF being delivered took a nested page
fault in the guest's page-table walk (EXITINFO1 bit 33) at entry 508 (the CPU entry area, where
the IDT is) of a table beyond the guest's RAM (0x101aee000 with 512 MiB, 0x117306000 with
256 MiB), and KVM injected the #PF again, 2000-4500 times a second, where a CPU would have
escalated to a triple fault. The guest's state was corrupt, as its registers are in the
reset-state triple faults that l1.reset_state_triple_fault retries (QEMU's guests end so in L1
too), and the loop never reaches a VMM. exit_loop() names it, and l1.job_end() has such a job
run again in a new L1, as for those triple faults. (vmmctl vcpus shows each vCPU's CR3 too.)

A guest that spins by itself (a lock, a wait on another vCPU) shows few exits, and KVM injects
no exception into it: only a loop in KVM re-injects one exception at this rate.
"""
import os
import re
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

TRACEFS = Path("/sys/kernel/tracing")
EVENTS = ("kvm/kvm_exit", "kvm/kvm_inj_exception", "kvm/kvm_userspace_exit")
# Exceptions KVM injected into one vCPU within the sample that make it a loop in KVM: the loop
# seen did ~4500 a second; a guest at work gets a handful (an emulated instruction's fault).
LOOP_INJECTIONS_PER_S = 200
# The line exit_loop() returns starts so; l1.SICK matches it.
SIGN = "exit loop in L1's KVM"

LINE = re.compile(r"^\s*(?P<comm>.+?)-(?P<tid>\d+)\s+\[\d+\]\s+\S+\s+[\d.]+:\s+"
                  r"(?P<event>kvm_\w+):\s*(?P<rest>.*)$")


def usable():
    """Whether this process may turn kvm tracepoints on: a job of the run's L1 (its agent sets
    L1_BOOT; a host's tracing is nobody's to change), root, tracefs with kvm events."""
    if os.geteuid() != 0 or not os.environ.get("L1_BOOT"):
        return False
    if not (TRACEFS / "events").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], capture_output=True)
    return (TRACEFS / "events" / "kvm" / "kvm_exit" / "enable").exists()


def _write(name, text):
    (TRACEFS / name).write_text(text)


def family(pid):
    """PID and every process below it: a firmware boot's VMM runs each boot in a child
    (vmm/vm/reboot.c), whose threads are the vCPUs; the process started is its supervisor."""
    out, todo = [], [int(pid)]
    while todo:
        p = todo.pop(0)
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def tasks(pid):
    """The thread folders (/proc/P/task/T) of PID and the processes below it."""
    return [t for p in family(pid) for t in sorted(Path(f"/proc/{p}/task").glob("*"),
                                                   key=lambda t: int(t.name))]


def record(pid, seconds=2.0):
    """The kvm events of the threads of PID and its children over SECONDS s: the trace's lines
    (empty when it cannot be traced). Tracing is off and the events disabled again afterwards."""
    tids = [t.name for t in tasks(pid)]
    if not tids or not usable():
        return []
    try:
        _write("tracing_on", "0\n")
        _write("set_event_pid", " ".join(tids) + "\n")
        for e in EVENTS:
            _write(f"events/{e}/enable", "1\n")
        _write("trace", "")
        _write("tracing_on", "1\n")
        time.sleep(seconds)
        _write("tracing_on", "0\n")
        return (TRACEFS / "trace").read_text(errors="replace").splitlines()
    except OSError:
        return []
    finally:
        try:
            for e in EVENTS:
                _write(f"events/{e}/enable", "0\n")
            _write("set_event_pid", "\n")
        except OSError:
            pass


def summarize(lines):
    """Per thread (its name): {"exits": Counter of exit reasons, "injected": Counter of
    exceptions, "user": exits to user space, "rips": Counter of exit RIPs}."""
    out = defaultdict(lambda: {"exits": Counter(), "injected": Counter(), "user": 0,
                               "rips": Counter(), "gpas": Counter()})
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        t, rest = out[m["comm"]], m["rest"]
        if m["event"] == "kvm_exit":
            reason = re.search(r"reason (\S+)", rest)
            rip = re.search(r"rip (0x[0-9a-f]+)", rest)
            t["exits"][reason.group(1) if reason else "?"] += 1
            if rip:
                t["rips"][rip.group(1)] += 1
            gpa = re.search(r"info2 (0x[0-9a-f]+)", rest)
            if reason and reason.group(1) == "npf" and gpa:  # SVM: EXITINFO2, the GPA
                t["gpas"][hex(int(gpa.group(1), 16))] += 1
        elif m["event"] == "kvm_inj_exception":
            t["injected"][rest.split()[0] if rest else "?"] += 1
        elif m["event"] == "kvm_userspace_exit":
            t["user"] += 1
    return dict(out)


def verdict(summary, seconds):
    """SIGN's line for the vCPU threads in SUMMARY caught in a loop inside KVM, or a line of
    what KVM did (no loop), or "" for an empty sample."""
    loops, seen = [], []
    for comm, t in sorted(summary.items()):
        injected = sum(t["injected"].values())
        exits = ", ".join(f"{r} {n}" for r, n in t["exits"].most_common(3))
        rip, gpa = t["rips"].most_common(1), t["gpas"].most_common(1)
        what = (f"{comm}: {injected} exceptions injected ({dict(t['injected'])}), exits: "
                f"{exits or 'none'}{f' (most at rip {rip[0][0]})' if rip else ''}"
                f"{f', nested page faults most at GPA {gpa[0][0]}' if gpa else ''}, "
                f"{t['user']} to the VMM")
        seen.append(what)
        if injected >= LOOP_INJECTIONS_PER_S * seconds:
            loops.append(what)
    if loops:
        return f"{SIGN} over {seconds:g} s: " + "; ".join(loops)
    return f"L1's KVM over {seconds:g} s: " + "; ".join(seen) if seen else ""


def thread_states(pid, frames=4):
    """One line per thread of PID and its children: its name, state, where it waits (wchan) and
    the innermost FRAMES of its kernel stack (root only: /proc/TID/stack), so a stalled VMM shows
    whether its vCPU threads sit in KVM_RUN, in a write, or on a lock. "" when PID is gone."""
    lines = []
    for task in tasks(pid):
        def read(name):
            try:
                return (task / name).read_text(errors="replace").strip()
            except OSError:
                return "?"
        stat = read("stat")
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        stack = [f.split()[-1] for f in read("stack").splitlines()[:frames] if f.strip()]
        lines.append(f"{task.name} {read('comm')} {state} wchan={read('wchan') or '-'} "
                     f"stack={' < '.join(stack) or '?'}")
    return "\n".join(lines)


def exit_loop(pid, seconds=2.0):
    """A line for what KVM does with PID's vCPUs for SECONDS s (SIGN's when one is caught in a
    loop inside KVM), or "" when this process cannot trace."""
    lines = record(pid, seconds)
    return verdict(summarize(lines), seconds) if lines else ""
