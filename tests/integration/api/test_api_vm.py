# The HTTP API with real clients (Python's http.client, vmmctl) against the real VMM:
# a test guest configured and started entirely over the API (vmm --api-sock only), then paused
# while it reads its disk as fast as it can at queue depth 32 (the device's request counter
# stops, and moves again after the resume), metrics to a file, PATCH /drives, every bad-input
# case (tests/integration/lib/api_clients.py: malformed and oversized bodies, unknown paths and
# methods, wrong states, clients that vanish mid-request or say nothing, many at once), and a
# graceful stop whose deadline passes (the test guest ignores Ctrl-Alt-Del) ending with status 0;
# `vmmctl vcpus` shows where the halt watch last saw the vCPU (MP state, IF, RIP, CR3).
# labels: api
# requires: kvm
# timeout: 300
import json
import os
import re
import subprocess
import time

from api_util import api_vmm, run_lib_script, want
from framework import host, paths
from framework.guests import guest_path
from framework.proc import wait_until


def counter(api):
    """The disk's request counter (None when GET /vmm/devices does not show it)."""
    match = re.search(r'"requests":([0-9]+)', api.get("/vmm/devices").body)
    return int(match.group(1)) if match else None


def vmmctl(sock, *args):
    return subprocess.run([str(paths.VMMCTL), "--sock", str(sock), *args],
                          capture_output=True, text=True, timeout=120)


def test_api_vm(vms, workdir):
    host.require("kvm")
    disk, disk2 = workdir / "disk.img", workdir / "disk2.img"
    disk.write_bytes(os.urandom(16 << 20))
    disk2.write_bytes(os.urandom(32 << 20))
    metrics = workdir / "metrics.jsonl"
    kernel = guest_path("blk_bench")
    vm = api_vmm(vms, "--debug-exit", "--console", "stdio")
    api = vm.api

    want(api, 200, "GET", "/")
    want(api, 400, "PUT", "/actions", {"action_type": "InstanceStart"})
    want(api, 204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
    want(api, 204, "PUT", "/boot-source", {"kernel_image_path": str(kernel),
                                           "boot_args": "seconds=270 requests=100000000"})
    want(api, 204, "PUT", "/drives/disk0", {"drive_id": "disk0", "path_on_host": str(disk),
                                            "is_root_device": False, "is_read_only": True})
    want(api, 204, "PUT", "/metrics", {"metrics_path": str(metrics)})
    want(api, 400, "PUT", "/metrics", {"metrics_path": str(metrics)})
    want(api, 200, "GET", "/vm/config")
    want(api, 204, "PUT", "/actions", {"action_type": "InstanceStart"})
    want(api, 400, "PUT", "/actions", {"action_type": "InstanceStart"})
    want(api, 400, "PUT", "/boot-source", {"kernel_image_path": str(kernel)})

    # the guest reads: the counter moves
    wait_until(lambda: (counter(api) or 0) > 1000, 60, "the guest's disk requests", alive=vm.alive)

    # pause with 32 requests in flight: nothing moves while paused
    t0 = time.monotonic()
    want(api, 204, "PATCH", "/vm", {"state": "Paused"})
    print(f"pause took {(time.monotonic() - t0) * 1e6:.0f} us (the client included)")
    c1 = counter(api)
    time.sleep(1)  # the check is that nothing happens over a window: it is measured, not awaited
    c2 = counter(api)
    assert c1 == c2, f"the counter moved while paused: {c1} -> {c2}"
    want(api, 200, "GET", "/vmm/state")
    want(api, 200, "GET", "/", regex='"state":"Paused"')
    want(api, 204, "PATCH", "/vm", {"state": "Paused"})
    want(api, 400, "PUT", "/actions", {"action_type": "SendCtrlAltDel"})
    want(api, 204, "PATCH", "/vm", {"state": "Resumed"})
    wait_until(lambda: counter(api) > c2, 30, f"the counter to move on after the resume (from {c2})",
               alive=vm.alive)

    # metrics: a line per flush, with the disk's counters
    want(api, 204, "PUT", "/actions", {"action_type": "FlushMetrics"})
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert lines and lines[-1]["devices"][0]["requests"] > 0 and lines[-1]["api"]["requests"] > 10, \
        f"metrics file: {metrics.read_text()[-1000:]}"

    # PATCH /drives: another file behind the running disk; bad paths keep the old one
    want(api, 204, "PATCH", "/drives/disk0", {"drive_id": "disk0", "path_on_host": str(disk2)})
    want(api, 400, "PATCH", "/drives/disk0",
         {"drive_id": "disk0", "path_on_host": "/nonexistent/x.img"})
    want(api, 400, "PATCH", "/drives/nope", {"drive_id": "nope", "path_on_host": "/x"})
    want(api, 200, "GET", "/vm/config", regex=re.escape(str(disk2)))

    # bad input with a real client library, while the guest runs
    run_lib_script("api_clients.py", vm.sock)

    # vmmctl against the real VMM
    assert os.access(paths.VMMCTL, os.X_OK), f"no vmmctl at {paths.VMMCTL}"
    print(vmmctl(vm.sock, "info").stdout)
    for step in (["pause"], ["--json", "info"], ["resume"]):
        run = vmmctl(vm.sock, *step)
        assert run.returncode == 0, f"vmmctl {step}: {run.returncode} {run.stdout} {run.stderr}"
        if step == ["--json", "info"]:
            assert "Paused" in run.stdout, f"vmmctl --json info after pause: {run.stdout}"
    print(vmmctl(vm.sock, "devices").stdout)
    # where the halt watch's last sample saw the vCPU (one a second, none while paused)
    seen = re.compile(r"^0 .* (runnable|halted) +(yes|no) +0x[0-9a-f]+ +0x[0-9a-f]+$", re.M)
    wait_until(lambda: seen.search(vmmctl(vm.sock, "vcpus").stdout), 30,
               "vmmctl vcpus to show where vCPU 0 was seen", alive=vm.alive)
    run = vmmctl(vm.sock, "vcpus")
    print(run.stdout)
    assert re.search(r"^VCPU .* total seen +IF +rip +cr3$", run.stdout, re.M), run.stdout
    run = vmmctl(vm.sock, "raw", "GET", "/nope")
    assert run.returncode == 1, f"vmmctl raw GET /nope: status {run.returncode}, want 1"
    assert vm.alive(), f"the VMM died:\n{vm.tail()}"

    # graceful stop: this guest does not react to Ctrl-Alt-Del, the deadline stops it (status 0)
    want(api, 204, "PUT", "/vmm/stop", {"timeout_ms": 1500})
    want(api, 400, "PATCH", "/vm", {"state": "Paused"})
    status = vm.wait(60)
    assert status == 0 and "did not stop in time" in vm.err, f"stop -> status {status}\n{vm.err}"
    assert not os.path.exists(vm.sock), "the socket file is left behind"
