# The default Linux guest described by a --config-file (root drive on virtio-blk, the API's
# schema), snapshotted in the middle of its boot (pause, PUT /snapshot/create), the VMM killed,
# restored with `vmm --restore DIR`: the boot goes on to the shell, which answers; the restored
# VMM's API shows the root disk's counters moving and the root drive in GET /vm/config, and a
# pause and a resume leave the guest running; then it is snapshotted again at that shell prompt,
# killed, restored: the shell answers the next command typed on the console, and SendCtrlAltDel
# makes Linux (atkbd on the i8042, the VT keyboard's Ctrl-Alt-Del) reboot, which ends the VMM
# with status 0. The config file's entropy device (Firecracker's, a rate-limited virtio-rng) is
# the guest's hw_random and survives the restore in GET /vm/config. A boot, not the shared
# snapshot: the snapshot in the middle of the boot is what is tested.
# (66 s measured on 2026-11-28 on the 2-core kvm_pvm host.)
# labels: slow linux snapshot api
# requires: kvm
# timeout: 1200
# resource: linux:1
import re
import shutil
import time

from framework import linux
from framework.linux import Shell

PROMPT = r"vmmguest:.*# "


def snapshot_to(vm, folder):
    """Pause, snapshot into FOLDER, kill."""
    folder.mkdir()
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    vm.api.want(204, "PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": str(folder / "state"),
                 "mem_file_path": str(folder / "memory")}, timeout=300)
    print(f"snapshot: {(folder / 'memory').stat().st_blocks * 512 >> 20} MiB of memory on disk,"
          f" {(folder / 'state').stat().st_size} bytes of state")
    vm.signal(9)
    vm.wait(30)


def test_config_file_boot_snapshots(vms, workdir):
    img = linux.images()
    root = workdir / "root.ext4"
    shutil.copy(img["DISK"], root)
    config = {
        "boot-source": {"kernel_image_path": img["VMLINUX"],
                        "boot_args": f"{img['CMDLINE']} vmmguest.shell=1 vmmguest.dhcp=0"},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
        "drives": [{"drive_id": "rootfs", "path_on_host": str(root), "is_root_device": True,
                    "is_read_only": False}],
        "entropy": {"rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100}}},
    }
    landlock = ["--landlock-rules", f"{workdir}:rw"]
    vm0 = vms.start([*landlock, "--console", "stdio"], name="boot", config=config, api=True,
                    console_in=True)
    # Mid-boot: once the kernel has printed its first lines, well before user space. On kvm_pvm
    # (guest kernel code emulated) once it is past acpi_early_init() ("pid_max:", printed soon
    # after; the line after it is waited for too): a snapshot taken before it restores there,
    # and the restored kernel then dies in acpi_early_init() on an "int3" trap at an address whose
    # bytes hold no int3 (the emulation's instruction fetch, not the guest's memory: 8 of 8 such
    # snapshots and 2 failures of this test, 2026-11-27; 6 of 6 taken later restored).
    mid_boot = r"pid_max: .*\n.*\n" if img.get("EMULATED_KVM") == "1" else r"Linux version.*\n.*\n"
    vm0.wait_out(mid_boot, 300)
    if "VMM-GUEST-INIT" in vm0.out:
        print("note: user space had started already (a fast host)")
    snapshot_to(vm0, workdir / "snap-boot")
    log0 = vm0.out

    vm = vms.start(["--restore", workdir / "snap-boot", *landlock], name="restored", api=True,
                   console_in=True)
    shell = Shell(vm)
    if re.search(linux.SHELL_LINE, log0, re.M):
        # its line went to the first console: the shell's answer below is the check
        print("note: the shell had started before the snapshot")
    else:
        vm.wait_out(linux.SHELL_LINE, 900)  # the boot restored mid-way reaches the shell
    if not re.search(PROMPT, log0):
        vm.wait_out(PROMPT, 60)
    assert "before-42" in shell.check("echo before-$((6*7))"), "the shell does not answer"
    assert re.search(r"VMM-GUEST-CMDLINE: .*root=/dev/vda rw", log0 + vm.out), \
        "no root=/dev/vda rw on the guest's command line: root is not the config file's drive"

    # ---- the restored VMM's API ----
    devices = vm.api.want(200, "GET", "/vmm/devices").json()
    assert devices[0]["name"] == "virtio-blk" and devices[0]["requests"] > 10, \
        f"the root disk's counters do not show the guest's I/O: {devices}"
    vm_config = vm.api.want(200, "GET", "/vm/config").json()
    assert any(d.get("is_root_device") for d in vm_config.get("drives", [])), \
        f"/vm/config has no root drive: {vm_config}"
    # Firecracker's entropy device from the config file: the guest's hw_random is virtio's, and
    # the restored VMM still has its byte bucket (65536 bytes every 100 ms).
    bandwidth = vm_config["entropy"]["rate_limiter"]["bandwidth"]
    assert (bandwidth["size"], bandwidth["refill_time"]) == (65536, 100), bandwidth
    assert re.search(r"VMM-GUEST-HWRNG: .*virtio", log0 + vm.out), \
        "the guest's hw_random is not the entropy device (virtio-rng)"
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    vm.wait_state("Paused")
    vm.api.want(204, "PATCH", "/vm", {"state": "Resumed"})
    assert "resumed-42" in shell.check("echo resumed-$((6*7))"), \
        "the shell does not answer after a pause and a resume"

    snapshot_to(vm, workdir / "snap")

    t0 = time.monotonic()
    vm2 = vms.start(["--restore", workdir / "snap", *landlock], name="restored2", api=True,
                    console_in=True)  # the console comes with the snapshot
    assert "after-42" in Shell(vm2).check("echo after-$((6*7))", timeout=300), \
        "the restored shell does not answer the next command"
    print(f"restore to the shell's answer: {(time.monotonic() - t0) * 1000:.0f} ms")
    vm2.api.want(204, "PUT", "/actions", {"action_type": "SendCtrlAltDel"})
    status = vm2.wait(300)
    assert status == 0, f"vmm exit status {status} (want 0: the guest resets itself)"
    assert "guest pulsed the CPU reset line" in vm2.err, "the guest did not reset the machine"
    assert "reboot: Restarting system" in vm2.out, "Linux did not restart on Ctrl-Alt-Del"
