"""Debian's stock cloud kernel through a firmware (test_firmware_stock.py: SeaBIOS;
test_firmware_ovmf.py: OVMF): the boots, here or in the run's L1 (framework/l1.py), and their
checks.

On kvm_pvm (guest kernel code emulated) Debian's kernel cannot run (linux_stock says why), so
there the boots run in L1 (`python3 firmware_stock_checks.py OUT KIND` as an L1 job, its
files in OUT, shared with L1) and the checks here afterwards. In L1 our boot runs alone first and
QEMU's after it: side by side, a boot in L1 ended in a triple fault or a console stopped mid-line
in 4 of 6 runs (2026-11-27) and each alone passed; a boot of ours that fails in L1 is the test's
failure, never retried as L1's (only L1's own death is: framework/l1.py).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1

from framework import guest_env, host, l1, paths  # noqa: E402
from framework.proc import WaitTimeout, read_text  # noqa: E402
from framework.vm import Vms  # noqa: E402

BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "420"))
# In L1, how long a silent console of ours is a stall (reported with the vCPUs' exits)
STALL = int(os.environ.get("FW_STOCK_STALL", "60"))


# How /init ends our boot: first it reboots once (vmmstock.reboot=once: `reboot -f`, and the VMM
# starts the firmware again, vmm/vm/reboot.h), and the second boot ends: under OVMF it waits for
# the power button, which the test presses (`vmmctl power-button`), then powers off (`poweroff
# -f`: Linux under UEFI with hardware-reduced ACPI asks the firmware's ResetSystem, which writes
# the PIIX4 PM's PM1_CNT); under SeaBIOS it powers off (`poweroff -f`: ACPI S5 through the PM1a
# control block of a BIOS boot's full FADT, devices/acpi_pm1.h). Either way the VMM exits 0.
# QEMU's boot ends with `reboot -f` (-no-reboot).
ENDS = {"ovmf": "button", "seabios": "poweroff"}


def firmware(kind):
    """The firmware file and QEMU's machine for KIND (seabios, ovmf)."""
    if kind == "ovmf":
        return Path(os.environ.get("OVMF_FD", "/usr/share/ovmf/OVMF.fd")), "pc"
    return Path(os.environ.get("SEABIOS_DIR", "/usr/share/seabios")) / "bios-256k.bin", "q35"


# Our OVMF boots run the split image, as a VM that keeps its UEFI variables does: the code
# (--firmware) and a copy of the variable store template (--firmware-vars), from Debian's ovmf
# package like OVMF.fd (which QEMU's peer boot and firmware_debian run).
OVMF_CODE = Path(os.environ.get("OVMF_CODE", "/usr/share/OVMF/OVMF_CODE_4M.fd"))
OVMF_VARS = Path(os.environ.get("OVMF_VARS", "/usr/share/OVMF/OVMF_VARS_4M.fd"))


def efivar_token(marker):
    """The value /init sets the test's UEFI variable to (the marker's unique part)."""
    return marker.split()[-1]


def stock_env():
    """guest-images/stock.sh --print-env as a dict; skips when Debian's kernel cannot be had."""
    return guest_env.env_or_skip("stock.sh", "no stock kernel",
                                 "guest-images/stock.sh could not fetch Debian's kernel")


def cmdline(env, in_l1):
    line = env["STOCK_CMDLINE_EMULATED_KVM" if host.kvm_kind() == "pvm" else "STOCK_CMDLINE_NORMAL"]
    if in_l1:
        line += " noxsave"  # TCG's EPYC in L1: linux_stock says why
    return line + " vmmstock.disk=1"


def disk(path, marker):
    path.write_text(marker + "\n")
    os.truncate(path, 8 << 20)


def press_button(vm, out, name, timeout, wait=True):
    """Presses boot NAME's power button (`vmmctl power-button`) once /init says it waits for it
    (at once unless WAIT: a restored VM, whose /init said so before the snapshot), and again
    after each 10 s the VM still runs (4 more at most: for a press that came before /init opened
    the event device); vmmctl's first status and output in OUT/NAME.button."""
    try:
        if wait:
            vm.wait_out(r"^VMM-STOCK-BUTTON: waiting", timeout)
    except WaitTimeout:
        return
    for i in range(1, 6):
        if not vm.alive():
            return
        run = subprocess.run([str(paths.VMMCTL), "--sock", str(vm.sock), "power-button"],
                             capture_output=True, text=True)
        if i == 1:
            (out / f"{name}.button").write_text(run.stdout + run.stderr + f"status {run.returncode}\n")
        else:
            with open(out / f"{name}.button", "a") as f:
                f.write(f"pressed again ({i})\n")
        try:
            vm.wait(10)  # the VM's end, or the next press
            return
        except WaitTimeout:
            pass


def snapshot_and_restore(vms, vm, work, ours, out, in_l1):
    """OVMF's second boot, once /init waits for the power button: the VM paused, snapshotted and
    killed, and a new VMM restored from the snapshot (`vmm --restore`, with the firmware, its
    variable store and the disk named for it). No firmware runs on a restore, so the restored
    PIIX4 PM function must map its I/O block where OVMF put it at boot, or the power-off that
    follows reaches nothing. Returns the restored VM (its API socket up), or None with
    OUT/vmm.restore saying why (the boot's own console then ends the test's checks)."""
    try:
        l1.wait_out(vm, r"^VMM-STOCK-BUTTON: waiting", BOOT_TIMEOUT, stall=STALL if in_l1 else None)
    except l1.L1Loop as loop:
        (out / "vmm.stall").write_text(loop.line + "\n")
        return None
    except l1.Stalled as stalled:
        (out / "vmm.stall").write_text(stalled.note + "\n")
        return None
    except WaitTimeout as missed:
        (out / "vmm.restore").write_text(f"no snapshot: {missed}\n")
        return None
    snap = work / "snap"
    snap.mkdir()
    steps = [vm.api.patch("/vm", {"state": "Paused"}),
             vm.api.put("/snapshot/create", {"snapshot_path": str(snap / "state"),
                                             "mem_file_path": str(snap / "memory")})]
    (out / "vmm.restore").write_text("".join(f"{a.status}\n" for a in steps))
    vm.signal(signal.SIGKILL)
    vm.wait(30)
    if any(a.status != 204 for a in steps):
        return None
    return vms.start(["--restore", snap, "--firmware", ours[0], "--firmware-vars",
                      work / "vars.fd", "--disk", work / "vmm.img"], name="vmm-restored", api=True)


def boots(out, kind, env, marker, in_l1, peer=True):
    """Our VMM's boot, then QEMU's (the peer) when PEER; each one's console, stderr, status and
    seconds in OUT/NAME.{log,err,status,secs} (and our firmware log in vmm.fw, a stall's note in
    vmm.stall). The runs' own folder is local (in L1: /tmp, L1's tmpfs; a socket on 9p fails)."""
    bios, machine = firmware(kind)
    line = cmdline(env, in_l1)
    with tempfile.TemporaryDirectory(prefix="fw-stock.") as work:
        work = Path(work)
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        try:
            disk(work / "vmm.img", marker)
            start = time.monotonic()
            ours, extra = [bios], ""
            if kind == "ovmf":  # the split image, its variables in the VM's own copy
                shutil.copy(OVMF_VARS, work / "vars.fd")
                ours = [OVMF_CODE, "--firmware-vars", work / "vars.fd"]
                extra = f" vmmstock.efivar=set:{efivar_token(marker)}"

            def start_ours(name, append):
                return vms.start(["--firmware", *ours, "--firmware-log", out / f"{name}.fw",
                                  "--kernel", env["STOCK_KERNEL"],
                                  "--initrd", env["STOCK_INITRAMFS"], "--append", append,
                                  "--cpus", "2", "--mem", "256M", "--transport", "pci",
                                  "--disk", work / "vmm.img"], name=name, api=True)
            vm = booted = start_ours("vmm", f"{line} vmmstock.reboot=once "
                                            f"vmmstock.end={ENDS[kind]}{extra}")
            presser = None
            if ENDS[kind] == "button":
                vm = snapshot_and_restore(vms, booted, work, ours, out, in_l1) or booted
                presser = threading.Thread(target=press_button,
                                           args=(vm, out, "vmm", BOOT_TIMEOUT, vm is booted),
                                           daemon=True)
                presser.start()
            status, note = l1.wait_end_or_stall(vm, BOOT_TIMEOUT, STALL if in_l1 else 0)
            if presser is not None:
                presser.join(15)
            (out / "vmm.status").write_text(f"{124 if status is None else status}\n")
            (out / "vmm.secs").write_text(f"{time.monotonic() - start:.0f}\n")
            if note:
                (out / "vmm.stall").write_text(note + "\n")
            # the console and stderr of the boot, then of the restored VMM if there is one
            for suffix, path in (("log", "out_path"), ("err", "err_path")):
                (out / f"vmm.{suffix}").write_text("".join(
                    read_text(getattr(r, path)) for r in dict.fromkeys((booted, vm))))
            if vm is not booted:
                shutil.copy(vm.err_path, out / "vmm-restored.err")
            print(f"vmm: status {read_text(out / 'vmm.status').strip()}, "
                  f"{read_text(out / 'vmm.secs').strip()} s", flush=True)
            if kind == "ovmf":  # the store as the VMM left it, for check_efivar()
                shutil.copy(work / "vars.fd", out / "vmm.vars")
            if peer and host.has(paths.QEMU):
                disk(work / "qemu.img", marker)
                start = time.monotonic()
                qemu = vms.qemu(["-M", machine, "-smp", "2", "-m", "256M", "-no-reboot",
                                 "-serial", "stdio", "-bios", bios,
                                 "-kernel", env["STOCK_KERNEL"], "-initrd", env["STOCK_INITRAMFS"],
                                 "-append", line,
                                 "-drive", f"id=d0,if=none,format=raw,file={work / 'qemu.img'}",
                                 "-device", "virtio-blk-pci,drive=d0"], name="qemu")
                try:
                    status = qemu.wait(BOOT_TIMEOUT)
                except WaitTimeout:
                    qemu.stop()
                    status = 124
                (out / "qemu.status").write_text(f"{status}\n")
                (out / "qemu.secs").write_text(f"{time.monotonic() - start:.0f}\n")
                shutil.copy(qemu.out_path, out / "qemu.log")
                shutil.copy(qemu.err_path, out / "qemu.err")
                secs = read_text(out / "qemu.secs").strip()
                print(f"qemu: status {status}, {secs} s", flush=True)
        finally:
            vms.stop_all()
            mirror.stop()


def run_boots(workdir, kind):
    """The boots, where this host can run them; returns their folder (OUT) with the marker.
    QEMU's boot as the peer unless FW_STOCK_PEER=0, and in L1 only with FW_STOCK_PEER=1 (there
    it took 100 s of L1, which has all of the host's CPUs, for a result that is printed only)."""
    bios, _ = firmware(kind)
    for f in [bios] + ([OVMF_CODE, OVMF_VARS] if kind == "ovmf" else []):
        if not os.access(f, os.R_OK):
            host.skip(f"no {kind}", f"{f} is missing (Debian's seabios/ovmf, tools/setup.sh)")
    env = stock_env()
    marker = f"VMM-FW-STOCK-MARKER {os.getpid()}-{time.monotonic_ns() % 100000}"
    print(f"firmware: {bios}")
    direct = os.environ.get("FW_STOCK_DIRECT") == "1"
    peer = l1.peer_wanted("FW_STOCK_PEER", l1.wanted(direct))
    with l1.boots_folder(f"firmware_{kind}", __file__,
                         lambda f: boots(f, kind, env, marker, in_l1=False, peer=peer),
                         args=(kind,), force_direct=direct, folder=workdir,
                         keep=("OVMF_FD", "OVMF_CODE", "OVMF_VARS", "SEABIOS_DIR", "BOOT_TIMEOUT",
                               "FW_STOCK_STALL"),
                         env={"FW_STOCK_MARKER": marker, "FW_STOCK_PEER": "1" if peer else "0"},
                         timeout=2 * BOOT_TIMEOUT + 120,
                         where=f"{l1.WHY}: the boots run in the run's L1 Linux (framework/l1.py), "
                         "the checks here") as out:
        pass  # the folder stays: the workdir here, a new_dir in L1
    assert (out / "vmm.status").exists(), f"no boot ran (no {out / 'vmm.status'})"
    return out, marker


def check_boot(out, name, kind, marker):
    """The checks of boot NAME; returns the failures (a list of strings)."""
    text = read_text(out / f"{name}.log")
    failures = []

    def check(what, regex):
        if not re.search(regex, text, re.M):
            failures.append(f"{name}: {what} (no /{regex}/)")
    end = ENDS[kind] if name == "vmm" else "reboot"
    status = read_text(out / f"{name}.status").strip()
    if status != "0":
        failures.append(f"{name}: exit status {status}, want 0 (after the guest's {end})")
    check("the kernel found an RSDP", r"ACPI: RSDP 0x[0-9A-F]+ ")
    # SeaBIOS keeps our XSDT; OVMF installs each table through its ACPI table protocol, which
    # writes an XSDT of its own.
    if name == "vmm" and kind == "seabios":
        check("the XSDT is ours (OEM VMM), through the firmware",
              r"ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM")
    if name == "vmm":
        check("the MADT is ours", r"ACPI: APIC 0x[0-9A-F]+ .* VMM")
    check("the kernel reached /init", r"Run /init as init process")
    check("/init ran", r"^VMM-STOCK-INIT: ok")
    check("both vCPUs online (the MADT)", r"^VMM-STOCK-CPUS: 2 online=0-1$")
    check("/dev/vda with the marker",
          rf"^VMM-STOCK-VDA: yes sectors=16384 first-line={re.escape(marker)}$")
    if name == "vmm":
        failures += check_reboot(out, text)
    if name == "vmm" and kind == "ovmf":  # the power button and the power-off of a restored VM
        restore = read_text(out / "vmm.restore")
        if restore != "204\n204\n":
            failures.append("vmm: the pause and snapshot before the power button answered "
                            f"{restore.strip()!r}, want 204 twice")
        elif "piix4-pm: the guest asked for soft off" not in read_text(out / "vmm-restored.err"):
            failures.append("vmm: the restored VMM's PIIX4 PM got no soft off (its stderr: "
                            f"{read_text(out / 'vmm-restored.err').strip()[-300:]!r})")
    if end == "button":
        button = read_text(out / f"{name}.button")
        if not re.search(r"^status 0$", button, re.M):
            failures.append(f"{name}: vmmctl power-button: "
                            + (button or "never run: /init did not wait for the button"))
        check("/init read KEY_POWER (type 1, code 116, pressed) from the Power Button",
              r"^VMM-STOCK-BUTTON: event type,code,value= +1 +116 +1$")
        check("/init powered the VM off", r"^VMM-STOCK-END: poweroff")
        check("the kernel powered down", r"reboot: Power down")
    elif end == "poweroff":
        check("/init powered the VM off", r"^VMM-STOCK-END: poweroff")
        check("the kernel powered down", r"reboot: Power down")
    else:
        check("/init reset the VM", r"^VMM-STOCK-END: reboot")
    complaints = re.findall(r"^.*ACPI(?: BIOS)? (?:Error|Warning).*$", text, re.M)
    if complaints:
        failures.append(f"{name}: ACPI complained: " + " | ".join(complaints[:2]))
    return failures


def check_reboot(out, text):
    """Our boot reset once and the firmware booted the guest again (vmmstock.reboot=once): the
    first boot's /init wrote its mark and reset, the VMM said it starts the firmware again, a
    second kernel ran /init, found the mark, and the end came after it. The failures (a list)."""
    err = read_text(out / "vmm.err")
    failures = []
    first = re.search(r"^VMM-STOCK-REBOOT: first boot, mark written \(status 0\), rebooting$",
                      text, re.M)
    second = re.search(r"^VMM-STOCK-REBOOT: second boot$", text, re.M)
    if not first or not second or second.start() < first.start():
        failures.append("vmm: no reboot: want /init's 'first boot ... rebooting', then 'second "
                        "boot' | " + " | ".join(re.findall(r"^VMM-STOCK-REBOOT:.*$", text, re.M)))
    if not re.search(r"reboot: the guest reset: starting the firmware again \(boot 2\)", err):
        failures.append("vmm: the VMM never said it starts the firmware again (boot 2)")
    if re.search(r"\(boot 3\)", err):
        failures.append("vmm: a third boot: the guest reset more than once")
    inits = len(re.findall(r"^VMM-STOCK-INIT: ok$", text, re.M))
    if inits != 2:
        failures.append(f"vmm: /init ran {inits} times, want 2 (once a boot)")
    end = re.search(r"^VMM-STOCK-END: ", text, re.M)
    if second and end and end.start() < second.start():
        failures.append("vmm: /init's end came before the second boot")
    return failures


def check_efivar(out, marker):
    """Under OVMF: the first boot found no test variable in the fresh store and set it, the
    second boot (after the reboot: a new process of the VMM, its firmware reading the same
    --firmware-vars file) found it through efivarfs, and the store the VMM left holds it, as
    OVMF's variable driver writes one (its UTF-16 name, then its value)."""
    want = f"VMM-EFIVAR-{efivar_token(marker)}"
    failures = []
    text = read_text(out / "vmm.log")
    # the first boot found none and set it; the second boot's firmware read it from the flash
    # (the store the first boot's process left) and Linux finds it through efivarfs
    for regex in (r"^VMM-STOCK-EFIVAR: before none$", r"^VMM-STOCK-EFIVAR: set status 0$",
                  rf"^VMM-STOCK-EFIVAR: before {re.escape(want)}$",
                  r"^VMM-STOCK-EFIVAR: set already$"):
        if not re.search(regex, text, re.M):
            failures.append(f"vmm: no /{regex}/: "
                            + " | ".join(re.findall(r"^VMM-STOCK-EFIVAR:.*$", text, re.M)))
    store = (out / "vmm.vars").read_bytes() if (out / "vmm.vars").exists() else b""
    record = "VmmTest\0".encode("utf-16-le") + want.encode()
    if record not in store:
        failures.append(f"the --firmware-vars file ({len(store)} bytes) lacks the variable "
                        f"VmmTest = {want}: the firmware's writes did not reach it")
    return failures


def expect_boot(out, kind, marker):
    """Our boot passed every check (the peer's are printed, not counted)."""
    failures = check_boot(out, "vmm", kind, marker)
    if kind == "ovmf":
        failures += check_efivar(out, marker)
    if (out / "qemu.status").exists():
        for line in check_boot(out, "qemu", kind, marker):
            print(f"peer FAIL (not counted): {line}")
    detail = ""
    if failures:
        detail = ("\n---- vmm: console's last lines\n"
                  + "\n".join(read_text(out / "vmm.log").splitlines()[-15:])
                  + "\n---- stderr\n" + "\n".join(read_text(out / "vmm.err").splitlines()[-5:])
                  + "\n---- firmware log\n" + "\n".join(read_text(out / "vmm.fw").splitlines()[-8:])
                  + "\n" + read_text(out / "vmm.stall"))
    assert not failures, "\n".join(failures) + detail


def inner(out, kind):
    """In L1: the boots, their files in OUT."""
    print(f"in L1: {host.kvm_line()}", flush=True)
    env = stock_env()
    boots(Path(out), kind, env, os.environ["FW_STOCK_MARKER"], in_l1=True,
          peer=os.environ.get("FW_STOCK_PEER", "1") == "1")
    l1.job_end(out)


if __name__ == "__main__":
    inner(sys.argv[1], sys.argv[2])  # in L1: l1.boots_folder's `python3 THIS OUT KIND`
