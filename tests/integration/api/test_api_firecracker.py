# Firecracker API conformance (issue 27), on every host: an unstarted VMM's API first meets slow,
# oversize and malformed clients (api_slow_clients.py), then Firecracker's getting-started
# sequence and its test framework's request bodies, each status code checked and each response
# body validated against JSON Schemas of Firecracker's documented models (api_firecracker.py).
# The network interface is in the sequence where a tap can be made (root and ip(8)); else that
# request is left out with a note. Where KVM is usable the InstanceStart runs the test guest
# and it must pass, and a Firecracker-shaped vm_config.json (nulls, huge_pages, logger) boots
# through --config-file; without KVM the start must be refused with 400. The log file PUT
# /logger names must get Firecracker-style lines.
# labels: api
# timeout: 240
import os
import re

import pytest

from api_util import api_vmm, del_tap, make_tap, run_lib_script
from framework import host
from framework.guests import expect_pass, expect_status, guest_path

# Firecracker's line shape, with the level and origin the PUT /logger asked for
LOG_LINE = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z "
            r"\[vmm:(ERROR|WARN|INFO|DEBUG):[^]]+:[0-9]+\] ")


@pytest.fixture
def files(workdir):
    for name in ("rootfs.img", "scratch.img"):
        with open(workdir / name, "wb") as f:
            f.truncate(1 << 20)
    (workdir / "fc.log").write_text("")
    return workdir


def test_getting_started_and_framework_bodies(vms, files):
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        host.skip("no python3-jsonschema", "the response bodies are validated with it (tools/setup.sh)")
    kernel = guest_path("hello")
    logfile = files / "fc.log"
    tap = f"fcapi{os.getpid() % 100000}"
    tap_args = ["--tap", tap] if make_tap(tap) else []
    try:
        vm = api_vmm(vms, "--debug-exit", "--console", "stdio")
        run_lib_script("api_slow_clients.py", vm.sock)
        run_lib_script("api_firecracker.py", vm.sock, kernel, files / "rootfs.img", logfile,
                       *tap_args, *(["--kvm"] if host.kvm_usable() else []),
                       files / "scratch.img", timeout=180)
        if host.kvm_usable():
            vm.status = vm.wait(60)
            expect_pass(vm)
        else:
            vm.stop()
    finally:
        if tap_args:
            del_tap(tap)
    lines = logfile.read_text().splitlines()
    assert lines and all(re.match(LOG_LINE, line) for line in lines), \
        f"PUT /logger: the log file is empty or has other lines: {lines[:3]}"
    print(f"PUT /logger: {len(lines)} lines like: {lines[0]}")


def test_firecracker_vm_config(vms, files):
    # Firecracker's sample vm_config.json, every unset field null, as a --config-file
    host.require("kvm")
    cfg = {
        "boot-source": {"kernel_image_path": str(guest_path("hello")),
                        "boot_args": "console=ttyS0 reboot=k panic=1", "initrd_path": None},
        "drives": [{"drive_id": "rootfs", "partuuid": None, "is_root_device": True,
                    "cache_type": "Unsafe", "is_read_only": False,
                    "path_on_host": str(files / "rootfs.img"), "io_engine": "Sync",
                    "rate_limiter": None, "socket": None}],
        "machine-config": {"vcpu_count": 2, "mem_size_mib": 128, "smt": False,
                           "track_dirty_pages": False, "huge_pages": "None"},
        "cpu-config": None, "balloon": None, "network-interfaces": [], "vsock": None,
        "logger": {"log_path": str(files / "fc.log.2"), "level": "Info", "show_level": False,
                   "show_log_origin": False, "module": None},
        "metrics": None, "mmds-config": None, "entropy": None, "pmem": [],
        "memory-hotplug": None,
    }
    run = vms.run(["--debug-exit", "--console", "stdio"], timeout=120, name="vmm-config",
                  config=cfg)
    expect_pass(run)
    cfg["machine-config"]["huge_pages"] = "2M"
    run = vms.run(["--debug-exit"], timeout=60, name="vmm-config-2M", config=cfg)
    expect_status(run, 2)
    assert "hugetlbfs" in run.err, f"2M: stderr lacks the reason: {run.err}"
