# --config-file: a whole VM in one JSON file (the API's schema, Firecracker's layout) boots a
# test guest with a disk and a metrics file; broken files end with a message and status 2.
# labels: api cli
# requires: kvm
# timeout: 180
import json
import re

import pytest

from framework import host
from framework.guests import expect_pass, expect_status, guest_path


def run_cfg(vms, path, *args, name="vmm"):
    return vms.run(["--config-file", path, "--debug-exit", *args], timeout=120, name=name)


def write(workdir, name, text):
    path = workdir / f"{name}.json"
    path.write_text(text + "\n")
    return path


def test_good_file_boots_with_disk_and_metrics(vms, workdir):
    # the test guest runs and reads its disk (blk_bench), and the metrics file gets its last
    # line at exit
    host.require("kvm")
    disk = workdir / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    metrics = workdir / "metrics.jsonl"
    cfg = {"boot-source": {"kernel_image_path": str(guest_path("blk_bench")),
                           "boot_args": "seconds=1 requests=300"},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
           "drives": [{"drive_id": "d0", "path_on_host": str(disk), "is_root_device": False,
                       "is_read_only": False}],
           "metrics": {"metrics_path": str(metrics)}}
    run = run_cfg(vms, write(workdir, "good", json.dumps(cfg)), name="vmm-good")
    expect_pass(run)
    lines = metrics.read_text().splitlines() if metrics.exists() else []
    assert lines, "no metrics file written"
    assert json.loads(lines[-1])["devices"][0]["requests"] > 0, f"metrics: {lines[-1]}"


def test_command_line_devices_come_along(vms, workdir):
    # command-line devices come along, the file's machine config counts
    host.require("kvm")
    cfg = {"boot-source": {"kernel_image_path": str(guest_path("hello"))}}
    run = run_cfg(vms, write(workdir, "hello", json.dumps(cfg)), "--rng", name="vmm-hello")
    expect_pass(run)


def broken_files(workdir):
    hello = str(guest_path("hello"))
    disk = workdir / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    boot = {"kernel_image_path": hello}
    cases = [
        ("missing", workdir / "missing.json", "missing.json"),
        ("malformed", write(workdir, "malformed", '{"boot-source": {'), r"line [0-9]+"),
        ("unknown", write(workdir, "unknown", json.dumps(
            {"boot-source": boot, "no-such-device": {}})), r"unknown field .no-such-device."),
        ("noboot", write(workdir, "noboot", json.dumps(
            {"machine-config": {"vcpu_count": 1, "mem_size_mib": 64}})), "boot-source"),
        ("badtype", write(workdir, "badtype", json.dumps(
            {"boot-source": boot, "machine-config": {"vcpu_count": "1", "mem_size_mib": 64}})),
         "vcpu_count"),
        ("baddrive", write(workdir, "baddrive", json.dumps(
            {"boot-source": boot, "drives": [{"drive_id": "a", "path_on_host":
                                               str(workdir / "nope.img"),
                                               "is_root_device": True}]})), r"nope\.img"),
        ("tworoots", write(workdir, "tworoots", json.dumps(
            {"boot-source": boot, "drives": [
                {"drive_id": "a", "path_on_host": str(disk), "is_root_device": True},
                {"drive_id": "b", "path_on_host": str(disk), "is_root_device": True}]})),
         r"drives\[1\].*root"),
        ("nokernel", write(workdir, "nokernel", json.dumps(
            {"boot-source": {"kernel_image_path": str(workdir / "no-kernel")}})), "no-kernel"),
    ]
    huge = workdir / "huge.json"
    huge.write_bytes(b" " * (2 << 20))
    cases.append(("huge", huge, "larger than"))
    return cases


CASES = ["missing", "malformed", "unknown", "noboot", "badtype", "baddrive", "tworoots",
         "nokernel", "huge"]


@pytest.mark.parametrize("case", CASES)
def test_broken_file_says_why(vms, workdir, case):
    path, regex = {c: (p, r) for c, p, r in broken_files(workdir)}[case]
    run = run_cfg(vms, path, name=f"vmm-{case}")
    expect_status(run, 2)
    assert re.search(regex, run.err, re.M), f"stderr lacks /{regex}/: {run.err}"


def test_config_file_with_kernel_is_refused(vms, workdir):
    cfg = {"boot-source": {"kernel_image_path": str(guest_path("hello"))}}
    run = vms.run(["--config-file", write(workdir, "hello", json.dumps(cfg)),
                   "--kernel", guest_path("hello")], timeout=60)
    expect_status(run, 2)
