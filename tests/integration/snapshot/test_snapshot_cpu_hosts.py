# The refusal between two real hosts with different CPUs, and the template that makes the move
# possible (issue 50; docs/cpu.md): three L1 jobs of the run's L1 (framework/l1.py), one after
# the other, on L1s of two QEMU CPU models, each with an emulated kvm_amd whose
# KVM_GET_SUPPORTED_CPUID follows its CPU:
#   host B (qemu64,+svm,+npt: no SSSE3, SSE4.1/4.2, POPCNT, MOVBE, AES, XSAVE, ...), first:
#     `vmm --cpu-template-dump`, the custom template of what a vCPU gets there;
#   host A (the run's shared L1: EPYC,+svm,+npt,+erms): the counting guest snapshotted mid-run,
#     as is (`--check-cpu` says ok), and again with the template made from B's dump
#     (`--cpu-template-verify` says it applies on A; `--check-cpu` ok);
#   host B again: the first snapshot is refused by `vmm --check-cpu` (exit 1) and `vmm --restore`
#     (exit 2, no guest output), both naming sse4_2; `--cpu-check off` gets past the check with
#     a warning, and then either the guest ends with TEST PASS (it uses none of those
#     instructions) or the vCPU state itself is refused by name (an XSAVE area this host cannot
#     hold). The templated snapshot is accepted: `--check-cpu` ok, `--restore` runs the guest
#     to TEST PASS with the check on.
# A job whose guest triple-faulted or hung (l1.job_end on its own files) runs once more in a new
# L1 of its kind (l1.run_renewing; CI, 2026-11-29: the templated restore on host B, at step 2440
# of 3000), and the test skips when it ends so there too.
# The checks run here once the jobs have ended. Needs root, QEMU, busybox and cpio (the
# tools/kvm-in-qemu requirements); the L1 of host B is booted twice (the supervisor boots an L1
# of the kind the next job wants), host A's is the shared one.
# labels: slow snapshot
# requires: root qemu busybox cpio python3
# Cost 2: after the tests on the shared L1 (CPU host A), so that its B, A, B are the run's last
# L1 boots; host B's L1 has vfio_l1's devices too (l1.CPU_SMALL), so vfio_l1 (cost 1) runs in
# the last one. Started earlier, each switch of L1's kind costs one more L1 boot (~30 s idle, a
# minute in CI).
# timeout: 1200
# resource: linux:2
# cost: 2
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1

import pytest  # noqa: E402

from framework import l1  # noqa: E402
from framework.guests import PASS, guest_path  # noqa: E402
from framework.proc import WaitTimeout, read_text, wait_until  # noqa: E402
from framework.vm import Vms  # noqa: E402

HOST_A = os.environ.get("CPU_HOST_A", l1.CPU)
HOST_B = os.environ.get("CPU_HOST_B", l1.CPU_SMALL)


# ---- in L1 (each function one job; its files in OUT, shared with the host) ----

def run_vmm(vms, out, name, args, timeout=60):
    """`vmm ARGS` to its end: NAME.out (stdout), NAME.err, NAME.status in OUT."""
    vm = vms.start(args, name=name)
    try:
        vm.status = vm.wait(timeout)
    except WaitTimeout:
        vm.stop()
        vm.status = 124
    (out / f"{name}.out").write_text(vm.out)
    (out / f"{name}.err").write_text(vm.err)
    (out / f"{name}.status").write_text(f"{vm.status}\n")
    return vm


def inner_dump(vms, out, work):
    """host B, first: what a vCPU gets there (the snapshot's shape: one vCPU)."""
    vm = run_vmm(vms, out, "b-dump", ["--cpu-template-dump"])
    (out / "b-dump.json").write_text(vm.out)


def progress(vm):
    m = re.findall(r"^SNAP-PROGRESS ([0-9]+)$", vm.out, re.M)
    return int(m[-1]) if m else 0


def snap(vms, out, work, name, steps, *args):
    """The counting guest snapshotted mid-run into OUT/NAME (with the disk it was taken with),
    then `vmm --check-cpu` on it into a-NAME-check.*."""
    disk = work / "disk.img"
    disk.unlink(missing_ok=True)
    disk.touch()
    os.truncate(disk, 1 << 20)
    d = work / name
    vm = vms.start(["--kernel", guest_path("snap_counter"), "--debug-exit", "--console", "stdio",
                    "--landlock-rules", f"{work}:rw", "--mem", "64M", "--disk", disk,
                    "--append", f"steps={steps}", *args], name=f"a-{name}", api=True)
    try:
        # a deadline, so that a guest that stops making progress ends in a message
        wait_until(lambda: progress(vm) >= 20, 90, f"{name}: SNAP-PROGRESS 20", alive=vm.alive)
        d.mkdir()
        vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
        vm.api.want(204, "PUT", "/snapshot/create", {"snapshot_type": "Full",
                                                     "snapshot_path": str(d / "state"),
                                                     "mem_file_path": str(d / "memory")}, timeout=120)
    except (WaitTimeout, AssertionError) as failed:
        print(f"in L1 ({name}): {failed}\n{vm.tail(5)}", flush=True)
        return False
    finally:
        vm.stop()
    shutil.copy(disk, d / "disk.img")
    shutil.copytree(d, out / name)
    run_vmm(vms, out, f"a-{name}-check", ["--check-cpu", out / name])
    return True


def b_template(b, a):
    """The template for the move, from the dumps of B and A: in each register the check compares
    (docs/cpu.md, "The comparison"), the bits A's vCPU has and B's lacks cleared ("0"), the rest
    left as A's KVM gives them ("x"); a leaf B's KVM does not list counts as all clear there
    (here 0xD.1: XSAVEOPT, ... absent where there is no XSAVE). Not B's dump as it is: it also
    sets what B has and A lacks (0x80000008 EBX bit 26, SSB_NO, from B's older family), which A's
    own check then refuses in a snapshot taken there. No msr_modifiers: the dump's are the values
    of B's fresh vCPU (APIC base, PAT, ...), state and not features (the check compares MSR
    indexes, and a snapshot leaves out those the template's CPUID hides, e.g. TSC_AUX)."""
    compared = {(0x1, 0): "ecx edx", (0x6, 0): "eax", (0x7, 0): "ebx ecx edx",
                (0x7, 1): "eax", (0xD, 0): "eax edx", (0xD, 1): "eax",
                (0x80000001, 0): "ecx edx", (0x80000007, 0): "edx", (0x80000008, 0): "ebx"}

    def key(leaf):
        return int(leaf["leaf"], 0), int(leaf["subleaf"], 0)

    def regs(dump):
        return {key(leaf) + (m["register"],): int(m["bitmap"][2:], 2)
                for leaf in dump["cpuid_modifiers"] for m in leaf["modifiers"]}
    ra, rb = regs(a), regs(b)
    out = []
    for leaf in a["cpuid_modifiers"]:
        mods = []
        for r in compared.get(key(leaf), "").split():
            hide = ra[key(leaf) + (r,)] & ~rb.get(key(leaf) + (r,), 0)
            if hide:
                bits = "".join("0" if hide >> i & 1 else "x" for i in range(31, -1, -1))
                mods.append({"register": r, "bitmap": "0b" + bits})
        if mods:
            out.append(dict(leaf, modifiers=mods))
    return {"kvm_capabilities": [], "cpuid_modifiers": out, "msr_modifiers": []}


def inner_snap(vms, out, work):
    """host A: the snapshot as is, then the template's (its verify first)."""
    # steps=8000 (the most a 1 MiB disk takes): still running when it is paused (with 200 a fast
    # L1 finished the guest first, and the pause found no VMM)
    if not snap(vms, out, work, "snap", 8000):
        sys.exit(1)
    if not (out / "b-dump.json").exists() or not read_text(out / "b-dump.json").strip():
        return
    a_dump = run_vmm(vms, out, "a-dump", ["--cpu-template-dump"])
    template = b_template(json.loads(read_text(out / "b-dump.json")), json.loads(a_dump.out))
    (out / "template.json").write_text(json.dumps(template, indent=1))
    vm = vms.run(["--cpu-template-file", out / "template.json", "--cpu-template-verify"],
                 timeout=60, name="a-verify")
    (out / "a-verify.out").write_text(vm.out + vm.err)
    (out / "a-verify.status").write_text(f"{vm.status}\n")
    # fewer steps: the restore on B runs it to its end
    shutil.copy(out / "template.json", work / "template.json")
    snap(vms, out, work, "snap-t", 3000, "--cpu-template-file", work / "template.json")


def inner_restore(vms, out, work):
    """host B again: each command's output and status into OUT/b-NAME.*."""
    # A restore gives the VM a new generation ID from getrandom(GRND_NONBLOCK), which fails
    # while the kernel's CSPRNG is not ready: on a just-booted L1 whose CPU has no RDRAND it is
    # not yet. Reading /dev/random waits for it (and makes the kernel gather jitter entropy).
    subprocess.run(["timeout", "60", "head", "-c", "1", "/dev/random"], stdout=subprocess.DEVNULL)
    s = work / "snap"
    shutil.copytree(out / "snap", s)
    run_vmm(vms, out, "b-check", ["--check-cpu", s])
    run_vmm(vms, out, "b-restore", ["--restore", s, "--disk", s / "disk.img"])
    run_vmm(vms, out, "b-off", ["--restore", s, "--disk", s / "disk.img", "--cpu-check", "off"],
            timeout=150)
    if not (out / "snap-t" / "state").exists():
        return
    t = work / "snap-t"
    shutil.copytree(out / "snap-t", t)
    run_vmm(vms, out, "b-t-check", ["--check-cpu", t])
    run_vmm(vms, out, "b-t-restore", ["--restore", t, "--disk", t / "disk.img"], timeout=150)


def inner(what, out):
    m = re.search(r"model name\s*: (.*)", read_text("/proc/cpuinfo"))
    print(f"in L1 ({what}): {m.group(1) if m else '?'}", flush=True)
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix=f"cpu-hosts-{what}.") as work:
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        try:
            {"dump": inner_dump, "snap": inner_snap, "restore": inner_restore}[what](vms, out, Path(work))
        finally:
            vms.stop_all()
            mirror.stop()


# ---- here ----

@pytest.fixture(scope="module")
def runs():
    """The three jobs; returns (their folder, {job: its Result})."""
    guest_path("snap_counter")
    shared = l1.get()
    out = shared.new_dir("snapshot_cpu_hosts")
    results = {}
    # each job's time includes an L1 boot of its CPU (60 s on a loaded host) when it changed;
    # no reset before a retry: the folder holds the jobs before
    for what, cpu, timeout in (("dump", HOST_B, 250), ("snap", HOST_A, 400), ("restore", HOST_B, 400)):
        start = time.monotonic()
        # host B's L1 is the one vfio_l1 (cost 1, next) runs in: its VFIO devices too
        # a job whose guest triple-faulted (l1.job_end) runs once more in a new L1 of its kind
        results[what] = l1.run_renewing(shared, __file__, out, what, reset=False,
                                        timeout=timeout, name=f"snapshot_cpu_hosts-{what}",
                                        cpu=cpu, vfio=cpu == HOST_B)
        print(f"{what}: status {results[what].status}, {time.monotonic() - start:.0f} s "
              "(an L1 boot included when the CPU changed)")
    return out, results


def status(out, name):
    return read_text(out / f"{name}.status").strip()


def test_host_b_dump(runs):
    out, results = runs
    assert results["dump"].status == 0 and status(out, "b-dump") == "0", \
        f"host B's --cpu-template-dump: {read_text(out / 'b-dump.err')}\n{results['dump'].tail()}"
    print(f"host B ({HOST_B}): --cpu-template-dump: "
          f"{read_text(out / 'b-dump.json').count(chr(34) + 'leaf' + chr(34))} leaves")


def test_host_a_snapshots(runs):
    out, results = runs
    assert results["snap"].status == 0 and (out / "snap" / "state").exists(), \
        f"host A ({HOST_A}) made no snapshot:\n{results['snap'].tail()}"
    assert status(out, "a-snap-check") == "0", f"host A's own check: {read_text(out / 'a-snap-check.out')}"
    assert status(out, "a-verify") == "0", \
        f"host A: the template from B's dump: {read_text(out / 'a-verify.out')}"
    assert (out / "snap-t" / "state").exists() and status(out, "a-snap-t-check") == "0", \
        f"host A: no snapshot with the template: {read_text(out / 'a-snap-t-check.out')}"


def test_host_b_refuses_the_plain_snapshot(runs):
    out, results = runs
    assert results["restore"].status == 0, f"host B did not run the restores:\n{results['restore'].tail()}"
    assert status(out, "b-check") == "1" and re.search(r"^refused: .*sse4_2", read_text(out / "b-check.out"), re.M), \
        f"host B --check-cpu: status {status(out, 'b-check')}, {read_text(out / 'b-check.out')}"
    err = read_text(out / "b-restore.err")
    assert status(out, "b-restore") == "2" and re.search(r"cannot give: .*sse4_2", err), \
        f"host B --restore: status {status(out, 'b-restore')}, {err}"
    assert not read_text(out / "b-restore.out"), "the refused restore printed guest output"
    off_err = read_text(out / "b-off.err")
    assert re.search(r"warning: .*cannot give: .*sse4_2", off_err), \
        f"host B --cpu-check off: no warning: {off_err[-500:]}"
    # Past the check, the state itself may not fit this host (an XSAVE area of another size is
    # refused by the vCPU's restore): either ends the run as it should.
    passed = status(out, "b-off") == str(PASS) and re.search(r"^TEST PASS", read_text(out / "b-off.out"), re.M)
    refused = re.search(r"error: .*SNAP_VCPU", off_err)
    assert passed or refused, \
        f"host B --cpu-check off: status {status(out, 'b-off')}, {read_text(out / 'b-off.out')[-300:]} {off_err[-300:]}"


def test_host_b_takes_the_templated_snapshot(runs):
    out, results = runs
    assert status(out, "b-t-check") == "0" and re.search(r"^ok:", read_text(out / "b-t-check.out"), re.M), \
        f"host B: the template's snapshot: --check-cpu: status {status(out, 'b-t-check')}, " \
        f"{read_text(out / 'b-t-check.out')}"
    assert status(out, "b-t-restore") == str(PASS) and \
        re.search(r"^TEST PASS", read_text(out / "b-t-restore.out"), re.M), \
        f"host B: the template's snapshot: --restore: status {status(out, 'b-t-restore')}, " \
        f"{read_text(out / 'b-t-restore.out')[-300:]} {read_text(out / 'b-t-restore.err')[-300:]}"


# the files each job writes (l1.job_end looks at their stderr)
JOB_FILES = {"dump": "b-dump*", "snap": "a-*", "restore": "b-*"}

if __name__ == "__main__":  # in L1: one job (dump, snap, restore) in argv[2], its files in argv[1]
    try:
        inner(sys.argv[2], sys.argv[1])
    finally:  # also after a job's sys.exit(1): a triple fault there is L1's as likely
        l1.job_end(sys.argv[1], JOB_FILES[sys.argv[2]] + ".err")
