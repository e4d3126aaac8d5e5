# The CPUID a guest sees (docs/cpu.md), read by the guest itself: tests/guests/cpuid_dump.elf
# prints leaves 0, 1, 7.0, 0xB/0x1F, 0x40000000-1, 0x80000000-1, 0x80000008, 0x8000001E as vCPU 0
# sees them, and leaves 1 and 0xB as the other vCPU sees them. Runs, all with --cpus 2:
#   - default: the normalized CPUID. Every leaf vCPU 0 printed equals `vmm --cpu-template-dump
#     --cpus 2`'s (the dump is what a vCPU gets; bits KVM keeps in step with the guest's own
#     registers masked: leaf 1 OSXSAVE and APIC, leaf 7 OSPKE); the hypervisor bit; the topology
#     of 2 vCPUs, 1 thread per core (leaf 1 EBX's count and APIC IDs 0 and 1, HTT, 0xB's SMT and
#     core levels with the x2APIC IDs, AMD's 0x80000008 ECX and 0x8000001E); the hypervisor leaf
#     0x40000000 "KVMKVMKVM";
#   - custom: --cpu-template-file with a template clearing one feature the host gives (CLFLUSHOPT,
#     BMI1 or ABM, the first the dump has): the guest lacks it, and every other bit of that
#     register is the default run's;
#   - the static template of the host's vendor (T2A on AMD, T2 on Intel): run, the guest sees its
#     family/model and leaf 7 EBX, and the topology and hypervisor bit stay; or refused at start
#     naming the features the host lacks;
#   - the other vendor's static template: refused at start, naming the vendor;
#   - --cpu-template-verify: the dump given back as a template, the custom template and the
#     static one apply as written (or the static one is refused as its run was); the dump lists
#     the MSRs a vCPU gets.
# Where: a KVM that honours KVM_SET_CPUID2 (hardware or nested). kvm_pvm does not (its guests see
# the host CPU's CPUID; docs/cpu.md), so there the runs go into the run's L1 Linux under QEMU's
# TCG with nested SVM (framework/l1.py), whose CPU is EPYC with ERMS added (l1.CPU) so that T2A,
# which sets ERMS, applies; the checks run here afterwards. CPUID_DIRECT=1 forces the direct runs.
# labels: slow guests
# requires: kvm
# timeout: 720
# resource: linux:2
import json
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1

import pytest  # noqa: E402

from framework import host, l1  # noqa: E402
from framework.guests import boot_vmm, guest_path  # noqa: E402
from framework.proc import read_text  # noqa: E402
from framework.vm import Vms  # noqa: E402

# Candidate features to clear: leaf subleaf register bit name.
CANDIDATES = [(0x7, 0, "ebx", 23, "clflushopt"), (0x7, 0, "ebx", 3, "bmi1"),
              (0x80000001, 0, "ecx", 5, "abm")]


# ---- the runs (here, or in L1 with their files in a folder shared with it) ----

def dump_reg(dump, leaf, sub, reg):
    """REG of LEAF.SUB in the dump (an int), None when absent."""
    for c in dump["cpuid_modifiers"]:
        if int(c["leaf"], 0) == leaf and int(c["subleaf"], 0) == sub:
            for m in c["modifiers"]:
                if m["register"] == reg:
                    return int(m["bitmap"][2:], 2)
    return None


def runs(out):
    """Every run; each one's output in OUT/NAME.{log,err,status} (.out for the dump and the
    verifications). Each says how it ended as it goes (in L1, a step that hangs is then named by
    the last line)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="cpuid.") as work:
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        try:
            _runs(vms, out)
        finally:
            vms.stop_all()
            mirror.stop()


def _save(vm, out, name, out_suffix="log"):
    (out / f"{name}.{out_suffix}").write_text(vm.out)
    (out / f"{name}.err").write_text(vm.err)
    (out / f"{name}.status").write_text(f"{vm.status}\n")
    print(f"{name}: status {vm.status}", flush=True)


def _runs(vms, out):
    dump_vm = vms.run(["--cpu-template-dump", "--cpus", "2"], timeout=60, name="dump")
    _save(dump_vm, out, "dump", "json")
    dump = json.loads(dump_vm.out)
    vendor = "AMD" if dump_reg(dump, 0, 0, "ebx") == 0x68747541 else "Intel"
    (out / "vendor").write_text(vendor + "\n")

    def guest(name, *args):
        vm = boot_vmm(vms, "cpuid_dump", "--cpus", "2", *args, timeout=90, mem="64M")
        _save(vm, out, name)
    guest("default")
    # A feature the host gives, cleared by a custom template.
    for leaf, sub, reg, bit, name in CANDIDATES:
        v = dump_reg(dump, leaf, sub, reg)
        if v is None or not (v >> bit) & 1:
            continue
        (out / "cleared").write_text(json.dumps([leaf, sub, reg, bit, name]))
        bitmap = "0b" + "".join("0" if i == bit else "x" for i in range(31, -1, -1))
        template = {"cpuid_modifiers": [{"leaf": hex(leaf), "subleaf": hex(sub),
                                         "flags": 1 if leaf == 7 else 0,
                                         "modifiers": [{"register": reg, "bitmap": bitmap}]}],
                    "msr_modifiers": []}
        (out / "template.json").write_text(json.dumps(template))
        guest("custom", "--cpu-template-file", out / "template.json")
        break
    static, other = ("T2A", "T2") if vendor == "AMD" else ("T2", "T2A")
    (out / "static.name").write_text(static + "\n")
    guest("static", "--cpu-template", static)
    guest("wrong", "--cpu-template", other)
    # --cpu-template-verify (a scratch vCPU, read back): the dump given back, the custom
    # template, the static one.

    def verify(name, *args):
        vm = vms.run(["--cpus", "2", *args, "--cpu-template-verify"], timeout=60, name=name)
        (out / f"{name}.out").write_text(vm.out + vm.err)
        (out / f"{name}.status").write_text(f"{vm.status}\n")
        print(f"{name}: status {vm.status}", flush=True)
    verify("verify-dump", "--cpu-template-file", out / "dump.json")
    if (out / "template.json").exists():
        verify("verify-custom", "--cpu-template-file", out / "template.json")
    verify("verify-static", "--cpu-template", static)


# ---- the checks ----

@pytest.fixture(scope="module")
def out():
    guest_path("cpuid_dump")
    with l1.boots_folder("guest_cpuid", __file__, runs, timeout=300,
                         force_direct=os.environ.get("CPUID_DIRECT") == "1",
                         where="kvm_pvm ignores KVM_SET_CPUID2's table for what its guests see, "
                         "so the runs go into the run's L1 Linux under QEMU's TCG with nested SVM "
                         "(framework/l1.py), kvm_amd") as folder:
        yield folder


def text(out, name):
    return read_text(out / f"{name}.log")


def reg_of(out, run, cpu, leaf, reg):
    """REG (eax..edx) that vCPU CPU printed for LEAF ("0x%08x.N"), an int; None when absent."""
    m = re.search(rf"^CPUID cpu={cpu} leaf={re.escape(leaf)} .*", text(out, run), re.M)
    if not m:
        return None
    v = re.search(rf" {reg}=(0x[0-9a-f]+)", m.group(0))
    return int(v.group(1), 16) if v else None


def expect_ran(out, name, what):
    status = read_text(out / f"{name}.status").strip()
    assert status == "1" and re.search(r"^TEST PASS", text(out, name), re.M), (
        f"{name}: status {status}, want 1 and TEST PASS ({what}); stderr:\n"
        + "\n".join(read_text(out / f"{name}.err").splitlines()[-5:]) + "\n"
        + "\n".join(text(out, name).splitlines()[-5:]))


def vendor_of(out):
    return read_text(out / "vendor").strip()


def expect_topology(out, r):
    """The normalization's topology and hypervisor bit, as both vCPUs see them: run R."""
    b = reg_of(out, r, 0, "0x00000001.0", "ebx")
    c = reg_of(out, r, 0, "0x00000001.0", "ecx")
    d = reg_of(out, r, 0, "0x00000001.0", "edx")
    assert c is not None and (c >> 31) & 1, f"{r}: leaf 1 ECX[31], the hypervisor bit, set (ecx {c})"
    assert (b >> 16) & 0xff == 2, f"{r}: leaf 1 EBX[23:16], logical processors, is 2 (ebx {b:#x})"
    assert (d >> 28) & 1, f"{r}: leaf 1 EDX[28], HTT, set (edx {d:#x})"
    assert re.search(r"^CPUID-APS 1 of 1", text(out, r), re.M), f"{r}: the other vCPU started"
    ap_ids = []
    for i in (0, 1):
        b = reg_of(out, r, i, "0x00000001.0", "ebx")
        ap_ids.append(b >> 24)
        e = reg_of(out, r, i, "0x0000000b.0", "ecx")
        if e is None:
            continue
        assert (e >> 8) & 0xff == 1 and reg_of(out, r, i, "0x0000000b.0", "ebx") & 0xffff == 1, \
            f"{r}: vCPU {i}: leaf 0xB.0 is the SMT level (ECX[15:8] 1), 1 thread (EBX 1)"
        e1 = reg_of(out, r, i, "0x0000000b.1", "ecx")
        b1 = reg_of(out, r, i, "0x0000000b.1", "ebx")
        assert (e1 >> 8) & 0xff == 2 and b1 & 0xffff == 2, \
            (f"{r}: vCPU {i}: leaf 0xB.1 is the core level (ECX[15:8] 2), 2 logical processors "
             f"(ecx {e1:#x} ebx {b1:#x})")
        assert reg_of(out, r, i, "0x0000000b.0", "edx") == b >> 24 \
            and reg_of(out, r, i, "0x0000000b.1", "edx") == b >> 24, \
            f"{r}: vCPU {i}: leaf 0xB's x2APIC ID is its initial APIC ID ({b >> 24})"
    assert ap_ids == [0, 1], f"{r}: leaf 1 EBX[31:24], the initial APIC IDs, are 0 and 1 ({ap_ids})"
    if vendor_of(out) == "AMD":
        c = reg_of(out, r, 0, "0x80000008.0", "ecx")
        assert c is not None and c & 0xff == 1, \
            f"{r}: AMD 0x80000008 ECX[7:0], threads - 1, is 1 (ecx {c})"
        b = reg_of(out, r, 0, "0x8000001e.0", "ebx")
        if b is not None:
            assert (b >> 8) & 0xff == 0, \
                f"{r}: AMD 0x8000001E EBX[15:8], threads per core - 1, is 0 (ebx {b:#x})"


def test_dump(out):
    print(f"the host (as its KVM gives it, L1's on kvm_pvm): {vendor_of(out)}")
    assert read_text(out / "dump.status").strip() == "0", \
        f"vmm --cpu-template-dump --cpus 2 ran:\n{read_text(out / 'dump.err')}"
    dump = json.loads(read_text(out / "dump.json"))
    n = len(dump["msr_modifiers"])
    assert n > 10, f"the dump lists the MSRs a vCPU gets (msr_modifiers: {n})"


def test_default(out):
    expect_ran(out, "default", "no template")
    expect_topology(out, "default")
    hv = [reg_of(out, "default", 0, "0x40000000.0", r) for r in ("eax", "ebx", "ecx", "edx")]
    assert hv[1:] == [0x4b4d564b, 0x564b4d56, 0x0000004d] and hv[0] >= 0x40000001, \
        f"default: the hypervisor leaf 0x40000000 is KVMKVMKVM (EBX ECX EDX), max >= 0x40000001: {hv}"
    # What the guest saw is what the dump said a vCPU gets, bit for bit, but for the bits KVM keeps
    # in step with the guest's CR4 and APIC base: leaf 1 ECX[27] OSXSAVE, EDX[9] APIC, 7.0 ECX[4]
    # OSPKE.
    dump = json.loads(read_text(out / "dump.json"))
    masks = {("0x00000001.0", "ecx"): ~(1 << 27), ("0x00000001.0", "edx"): ~(1 << 9),
             ("0x00000007.0", "ecx"): ~(1 << 4)}
    diffs, n = [], 0
    for leaf in re.findall(r"^CPUID cpu=0 leaf=(0x[0-9a-f]+\.[0-9]+) ", text(out, "default"), re.M):
        fn, sub = leaf.split(".")
        for reg in ("eax", "ebx", "ecx", "edx"):
            want = dump_reg(dump, int(fn, 16), int(sub), reg)
            if want is None:
                continue
            got = reg_of(out, "default", 0, leaf, reg)
            mask = masks.get((leaf, reg), -1) & 0xffffffff
            n += 1
            if got is None or got & mask != want & mask:
                diffs.append(f"{leaf} {reg}: guest {got}, dump {want:#010x}")
    assert not diffs, f"default: the guest's leaves are the dump's ({n} registers compared): {diffs}"


def test_custom(out):
    assert (out / "cleared").exists(), \
        "custom: the host's KVM gives none of clflushopt, bmi1, abm: no bit to clear"
    leaf, sub, reg, bit, name = json.loads(read_text(out / "cleared"))
    expect_ran(out, "custom", f"--cpu-template-file clearing {name}")
    expect_ran(out, "default", "no template")
    key = f"{leaf:#010x}.{sub}"
    got = reg_of(out, "custom", 0, key, reg)
    was = reg_of(out, "default", 0, key, reg)
    assert not (got >> bit) & 1 and (was >> bit) & 1, \
        f"custom: the guest lacks {name} (CPUID {key} {reg} bit {bit} clear; {was:#x} without the template): {reg} {got:#x}"
    assert got | (1 << bit) == was, f"custom: the rest of {key} {reg} is the default run's: {got:#x} vs {was:#x}"
    expect_topology(out, "custom")


def test_static(out):
    tpl = read_text(out / "static.name").strip()
    err = read_text(out / "static.err")
    if not re.search(r"^TEST PASS", text(out, "static"), re.M) and \
            re.search(rf"CPU template {tpl} asks for CPU features this host cannot give: [a-z]", err):
        print(f"static: {tpl} refused at start, naming what the host lacks: "
              + re.search(r"cannot give: .*", err).group(0))
        return
    expect_ran(out, "static", f"--cpu-template {tpl}")
    a = reg_of(out, "static", 0, "0x00000001.0", "eax")
    b = reg_of(out, "static", 0, "0x00000007.0", "ebx")
    assert a & 0x0fff3fff == 0x000306f2, f"static: {tpl}'s family/model/stepping 0x306f2 (eax {a:#x})"
    assert b & 0xffefda14 == 0x200, f"static: {tpl}'s leaf 7 EBX (& 0xffefda14 is 0x200: ERMS only): ebx {b:#x}"
    expect_topology(out, "static")


@pytest.mark.parametrize("name", ["verify-dump", "verify-custom", "verify-static"])
def test_verify(out, name):
    """--cpu-template-verify on a KVM that keeps what it is given: the dump and the custom
    template apply as written; the static one too, or is refused as the run above was."""
    if not (out / f"{name}.status").exists():
        assert name == "verify-custom" and not (out / "template.json").exists(), f"{name} did not run"
        return
    status = read_text(out / f"{name}.status").strip()
    output = read_text(out / f"{name}.out")
    if status == "0" and re.search(r"^ok: CPU template", output, re.M):
        return
    assert name == "verify-static" and "cannot give" in read_text(out / "static.err") \
        and "sets features this host cannot give" in output, \
        f"{name}: status {status}, want 0 and 'ok: CPU template ...':\n" + "\n".join(output.splitlines()[:12])


def test_wrong_vendor(out):
    vendor = vendor_of(out)
    other, other_vendor = ("T2", "Intel") if vendor == "AMD" else ("T2A", "AMD")
    err = read_text(out / "wrong.err")
    assert not re.search(r"^TEST PASS", text(out, "wrong"), re.M) and \
        re.search(rf"CPU template {other} is for {other_vendor} CPUs, this host.s is {vendor}", err), \
        f"wrong: {other} on an {vendor} host refused at start naming the vendor: status " \
        f"{read_text(out / 'wrong.status').strip()}: {err[:300]}"


if __name__ == "__main__":  # in L1: the runs, their files in argv[1]
    print(f"in L1: {host.kvm_line()}", flush=True)
    runs(sys.argv[1])
    l1.job_end(sys.argv[1])
