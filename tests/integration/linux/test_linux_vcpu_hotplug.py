# vCPU hotplug (docs/hotplug.md#vcpus) with Debian 12's stock cloud kernel (ACPI processor
# driver with CONFIG_ACPI_HOTPLUG_CPU=y, built in): one boot on our VMM with --cpus
# boot=1,max=2, /init in its vCPU hotplug mode (guest-images/stock/init.sh,
# vmmstock.end=vcpuhp). The test, through vmmctl and the API:
#   - /init sees 2 possible CPUs and 1 present (the MADT's online-capable entry);
#   - when /init waits: the bad requests (desired_vcpus 0, 3 above the maximum, a resize of
#     a paused VM: 400s, nothing changed), then `vmmctl resize --vcpus 2` (204): cpu1 arrives
#     (the DSDT's CSCN notifies C001, _STA says present, _MAT gives its APIC ID), /init onlines
#     it and /proc/cpuinfo lists 2 CPUs; GET /vm/config says vcpu_count 2, max_vcpus 2;
#   - when /init is ready: the VM paused and snapshotted with cpu1 online, the VMM killed and
#     `vmm --restore` run (GET /vm/config: 2 of 2); there `vmmctl resize --vcpus 1` (204 once
#     the guest offlined cpu1 and its _EJ0 wrote the controller): cpu1 goes from sysfs;
#   - resize to 2 again: the parked vCPU is reused, cpu1 comes back online;
#   - the restored VMM ends with status 0 after the guest's poweroff -f, no ACPI error in the
#     log.
# Where it runs: on kvm_pvm (this project's machines) Linux SMP does not come up, and Debian's
# kernel does not run at all (linux_stock says why): in the run's L1 (framework/l1.py), the
# checks here. STOCK_DIRECT=1 boots here anyway.
# labels: slow linux api
# requires: kvm
# timeout: 900
# resource: linux:2
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "boot"))

import pytest  # noqa: E402

from firmware_stock_checks import stock_env  # noqa: E402
from framework import host, l1, paths  # noqa: E402
from framework.proc import WaitTimeout, read_text  # noqa: E402
from framework.vm import Vms  # noqa: E402

BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "400"))


# ---- the boot (here, or in L1 with its files in a folder shared with it) ----

def boot(out, in_l1):
    """The boot and the requests; each request's answer in OUT/results.json ("STATUS BODY" for
    the API, "status N\\nms M\\nOUTPUT" for vmmctl), the consoles in vmm.log and vmm2.log, the
    restored VMM's status in vmm2.status."""
    out = Path(out)
    env = stock_env()
    cmdline = env["STOCK_CMDLINE_EMULATED_KVM" if host.kvm_kind() == "pvm" else "STOCK_CMDLINE_NORMAL"]
    if in_l1:
        cmdline += " noxsave"  # TCG's EPYC in L1: linux_stock says why
    results = {}
    start = time.monotonic()
    # the runs' own folder is local (in L1: /tmp, L1's tmpfs; a socket on 9p fails)
    with tempfile.TemporaryDirectory(prefix="vcpuhp.") as work:
        work = Path(work)
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        vm = vm2 = None
        try:
            vm = vms.start(["--kernel", env["STOCK_KERNEL"], "--initrd", env["STOCK_INITRAMFS"],
                            "--cpus", "boot=1,max=2", "--mem", "256M",
                            "--append", f"{cmdline} vmmstock.end=vcpuhp"], name="vmm", api=True)

            def api(name, method, route, body=None, vm_=None):
                answer = (vm_ or vm).api.request(method, route, body)
                results[name] = f"{answer.status} {answer.body}"

            def ctl(name, *args, vm_=None):
                t0 = time.monotonic()
                run = subprocess.run([str(paths.VMMCTL), "--sock", str((vm_ or vm).sock), *args],
                                     capture_output=True, text=True)
                results[name] = (f"status {run.returncode}\nms {(time.monotonic() - t0) * 1000:.0f}\n"
                                 + run.stdout + run.stderr)
            l1.wait_out(vm, r"^VMM-STOCK-VCPUHP: waiting\r?$", BOOT_TIMEOUT)
            api("zero", "PUT", "/vmm/vm.resize", {"desired_vcpus": 0})
            api("three", "PUT", "/vmm/vm.resize", {"desired_vcpus": 3})
            api("pause", "PATCH", "/vm", {"state": "Paused"})
            api("paused", "PUT", "/vmm/vm.resize", {"desired_vcpus": 2})
            api("resume", "PATCH", "/vm", {"state": "Resumed"})
            ctl("add1", "resize", "--vcpus", "2")
            api("config1", "GET", "/vm/config")
            l1.wait_out(vm, r"^VMM-STOCK-VCPUHP: ready to remove", BOOT_TIMEOUT)
            # a snapshot with cpu1 online, the VMM killed, the snapshot restored: the rest runs there
            api("pause2", "PATCH", "/vm", {"state": "Paused"})
            snap = work / "snap"
            snap.mkdir()
            api("snap2", "PUT", "/snapshot/create", {"snapshot_path": str(snap / "state"),
                                                       "mem_file_path": str(snap / "memory")})
            vm.signal(signal.SIGKILL)
            vm.wait(30)
            vm.sock.unlink(missing_ok=True)
            vm2 = vms.start(["--restore", snap], name="vmm2", api=True)
            api("config_r", "GET", "/vm/config", vm_=vm2)
            # vmmctl's own deadline for the answer past the resize's (its default, 30 s, is
            # shorter: on a loaded host the guest took longer to eject cpu1, vmmctl gave up and
            # the test went on while the removal was still under way)
            ctl("rm1", "--timeout", "120", "resize", "--vcpus", "1", "--timeout-ms", "60000", vm_=vm2)
            api("config2", "GET", "/vm/config", vm_=vm2)
            l1.wait_out(vm2, r"^VMM-STOCK-VCPUHP: waiting again", BOOT_TIMEOUT)
            ctl("add2", "resize", "--vcpus", "2", vm_=vm2)
            status = vm2.wait(BOOT_TIMEOUT)
            (out / "vmm2.status").write_text(f"{status}\n")
        except l1.L1Loop as loop:  # L1's failure: job_end() ends the job so
            results["stopped"] = f"the boot's steps stopped: {loop}"
            (out / "vmm.stall").write_text(loop.line + "\n")
        except (WaitTimeout, OSError) as stopped:
            results["stopped"] = f"the boot's steps stopped: {stopped}"
        finally:
            vms.stop_all()
            mirror.stop()
            for run, name in ((vm, "vmm"), (vm2, "vmm2")):
                if run is not None:
                    (out / f"{name}.log").write_text(run.out)
                    (out / f"{name}.err").write_text(run.err)
    (out / "results.json").write_text(json.dumps(results))
    print(f"vmm: {time.monotonic() - start:.0f} s" + (f"; {results['stopped']}" if "stopped" in results else ""),
          flush=True)


# ---- the checks ----

@pytest.fixture(scope="module")
def out():
    direct = os.environ.get("STOCK_DIRECT") == "1"
    if l1.wanted(direct):
        stock_env()  # skips here, before L1, when Debian's kernel cannot be had
    with l1.boots_folder("linux_vcpu_hotplug", __file__, lambda f: boot(f, in_l1=False),
                         force_direct=direct, env={"BOOT_TIMEOUT": 240}, timeout=780,
                         where="kvm_pvm, so the boot runs in the run's L1 (framework/l1.py; "
                         "linux_stock says why)") as folder:
        yield folder


@pytest.fixture(scope="module")
def results(out):
    return json.loads(read_text(out / "results.json") or "{}")


@pytest.fixture(scope="module")
def console(out):
    return read_text(out / "vmm.log") + read_text(out / "vmm2.log")


def report(out, results):
    return ("\n" + results.get("stopped", "") + "\n---- console (last 40 lines)\n"
            + "\n".join((read_text(out / "vmm.log") + read_text(out / "vmm2.log")).splitlines()[-40:])
            + "\n---- vmm stderr (last 15 lines), the restored one's\n"
            + "\n".join(read_text(out / "vmm.err").splitlines()[-15:]) + "\n"
            + "\n".join(read_text(out / "vmm2.err").splitlines()[-15:]))


def line(console, key):
    m = re.search(rf"^VMM-STOCK-{key}: (.*)$", console, re.M)
    return m.group(1) if m else ""


def expect_api(out, results, name, regex, what):
    got = results.get(name, "not run")
    assert re.search(regex, got, re.S), f"{what}: {got}{report(out, results)}"


def expect_ctl(out, results, name, what):
    got = results.get(name, "not run")
    assert got.startswith("status 0\n"), f"{what}: {got}{report(out, results)}"
    print(f"ok: {what} ({got.splitlines()[1]})")


def expect_line(out, results, console, key, regex, what):
    got = line(console, key)
    assert re.search(regex, got), f"{what}: '{got}' (want /{regex}/){report(out, results)}"


def test_plug_before_the_snapshot(out, results, console):
    expect_line(out, results, console, "VCPUHP-START", r"^possible=0-1 cpuinfo=1 online=0 present=0$",
                "2 possible CPUs, 1 present")
    expect_api(out, results, "zero", r"^400.*between 1", "desired_vcpus 0: 400")
    expect_api(out, results, "three", r"^400.*the VM's maximum", "desired_vcpus 3 (max 2): 400")
    expect_api(out, results, "paused", r"^400.*paused", "a resize of a paused VM: 400")
    expect_ctl(out, results, "add1", "vmmctl resize --vcpus 2")
    expect_line(out, results, console, "VCPUHP-ADDED",
                r"^cpu1 after [0-9]+s cpu1-online=1 cpuinfo=2 online=0-1 present=0-1$",
                "cpu1 arrived and is online")
    expect_api(out, results, "config1", r'^200.*"vcpu_count": ?2.*"max_vcpus": ?2', "GET /vm/config: 2 of 2")
    expect_api(out, results, "pause2", r"^204", "pause with cpu1 online")
    expect_api(out, results, "snap2", r"^204", "snapshot with cpu1 online")


def test_unplug_and_replug_after_the_restore(out, results, console):
    expect_api(out, results, "config_r", r'^200.*"vcpu_count": ?2.*"max_vcpus": ?2',
               "the restored VM: GET /vm/config 2 of 2")
    expect_ctl(out, results, "rm1", "vmmctl resize --vcpus 1 on the restored VM (its guest ejected cpu1)")
    expect_line(out, results, console, "VCPUHP-REMOVED",
                r"^cpu1 gone after [0-9]+s cpuinfo=1 online=0 present=0$", "cpu1 went")
    expect_api(out, results, "config2", r'^200.*"vcpu_count": ?1[,}]', "GET /vm/config: 1")
    expect_ctl(out, results, "add2", "vmmctl resize --vcpus 2 again")
    expect_line(out, results, console, "VCPUHP-AGAIN", r"^cpu1 after [0-9]+s cpu1-online=1 cpuinfo=2",
                "cpu1 back online (the parked vCPU reused)")
    status = read_text(out / "vmm2.status").strip()
    assert status == "0", f"the restored VMM's status '{status}' (want 0 after the guest's poweroff)" \
        + report(out, results)


def test_no_acpi_complaint(out, results, console):
    complaints = re.findall(r"^.*ACPI(?: BIOS)? (?:Error|Warning).*$", console, re.M)
    assert not complaints, f"the kernel's ACPI complained: {complaints[:3]}"
    for note in [x for x in console.splitlines() if re.search(r"smpboot|CPU1|ACPI: CPU", x, re.I)][:8]:
        print(f"note: {note}")


if __name__ == "__main__":  # in L1: the boot, its files in argv[1]
    print(f"in L1: {host.kvm_line()}", flush=True)
    boot(sys.argv[1], in_l1=True)
    l1.job_end(sys.argv[1])
