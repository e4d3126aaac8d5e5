"""CPU templates on arm64 (issue 67; docs/cpu.md): the part `cputemplate` of
linux/test_arm64_linux.py, in an arm64 L1 of its own on the backports kernel (run.sh --kernel
backports: Linux 6.7 and later let user space lower ID registers; the release's 6.1 does not,
which the guests part checks: refused_runs()). The bare guest cpu_ids
(tests/guests/aarch64/cpu_ids.c) prints the ID registers its vCPU sees:

  base      no template: the host's registers as KVM gives them
  v1n1      --cpu-template V1N1: Firecracker's masks (V1N1 below, from its source) applied to
            base's, every other register as base's
  custom    --cpu-template-file custom.json (ID_AA64ISAR0_EL1.AES to 0, in Firecracker's
            128-bit bitmap form)
  config_v1n1, config_custom
            the same through a Firecracker configuration file (vmm --config: machine-config's
            cpu_template "V1N1"; cpu-config holding custom.json's template), the API's model
  verify    --cpu-template-verify --cpu-template V1N1: "ok: ...", status 0
  dump      --cpu-template-dump --cpu-template V1N1: JSON whose reg_modifiers hold v1n1's values
  dumped    the dump given back with --cpu-template-file: v1n1's registers
  raise     a template raising ID_AA64ISAR0_EL1.AES above the host's: refused, naming the
            register and saying that KVM never raises a field
  fixed     a template setting ID_AA64PFR0_EL1.SVE (a field KVM keeps: the vCPU has no SVE):
            refused, naming the register and the bits KVM does not let change
  linux     Debian's stock arm64 cloud kernel (guest-images/arm64-guest.sh, a guest nobody here
            wrote) with V1N1: its /proc/cpuinfo Features lack what V1N1 hides (sha3, sm3, sm4,
            sha512, asimdfhm, flagm, rng, dcpodp, ilrcpc, jscvt, fcma, bf16, i8mm, dgh, uscat,
            dit, sve), which this L1's CPU has, and keep aes, sha1, sha2, lrcpc, dcpop
  snapshot  V1N1, 2 vCPUs, --api-sock: at IDREGS-WAIT paused and snapshotted (vmmctl), the VMM
            killed, `vmm --restore`: the restored guest (the VM generation ID changed) reads
            v1n1's registers again (the snapshot's CPU check lets the lowered bits through on a
            host whose KVM can set them), and powers off (0)
"""
import json
import re
import shlex

from . import arm64_guests, arm64_l1, vmmtest

# Firecracker's V1N1 (src/vmm/src/cpu_config/aarch64/static_cpu_templates/v1n1.rs): (filter,
# value) per register
V1N1 = {
    "ID_AA64PFR0_EL1": (0x000F000F00000000, 0),
    "ID_AA64ISAR0_EL1": (0xF0FF0FFF0000F000, 0x1000),
    "ID_AA64ISAR1_EL1": (0x00FFF00000FFF00F, 0x100001),
    "ID_AA64MMFR2_EL1": (0x0000000F00000000, 0),
}
CUSTOM = {"ID_AA64ISAR0_EL1": (0xF0, 0)}  # AES (bits 7:4) to 0
ISAR0, PFR0 = "0x603000000013c030", "0x603000000013c020"
VM = "--cpus 2 --mem 128M"
TIMEOUT = 180
TMP = "/tmp/ct"  # L1's tmpfs: the API socket cannot live in WORK (9p)
STEPS_WANT = {"base": "0", "v1n1": "0", "custom": "0", "config_v1n1": "0", "linux": "0",
              "config_custom": "0", "verify": "0", "dump": "0",
              "dumped": "0", "wait": "0", "snapshot": "0", "restored": "0"}
# The Linux hwcaps V1N1 hides (arch/arm64/kernel/cpuinfo.c's names) and some it keeps
HIDDEN = {"sha3", "sm3", "sm4", "sha512", "asimdfhm", "flagm", "flagm2", "rng", "dcpodp", "ilrcpc",
          "jscvt", "fcma", "bf16", "i8mm", "dgh", "uscat", "dit", "sve", "svebf16", "svei8mm"}
KEPT = {"aes", "sha1", "sha2", "lrcpc", "dcpop"}
LINUX_MEM_MB = 256
IDREG = re.compile(r"^IDREG (\S+) 0x([0-9a-f]{16})\r?$", re.M)


def _bits128(filter_, value):
    """Firecracker's 128-bit bitmap of a 64-bit register's (filter, value)."""
    return "0b" + "x" * 64 + "".join(
        ("1" if value >> b & 1 else "0") if filter_ >> b & 1 else "x" for b in range(63, -1, -1))


def prepare(work, images):
    custom = {"kvm_capabilities": [], "reg_modifiers": [
        {"addr": ISAR0, "bitmap": _bits128(*CUSTOM["ID_AA64ISAR0_EL1"])}]}
    (work / "custom.json").write_text(json.dumps(custom))
    boot = {"kernel_image_path": str(images / "cpu_ids.Image"), "boot_args": ""}
    machine = {"vcpu_count": 2, "mem_size_mib": 128}
    (work / "config_v1n1.json").write_text(json.dumps(
        {"boot-source": boot, "machine-config": {**machine, "cpu_template": "V1N1"}}))
    (work / "config_custom.json").write_text(json.dumps(
        {"boot-source": boot, "machine-config": machine, "cpu-config": custom}))
    (work / "raise.json").write_text(json.dumps({"reg_modifiers": [
        {"addr": ISAR0, "bitmap": _bits128(0xF0, 0x30)}]}))
    (work / "fixed.json").write_text(json.dumps({"reg_modifiers": [
        {"addr": PFR0, "bitmap": _bits128(0xF << 32, 1 << 32)}]}))


def l1_lines(vmm, vmmctl, images, work, guest):
    """L1's lines (GUEST: arm64-guest.sh's environment): each step's status as "CT_STEP <step>
    <status>"."""
    q = shlex.quote
    image = q(str(images / "cpu_ids.Image"))
    t = f"timeout {TIMEOUT} {q(str(vmm))}"
    boot = f"{t} --kernel {image} {VM}"

    def step(name):
        return f'echo "CT_STEP {name} $?"'
    return [
        arm64_l1.WAITFOR, f"cd {q(str(work))}",
        f"{boot} > base.out 2> base.err", step("base"),
        f"{boot} --cpu-template V1N1 > v1n1.out 2> v1n1.err", step("v1n1"),
        f"{boot} --cpu-template-file custom.json > custom.out 2> custom.err", step("custom"),
        f"{t} --config config_v1n1.json > config_v1n1.out 2> config_v1n1.err",
        step("config_v1n1"),
        f"{t} --config config_custom.json > config_custom.out 2> config_custom.err",
        step("config_custom"),
        f"{t} --cpu-template-verify --cpu-template V1N1 > verify.out 2>&1", step("verify"),
        f"{t} --cpu-template-dump --cpu-template V1N1 > dump.json 2> dump.err", step("dump"),
        f"{boot} --cpu-template-file dump.json > dumped.out 2> dumped.err", step("dumped"),
        f"{boot} --cpu-template-file raise.json > raise.out 2> raise.err", step("raise"),
        f"{boot} --cpu-template-file fixed.json > fixed.out 2> fixed.err", step("fixed"),
        f"timeout 300 {q(str(vmm))} --kernel {q(guest['ARM64_GUEST_KERNEL'])} --initrd "
        f"{q(guest['ARM64_GUEST_INITRAMFS'])} --cpus 2 --mem {LINUX_MEM_MB}M --cpu-template V1N1 "
        f"--append {q(guest['ARM64_GUEST_CMDLINE'] + ' vmmtest.dhcp=0')} > linux.log 2>&1",
        step("linux"),
        f"rm -rf {TMP}; mkdir -p {TMP}/snap",
        f"{boot} --cpu-template V1N1 --api-sock {TMP}/api.sock --landlock-rules {TMP}:rw "
        f"--append restore=1 > snap.out 2> snap.err & pid=$!",
        "waitfor snap.out '^IDREGS-WAIT' $pid 1200", step("wait"),
        f"{{ {q(str(vmmctl))} -s {TMP}/api.sock pause && {q(str(vmmctl))} -s {TMP}/api.sock "
        f"snapshot-create {TMP}/snap/state {TMP}/snap/memory; }} > snap.api 2>&1",
        step("snapshot"),
        "kill -9 $pid; wait $pid 2>/dev/null",
        f"{t} --restore {TMP}/snap > restored.out 2> restored.err", step("restored"),
        f"rm -rf {TMP}"]


def _regs(text):
    return {name: int(v, 16) for name, v in IDREG.findall(text)}


def _applied(base, template):
    return {n: (v & ~template[n][0]) | template[n][1] if n in template else v
            for n, v in base.items()}


def _read(work, name):
    p = work / name
    return p.read_text(errors="replace") if p.exists() else ""


def _differ(got, want):
    return [f"{n} is 0x{got.get(n, 0):016x}, want 0x{v:016x}" for n, v in want.items()
            if got.get(n) != v]


def check(out, work):
    """What went wrong, from L1's console and the files of WORK."""
    steps = dict(re.findall(r"^CT_STEP (\S+) (\d+)\r?$", out, re.M))
    bad = [f"step {s}: status {steps.get(s)}, want {w}" for s, w in STEPS_WANT.items()
           if steps.get(s) != w]
    base = _regs(_read(work, "base.out"))
    if len(base) != 11:
        return [f"cputemplate: the guest printed {len(base)} ID registers:\n"
                + _read(work, "base.out")[-2000:] + _read(work, "base.err")[-2000:]]
    v1n1 = _applied(base, V1N1)
    if v1n1 == base:
        bad.append("V1N1 changes nothing on this L1's CPU: the check would prove nothing")
    print("cputemplate: base " + " ".join(f"{n}=0x{v:016x}" for n, v in base.items()))
    custom = _applied(base, CUSTOM)
    for run, want in (("v1n1", v1n1), ("custom", custom), ("dumped", v1n1),
                      ("config_v1n1", v1n1), ("config_custom", custom)):
        bad += [f"{run}: {d}" for d in _differ(_regs(_read(work, f"{run}.out")), want)]
    if not _read(work, "verify.out").startswith("ok: CPU template V1N1"):
        bad.append("verify: " + _read(work, "verify.out")[-500:])
    try:
        dump = json.loads(_read(work, "dump.json"))
        mods = {m["addr"]: int(m["bitmap"][2:], 2) for m in dump["reg_modifiers"]}
        if mods.get(ISAR0) != v1n1["ID_AA64ISAR0_EL1"]:
            bad.append(f"dump: ID_AA64ISAR0_EL1 is {mods.get(ISAR0)}, want v1n1's")
    except (ValueError, KeyError, TypeError) as e:
        bad.append(f"dump: no template ({e}): {_read(work, 'dump.json')[:300]}")
    for run, reg, why in (("raise", "ID_AA64ISAR0_EL1", "never raises them"),
                          ("fixed", "ID_AA64PFR0_EL1", "change its bits 0x0000000100000000")):
        log = _read(work, f"{run}.err")
        if steps.get(run) != "1" or reg not in log or why not in log or "TEST PASS" in \
                _read(work, f"{run}.out"):
            bad.append(f"{run}: status {steps.get(run)}, want 1 and /{reg}.*{why}/: {log[-500:]}")
    bad += _linux_problems(work, base)
    restored = _read(work, "restored.out")
    if "IDREGS-RESTORED" not in restored or "TEST PASS" not in restored:
        bad.append("snapshot: the restored guest did not go on")
    else:
        after = restored.split("IDREGS-RESTORED", 1)[1]
        bad += [f"restored: {d}" for d in _differ(_regs(after), v1n1)]
    if bad:
        return ["cputemplate: " + "\n".join(bad) + "\n--- snapshot ---\n"
                + _read(work, "snap.err")[-1500:] + _read(work, "snap.api")[-800:]
                + _read(work, "restored.err")[-1500:]]
    return []


def _linux_problems(work, base):
    """The stock kernel's view of V1N1 (and that this L1's CPU has what V1N1 hides)."""
    if not (base["ID_AA64ISAR0_EL1"] >> 32) & 0xF:  # SHA3: hidden by V1N1, shown as "sha3"
        return ["linux: this L1's CPU has no SHA3: the check would prove nothing"]
    text, report, when = vmmtest.parse_log(work / "linux.log")
    bad = vmmtest.problems(report, cpus=2, mem_mb=LINUX_MEM_MB, now=when)
    line = report.get("cpufeatures")
    features = set(line.name.split(",")) if line and line.name else set()
    print(f"cputemplate: the stock kernel's Features with V1N1: {' '.join(sorted(features))}")
    if features & HIDDEN:
        bad.append(f"Features with V1N1 show {sorted(features & HIDDEN)}")
    if KEPT - features:
        bad.append(f"Features with V1N1 lack {sorted(KEPT - features)}")
    return [f"linux: {b}" for b in bad] + ([text[-2000:]] if bad else [])


def refused_runs():
    """The release's L1 (Linux 6.1, whose KVM takes back only the ID registers it gave): V1N1 is
    refused, saying so, before the guest runs."""
    return [arm64_guests.Run("cpu_template_6_1", "cpu_ids", ["--cpus", "1", "--mem", "128M",
                                                             "--cpu-template", "V1N1"],
                             "", 45, refused=1,
                             refused_log=r"cannot lower ID registers \(Linux 6\.7")]
