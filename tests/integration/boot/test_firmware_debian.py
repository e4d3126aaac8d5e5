# Debian 12's cloud-style GPT image (guest-images/debian-image.sh: a BIOS boot partition with
# GRUB's core.img, an ESP with GRUB for EFI at the removable path, the ext4 root with Debian's
# stock cloud kernel) booted as a PC boots it, with nothing handed to the kernel by the VMM:
#   - SeaBIOS (bios-256k.bin) -> GRUB for i386-pc from the MBR -> the kernel and its initrd;
#   - OVMF (OVMF.fd)          -> GRUB for EFI (EFI/BOOT/BOOTX64.EFI) -> the same.
# Each on its own qcow2 overlay, 2 vCPUs, 512 MiB, the disk over virtio-pci and a libslirp NIC.
# Each must show GRUB loading the kernel, systemd reaching multi-user.target ("running", nothing
# failed), both vCPUs (our MADT, through the firmware), the root on /dev/vda3, slirp's DHCP
# address, and the serial getty's login prompt; the image's check unit prints those
# (VMM-DEBIAN-... lines). The command line is GRUB's, so nothing in it asks for a power-off: once
# the check is done and the login prompt is up, the test presses the ACPI power button (PUT
# /actions PowerButton); systemd-logind must shut the system down and power it off (under OVMF
# through the firmware's ResetSystem and the PIIX4 PM, under SeaBIOS through the FADT's PM1a
# control block, devices/acpi_pm1.h), and the VMM must exit 0. QEMU (q35 with SeaBIOS) boots the
# same as a peer, stopped with SIGTERM after its login prompt.
#
# On kvm_pvm Debian's kernel cannot run: the boots run in the run's L1 (framework/l1.py;
# linux_stock says why), the checks here. DEBIAN_IMAGE_SH names another debian-image.sh (default:
# this tree's; the test skips without one). FW_DEBIAN_ONLY=seabios|ovmf runs one firmware,
# FW_DEBIAN_PEER=0|1 without or with QEMU (default: with it, but not in L1). In L1 both
# firmwares boot one after the other (FW_DEBIAN_L1=0 skips there), on L1's QEMU 10
# (tools/kvm-in-qemu/README.md), with BOOT_TIMEOUT 300 s: ours reached the login through OVMF
# 29 times of 33 there in 46-79 s. A boot whose console stays still for FW_DEBIAN_STALL s (90)
# there is stopped with a note of its vCPUs (l1.Stalled). One whose vCPU L1's KVM holds in a
# loop, whose stall note shows a page-table base beyond its RAM, or that ends on a triple fault in
# the reset state runs once more in a new L1, alone: the other firmware's boot is kept when it
# ended otherwise (l1.job_end, l1.boot_to_run; the broken one's files go to l1-failed/; issue 66
# showed QEMU's guests ending those ways in the same L1); any other stall fails the test with
# its note, which names COM1's registers as the guest left them (IER's THRI bit: its driver
# waits to send). The VMMs run without console input: with their stdin a pipe held open (for
# typing at the console), 5 of 7 tries of this test in L1 ended in a triple fault, those looked
# at within 2 s of the power button, and 0 of 2 without (2026-12-01; docs/testing.md, issue 66).
# labels: slow linux firmware
# requires: kvm root
# timeout: 1800
# resource: linux:2
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1

import pytest  # noqa: E402

from framework import guest_env, host, l1, paths  # noqa: E402
from framework.proc import WaitTimeout, read_text  # noqa: E402
from framework.vm import Vms  # noqa: E402

BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "300" if l1.wanted() else "900"))
SHUTDOWN_TIMEOUT = int(os.environ.get("SHUTDOWN_TIMEOUT", "180"))
# In L1 a console still this long is a stalled boot, stopped with a note of its vCPUs (l1.Stalled):
# ours is silent at most ~25 s there, from the launch to the kernel's first line through OVMF.
STALL = int(os.environ.get("FW_DEBIAN_STALL", "90"))
SEABIOS = Path(os.environ.get("SEABIOS_DIR", "/usr/share/seabios")) / "bios-256k.bin"
OVMF = Path(os.environ.get("OVMF_FD", "/usr/share/ovmf/OVMF.fd"))
IMAGE_SH = Path(os.environ.get("DEBIAN_IMAGE_SH") or paths.SOURCE_DIR / "guest-images" / "debian-image.sh")
# the image's check done and the login prompt, in either order (l1.wait_out takes one pattern)
DONE_AND_LOGIN = r"(?s)\A(?=.*VMM-DEBIAN-DONE)(?=.*[a-z0-9-]+ login:)"


def image_env():
    return guest_env.env_or_skip(IMAGE_SH, "no Debian image", f"{IMAGE_SH} could not build it")


# ---- the boots (here, or in L1 with their files in a folder shared with it) ----

def run_until_done(start_run, out, name, image, button=False):
    """Starts the run (START_RUN(overlay) returns it) on a qcow2 overlay of IMAGE and waits until
    the image's check is done (VMM-DEBIAN-DONE) and a login prompt showed, or BOOT_TIMEOUT. Then,
    with BUTTON (our VMM, started with an API socket), presses the ACPI power button and gives
    systemd SHUTDOWN_TIMEOUT s to power the machine off (the VMM's exit status is the run's,
    NAME.shutdown its seconds); otherwise, or when it does not end, stops it (SIGTERM). Its console
    in OUT/NAME.log, stderr NAME.err, status and seconds to the login in NAME.status, NAME.secs."""
    start = time.monotonic()
    overlay = out / f"{name}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "raw",
                    str(overlay)], check=True)
    run = start_run(overlay)
    try:
        l1.wait_out(run, DONE_AND_LOGIN, BOOT_TIMEOUT, stall=STALL if l1.inside() else None)
    except l1.L1Loop as loop:  # L1's failure: job_end() runs the job once more in a new L1
        (out / f"{name}.stall").write_text(f"{loop.line}\n")
        (out / f"{name}.missed").write_text(f"{loop}\n")
        button = False
    except l1.Stalled as stalled:  # L1's when its note shows L1's signature (job_end)
        (out / f"{name}.stall").write_text(f"{stalled.note}\n")
        (out / f"{name}.missed").write_text(f"{stalled}\n")
        button = False
    except WaitTimeout as missed:
        (out / f"{name}.missed").write_text(f"{missed}\n")
        button = False
    (out / f"{name}.secs").write_text(f"{time.monotonic() - start:.0f}\n")
    status = None
    if button and run.alive():
        pressed = time.monotonic()
        answer = run.api.put("/actions", {"action_type": "PowerButton"})
        (out / f"{name}.button").write_text(f"status {answer.status}\n")
        try:
            status = run.wait(SHUTDOWN_TIMEOUT)
            (out / f"{name}.shutdown").write_text(f"{time.monotonic() - pressed:.0f}\n")
        except WaitTimeout:
            (out / f"{name}.shutdown").write_text(f"no power-off within {SHUTDOWN_TIMEOUT} s\n")
    if status is None:
        status = run.stop()
    (out / f"{name}.status").write_text(f"{status}\n")
    (out / f"{name}.log").write_text(run.out)
    (out / f"{name}.err").write_text(run.err)
    print(f"{name}: {read_text(out / f'{name}.secs').strip()} s", flush=True)


def boots(out, env, only, peer, together=True):
    """The boots: ONLY names one firmware ("" both), PEER adds QEMU's; side by side when TOGETHER,
    else one after the other (in L1: two guests side by side there ended in L1's own kernel panic,
    "corrupted stack end detected inside scheduler", twice in a row, 2026-11-30). One after the
    other, a boot whose files are in OUT already runs only when L1 broke it (l1.boot_to_run): in a
    new L1 the job runs the broken boot alone, not both again (~2 minutes each)."""
    out = Path(out)
    image = env["DEBIAN_IMAGE"]
    with tempfile.TemporaryDirectory(prefix="fw-debian.") as work:
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        try:
            def vmm(name, fw):
                return lambda overlay: vms.start(
                    ["--firmware", fw, "--firmware-log", out / f"{name}.fw", "--cpus", "2",
                     "--mem", "512M", "--transport", "pci",
                     "--disk", f"{overlay},backing_files=on,backing_dirs={Path(image).parent}",
                     "--net", "user"], name=name, api=True)

            def qemu(overlay):
                return vms.qemu(["-M", "q35", "-smp", "2", "-m", "512M", "-serial", "stdio",
                                 "-bios", SEABIOS,
                                 "-drive", f"id=d0,if=none,format=qcow2,file={overlay}",
                                 "-device", "virtio-blk-pci,drive=d0",
                                 "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"],
                                name="qemu")
            runs = []
            if only in ("", "seabios"):
                runs.append((vmm("vmm-seabios", SEABIOS), "vmm-seabios"))
            if only in ("", "ovmf"):
                runs.append((vmm("vmm-ovmf", OVMF), "vmm-ovmf"))
            if peer and host.has(paths.QEMU):
                runs.append((qemu, "qemu"))
            threads = [threading.Thread(target=run_until_done, args=(r, out, n, image, n != "qemu"))
                       for r, n in runs if together or l1.boot_to_run(out, n)]
            for t in threads:
                t.start()
                if not together:
                    t.join()
            for t in threads:
                t.join()
        finally:
            vms.stop_all()
            mirror.stop()


# ---- the checks ----

@pytest.fixture(scope="module")
def out():
    if not os.access(IMAGE_SH, os.X_OK):
        host.skip("no debian-image.sh", f"{IMAGE_SH} is missing (the Debian image's recipe)")
    host.require("qemu-img")
    for f in (SEABIOS, OVMF):
        if not os.access(f, os.R_OK):
            host.skip("no firmware", f"{f} is missing (tools/setup.sh)")
    # In L1 (2026-11-29, an idle host), OVMF through GRUB: ours reached the login 29 times of 33
    # (46-79 s), QEMU (-M pc, the same OVMF.fd and image) 16 of 17. The failures were the two
    # kinds issue 66 found on both VMMs alike (vCPU 1's triple fault in the reset state; a vCPU
    # held in a loop inside L1's KVM), which l1.job_end retries in a new L1. Through SeaBIOS,
    # until the firmware boot's FADT had fixed hardware, Debian's kernel died at its first
    # local_irq_enable() of SeaBIOS's unmasked 8259 timer tick (docs/acpi.md).
    in_l1 = l1.wanted()
    if in_l1 and os.environ.get("FW_DEBIAN_L1") == "0":
        host.skip("FW_DEBIAN_L1=0", "kvm_pvm needs L1 for Debian's kernel, and FW_DEBIAN_L1=0 "
                  "says not to boot it there")
    only = os.environ.get("FW_DEBIAN_ONLY", "")
    peer = l1.peer_wanted("FW_DEBIAN_PEER", in_l1)
    env = image_env()
    with l1.boots_folder("firmware_debian", __file__, lambda f: boots(f, env, only, peer),
                         tmp_dir=paths.BUILD_DIR,
                         env={"BOOT_TIMEOUT": BOOT_TIMEOUT, "FW_DEBIAN_ONLY": only,
                              "FW_DEBIAN_PEER": "1" if peer else "0"},
                         keep=("SEABIOS_DIR", "OVMF_FD", "DEBIAN_IMAGE_SH"),
                         reset=False,  # a new L1 runs only the boot the sick one broke
                         timeout=2 * (BOOT_TIMEOUT + SHUTDOWN_TIMEOUT) + 60,  # one boot after the other
                         where="kvm_pvm cannot run Debian's kernel: the boots run in the run's L1 "
                         "(framework/l1.py)") as folder:
        yield folder


def check_boot(out, name):
    text = re.sub(r"[^\x20-\x7e\n\t]", "", read_text(out / f"{name}.log"))
    bad = []

    def check(what, regex):
        if not re.search(regex, text, re.M):
            bad.append(f"{name}: {what} (no /{regex}/)")
    check("GRUB loaded the kernel", r"Loading Linux [0-9]")
    check("systemd started from the root", r"systemd\[1\]: systemd 252")
    check("systemd running", r"VMM-DEBIAN-STATE: running")
    check("multi-user.target", r"VMM-DEBIAN-TARGET: multi-user.target active")
    check("nothing failed", r"VMM-DEBIAN-FAILED: none")
    check("both vCPUs", r"VMM-DEBIAN-CPUS: 2 online=0-1")
    check("the root on /dev/vda3", r"VMM-DEBIAN-ROOT: /dev/vda3 ext4 rw")
    check("DHCP from slirp", r"VMM-DEBIAN-IPV4: .* 10\.0\.2\.15/24")
    check("a login prompt", r"[a-z0-9-]+ login:")
    if name != "qemu":
        check("our ACPI tables", r"ACPI: APIC 0x[0-9A-F]+ .* VMM")
        # the power button, then systemd's shutdown to the firmware's power-off
        button = read_text(out / f"{name}.button").strip()
        if button != "status 204":
            bad.append(f"{name}: PUT /actions PowerButton: {button or 'not pressed'}")
        check("systemd powered off", r"reboot: Power down")
        # the ACPI tables a BIOS gets (fixed hardware: Linux then masks SeaBIOS's 8259s) and a
        # UEFI firmware gets (hardware-reduced), and the register block each power-off went to
        if name == "vmm-seabios":
            check("a full FADT (fixed hardware)", r"ACPI: PM-Timer IO Port: 0x608")
            off = "acpi-pm1: the guest asked for soft off"
        else:
            if "ACPI: PM-Timer IO Port" in text:
                bad.append(f"{name}: a PM timer in the FADT: UEFI boots are hardware-reduced")
            off = "piix4-pm: the guest asked for soft off"
        if off not in read_text(out / f"{name}.err"):
            bad.append(f"{name}: the power-off did not reach {off.split(':')[0]} ('{off}')")
        status = read_text(out / f"{name}.status").strip()
        if status != "0":
            bad.append(f"{name}: exit status {status} after the power button, want 0 "
                       f"({read_text(out / f'{name}.shutdown').strip()})")
        else:
            print(f"note: {name}: power button to the VMM's exit "
                  f"{read_text(out / f'{name}.shutdown').strip()} s")
    m = re.search(r"VMM-DEBIAN-ANALYZE: *(.*)", text)
    if m:
        print(f"note: {name}: systemd-analyze: {m.group(1)}")
    return bad


@pytest.mark.parametrize("name", ["vmm-seabios", "vmm-ovmf"])
def test_boot(out, name):
    if not (out / f"{name}.status").exists():
        assert os.environ.get("FW_DEBIAN_ONLY"), f"{name}: no boot ran"
        pytest.skip(f"{name}: not run (FW_DEBIAN_ONLY)")
    bad = check_boot(out, name)
    missed = "".join(f"\n---- {n}\n{read_text(out / f'{name}.{n}').strip()}"
                     for n in ("missed", "stall") if (out / f"{name}.{n}").exists())
    assert not bad, "\n".join(bad) + "\n---- the console's last lines\n" + "\n".join(
        read_text(out / f"{name}.log").splitlines()[-8:]) + "\n---- stderr\n" + "\n".join(
        read_text(out / f"{name}.err").splitlines()[-5:]) + missed


def test_peer(out):
    """QEMU's boot: printed, not counted."""
    if not (out / "qemu.status").exists():
        print("not run: the boot on QEMU")
        return
    for line in check_boot(out, "qemu"):
        print(f"peer FAIL (not counted): {line}")


if __name__ == "__main__":  # in L1: the boots, their files in argv[1]
    print(f"in L1: {host.kvm_line()}", flush=True)
    boots(sys.argv[1], image_env(), os.environ.get("FW_DEBIAN_ONLY", ""),
          os.environ.get("FW_DEBIAN_PEER") == "1", together=False)
    l1.job_end(sys.argv[1])  # a triple fault: once more in a new L1 (l1.run_renewing)
