"""firmware-l1: Debian's cloud-style image (guest-images/debian-image.sh) booted as a PC boots it,
by our VMM and by QEMU alternately in the same L1 (tools/kvm-in-qemu, through the test harness's
tests/integration/framework/l1.py), to the kernel's first console line and to the serial getty's
login prompt:
  ovmf      OVMF.fd -> GRUB for EFI from the GPT image -> Debian's stock cloud kernel;
  seabios   SeaBIOS (bios-256k.bin) -> GRUB for i386-pc from the MBR -> the same;
  direct    the same kernel and initrd handed over by the VMM (--kernel; QEMU -kernel);
  ovmf-direct  OVMF.fd loading that kernel and initrd from fw_cfg (--firmware with --kernel;
            QEMU -bios with -kernel): not in the default kinds (issue 66's counts).
Each boot on its own qcow2 overlay of the image, 2 vCPUs, 512 MiB, virtio-blk and virtio-net over
PCI with a user-mode (slirp) NIC; QEMU is -M pc (i440FX, what our UEFI platform imitates) with
-nodefaults. Times run from the launch (just before fork: the firmware's reset vector is the
VMM's first KVM_RUN, a few ms later) until the line is read from the VM's console.

In L1 the guest's every exit goes through TCG's nested SVM: seconds there are emulated and mean
nothing on their own. Only the ratio ours/QEMU of the same row counts. A host whose KVM runs
Debian's kernel (not kvm_pvm) boots them directly, and says so."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
SOURCE = TOOLS.parent
# run as a file in L1 as well: the tools' and the test framework's modules by path
sys.path[:0] = [str(TOOLS), str(SOURCE / "tests" / "integration")]
from benchmarks.config import PEER_VMM  # noqa: E402
KINDS = ("ovmf", "seabios", "direct")
IMPLS = ("vmm", "qemu")
SEABIOS = Path(os.environ.get("SEABIOS_DIR", "/usr/share/seabios")) / "bios-256k.bin"
OVMF = Path(os.environ.get("OVMF_FD", "/usr/share/ovmf/OVMF.fd"))
WATCH = {"kernel": b"Linux version", "login": b" login:"}
DONE = b"VMM-DEBIAN-DONE"  # the image's check unit has printed its lines (systemd-analyze's too)
ANALYZE = re.compile(rb"VMM-DEBIAN-ANALYZE: *([^\r\n]*)")
TIMEOUT = int(os.environ.get("FW_L1_TIMEOUT", "400"))  # one boot, in L1
# A console still this long is a stalled boot (QEMU's OVMF took up to 60 s to the kernel's first
# line, its longest silence); it is stopped then, with a look at L1's KVM (kvm_trace) first.
STALL = int(os.environ.get("FW_L1_STALL", "120"))


def framework():
    """The test framework's guest_env, kvm_trace and l1, imported on first use: framework.paths
    reads BUILD_DIR as it is imported, which bench_firmware_l1 sets first."""
    from framework import guest_env, kvm_trace, l1
    return guest_env, kvm_trace, l1


def boot_cmd(impl, kind, env, overlay, vmm, qemu, accel):
    """The command line of IMPL (vmm, vmm-peer or qemu) booting KIND on OVERLAY."""
    image_dir = Path(env["DEBIAN_IMAGE"]).parent
    if impl in ("vmm", PEER_VMM):  # PEER_VMM: another build of ours (tools/bench --peer-vmm)
        binary = vmm if impl == "vmm" else os.environ["PEER_VMM"]
        cmd = [binary, "--cpus", "2", "--mem", "512M", "--transport", "pci", "--console", "stdio",
               "--disk", f"{overlay},backing_files=on,backing_dirs={image_dir}"]
        if os.environ.get("FW_L1_NET", "user") == "user":  # FW_L1_NET=none: ours without a NIC
            cmd += ["--net", "user"]
        return cmd + boot_args(kind, env, "--firmware", ("--kernel", "--initrd", "--append"))
    # -no-reboot: a triple fault (KVM_EXIT_SHUTDOWN) ends QEMU, as it ends ours, instead of
    # resetting the machine into a second boot that would hide it
    cmd = [qemu, *accel, "-nodefaults", "-no-user-config", "-nographic", "-M", "pc",
           "-no-reboot", "-smp", "2", "-m", "512M", "-serial", "stdio",
           "-drive", f"id=d0,if=none,format=qcow2,file={overlay}",
           "-device", "virtio-blk-pci,drive=d0",
           "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]
    return cmd + boot_args(kind, env, "-bios", ("-kernel", "-initrd", "-append"))


def boot_args(kind, env, firmware_flag, kernel_flags):
    """What boots KIND, in one VMM's spelling (its firmware flag, its kernel/initrd/append flags):
    the firmware (none for direct), and the kernel for direct and ovmf-direct."""
    fw = {"ovmf": OVMF, "ovmf-direct": OVMF, "seabios": SEABIOS}.get(kind)
    args = [firmware_flag, str(fw)] if fw else []
    if kind in ("direct", "ovmf-direct"):
        values = (env["DEBIAN_KERNEL"], env["DEBIAN_INITRD"], env["DEBIAN_CMDLINE"])
        args += [a for pair in zip(kernel_flags, values) for a in pair]
    return args


def host_memory_note():
    """Where this kernel puts a large anonymous mmap (a page-aligned one cannot be backed by THP
    until it is 2 MiB-aligned: base/guest_mem.c aligns guest RAM itself) and THP's mode."""
    import ctypes
    import mmap
    m = mmap.mmap(-1, 512 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    at = ctypes.addressof(ctypes.c_char.from_buffer(m))
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return (f"{os.uname().release}: a 512 MiB anonymous mmap lands {at % (2 << 20):#x} past a "
            f"2 MiB boundary; THP {thp.read_text().strip() if thp.exists() else '?'}")


def vm_pid(overlay):
    """The pid of the VM whose command line names OVERLAY, or None."""
    pid = subprocess.run(["pgrep", "-f", "-o", str(overlay)], capture_output=True, text=True)
    return int(pid.stdout.split()[0]) if pid.stdout.strip() else None


def anon_huge_kib(overlay):
    """AnonHugePages (KiB) of the VM whose command line names OVERLAY, its children included (a
    firmware boot's VMM runs the VM in a child), or None."""
    pid, kvm_trace = vm_pid(overlay), framework()[1]
    if pid is None:
        return None
    total = 0
    for p in kvm_trace.family(pid):
        try:
            m = re.search(r"^AnonHugePages:\s+(\d+)", Path(f"/proc/{p}/smaps_rollup").read_text(),
                          re.M)
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total


TRACE_EVENTS = ("kvm/kvm_exit", "kvm/kvm_inj_exception", "kvm/kvm_userspace_exit",
                "kvm/kvm_inj_virq", "kvm/kvm_apic_ipi")


def trace_boot(on):
    """With FW_L1_TRACE=1 in L1: L1's kvm tracepoints on (ON) into an 8 MiB-per-CPU ring, cleared
    first, for the whole boot; off (not ON) returns the ring's last 600 lines (the exits before a
    failure), else []."""
    if os.environ.get("FW_L1_TRACE") != "1":
        return []
    kvm_trace = framework()[1]
    if not kvm_trace.usable():
        return []
    t = kvm_trace.TRACEFS
    (t / "tracing_on").write_text("0\n")
    for e in TRACE_EVENTS:
        (t / "events" / e / "enable").write_text("1\n" if on else "0\n")
    if on:
        (t / "buffer_size_kb").write_text("8192\n")
        (t / "trace").write_text("")
        (t / "tracing_on").write_text("1\n")
        return []
    return (t / "trace").read_text(errors="replace").splitlines()[-600:]


def l1_kvm_look(overlay):
    """What L1's KVM does with the vCPUs of the VM whose command line names OVERLAY (2 s of its
    kvm tracepoints: framework/kvm_trace.py), or why there is no look."""
    pid, kvm_trace = vm_pid(overlay), framework()[1]
    if pid is None:
        return "no process"
    return ((kvm_trace.exit_loop(pid) or "no kvm trace here") + "; its threads:\n"
            + kvm_trace.thread_states(pid))


def boots(folder, env, kinds, runs):
    """The boots, alternating (ours, QEMU, QEMU, ours, ...) within each kind; each one's seconds
    to the patterns (or its failure) appended to FOLDER/boots.json as they end."""
    from benchmarks.runner import rounds
    from benchmarks.vm import run_vm
    vmm = os.environ.get("VMM") or str(SOURCE / "build" / "vmm")
    qemu = os.environ.get("QEMU") or "qemu-system-x86_64"
    accel = ["-enable-kvm", "-cpu", "host,-arch-capabilities"]
    out = Path(folder) / "boots.json"
    done = []
    with tempfile.TemporaryDirectory(prefix="fw-l1.") as work:
        impls = [i for i in os.environ.get("FW_L1_IMPLS", ",".join(IMPLS)).split(",") if i]
        for kind in kinds:
            for n, impl in rounds(impls, runs):
                overlay = Path(work) / f"{kind}-{impl}-{n}.qcow2"
                subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b",
                                env["DEBIAN_IMAGE"], "-F", "raw", str(overlay)], check=True)
                ended = [False]  # the login prompt and the check unit's lines: stop
                grew, stall, huge, ring = [time.monotonic()], [""], [], []

                def react(buf):
                    grew[0] = time.monotonic()
                    ended[0] = b" login:" in buf and DONE in buf

                def stop_when(overlay=overlay):
                    if ended[0] and not huge:
                        huge.append(anon_huge_kib(overlay))
                    if ended[0] or stall[0]:
                        return True
                    if time.monotonic() - grew[0] < STALL:
                        return False
                    ring.extend(trace_boot(False))  # before kvm_trace's own sample clears it
                    stall[0] = f"console still for {STALL} s; " + l1_kvm_look(overlay)
                    return True
                trace_boot(True)
                r = run_vm(boot_cmd(impl, kind, env, overlay, vmm, qemu, accel), WATCH,
                           timeout=TIMEOUT, react=react, stop_when=stop_when)
                trace = ring or trace_boot(False)
                overlay.unlink()
                analyze = ANALYZE.search(r.out)
                entry = {"kind": kind, "impl": impl, "run": n,
                         "seen": {k: v / 1e9 for k, v in r.seen.items()},
                         "analyze": analyze.group(1).decode(errors="replace") if analyze else "",
                         "anon_huge_kib": huge[0] if huge else None}
                if "login" not in r.seen:
                    entry["ended"] = (stall[0] or "timeout" if r.timed_out or stall[0] else
                                      f"the VM ended with status {r.status} first")
                    entry["tail"] = r.out[-600:].decode(errors="replace")
                    entry["err"] = r.err[-600:].decode(errors="replace")
                    entry["trace"] = trace
                done.append(entry)
                out.write_text(json.dumps(done, indent=1))
                print(f"{kind} {impl} #{n}: {entry['seen']}", flush=True)


def bench_firmware_l1(env, res, a):
    for f in (SEABIOS, OVMF):
        if not os.access(f, os.R_OK):
            res.fail("firmware-l1", "setup", f"{f} is missing (tools/setup.sh)")
            return
    os.environ.setdefault("BUILD_DIR", os.path.dirname(os.path.abspath(env.vmm)))  # L1's folder
    try:
        guest_env, _, l1 = framework()
    except ImportError as e:  # the framework is the test suite's: pytest and its friends
        res.fail("firmware-l1", "setup", f"the test framework does not import with {sys.executable}"
                 f" ({e}): run tools/setup.sh, or tools/bench with Debian's /usr/bin/python3")
        return
    image_sh = Path(os.environ.get("DEBIAN_IMAGE_SH") or SOURCE / "guest-images" / "debian-image.sh")
    denv, run = guest_env.print_env(image_sh)
    if run.returncode != 0:
        res.fail("firmware-l1", "setup", f"{image_sh} --print-env: {run.stderr.strip()[-300:]}")
        return
    kinds = [k for k in os.environ.get("FW_L1_KINDS", ",".join(KINDS)).split(",") if k]
    impls = ("vmm", PEER_VMM) if a.peer_vmm else IMPLS
    os.environ.setdefault("FW_L1_IMPLS", ",".join(impls))
    os.environ["PEER_VMM"] = os.path.abspath(a.peer_vmm or env.vmm)
    job_env = {"VMM": env.vmm, "QEMU": env.qemu, "FW_L1_TIMEOUT": TIMEOUT,
               "FW_L1_TRACE": os.environ.get("FW_L1_TRACE", "0"),
               "FW_L1_NET": os.environ.get("FW_L1_NET", "user"),
               "FW_L1_IMPLS": os.environ["FW_L1_IMPLS"], "PEER_VMM": os.environ["PEER_VMM"],
               "FW_L1_KINDS": ",".join(kinds), "FW_L1_RUNS": a.runs}
    if l1.wanted():
        where = "in an L1 (tools/kvm-in-qemu; this host's KVM is kvm_pvm)"
        shared = l1.get()
        folder = shared.new_dir("firmware-l1")
        result = shared.run_file(__file__, folder, env=job_env, keep=("DEBIAN_IMAGE_SH",),
                                 reset=False, name="firmware-l1",
                                 timeout=TIMEOUT * len(kinds) * 2 * a.runs + 300)
        if result.status != 0:
            res.fail("firmware-l1", "L1", f"the job ended with status {result.status}")
        shared.stop_own()
    else:
        where = "directly on this host's KVM"
        folder = Path(tempfile.mkdtemp(prefix="firmware-l1."))
        boots(folder, denv, kinds, a.runs)
    add_results(res, folder, where)


def add_results(res, folder, where):
    path = Path(folder) / "boots.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    names = {"kernel": "launch to the kernel's first console line",
             "login": "launch to the login prompt"}
    for e in entries:
        impl = e["impl"] if e["impl"].startswith("vmm") else "qemu-pc"
        for key, metric in names.items():
            if key in e["seen"]:
                res.add("firmware-l1", f"{e['kind']}: {metric}", "s", "lower", impl,
                        e["seen"][key])
        if "login" not in e["seen"]:
            why = e.get("ended", "timeout")
            why = f"within {TIMEOUT} s" if why == "timeout" else f"({why})"
            res.fail("firmware-l1", impl, f"{e['kind']} #{e['run']}: no login prompt {why}; "
                     f"console's end: {e.get('tail', '')[-200:]!r}")
        if e.get("analyze"):
            res.note(f"firmware-l1: {e['kind']} {impl} #{e['run']}: systemd-analyze: {e['analyze']}")
    res.note(f"firmware-l1: Debian's cloud-style image (its stock kernel, GRUB, systemd), 2 vCPUs, "
             f"512 MiB, virtio over PCI, slirp; ours against QEMU -M pc, booted {where}. In L1 "
             "every guest exit goes through TCG's nested SVM: the seconds are emulated, only the "
             "ratio counts.")


if __name__ == "__main__":  # in L1 (or directly): the boots, their files in argv[1]
    guest_env, kvm_trace, _ = framework()
    print(f"kvm tracepoints usable here: {kvm_trace.usable()}; {host_memory_note()}", flush=True)
    image_sh = Path(os.environ.get("DEBIAN_IMAGE_SH") or SOURCE / "guest-images" / "debian-image.sh")
    boots(sys.argv[1], guest_env.print_env(image_sh)[0],
          os.environ.get("FW_L1_KINDS", ",".join(KINDS)).split(","),
          int(os.environ.get("FW_L1_RUNS", "3")))
