# vmmctl against a fake API server (tests/integration/lib/fake_api_server.py): every command
# sends the right method, path and body, prints what it got (tables, summaries, --json), and exits with
# the documented status: 0 ok, 1 API error (fault_message shown) or unusable answer, 2 usage
# error, 3 socket unreachable. Malformed, huge and missing answers never crash it. Needs no KVM;
# vmmctl_vmm drives the real VMM.
# labels: api
# timeout: 300
import os
import re
import shlex
import socket
import subprocess
import sys

import pytest

from api_util import LIB
from framework.api import Api
from framework.proc import wait_until
from vmmctl_checks import Ctl, vmmctl_path


@pytest.fixture(scope="module")
def server(module_vms):
    """The fake server (its socket, its request log), up."""
    sock, log = module_vms.workdir / "api.sock", module_vms.workdir / "requests.log"
    run = module_vms.process([sys.executable, LIB / "fake_api_server.py", sock, log],
                             name="fake-server")
    wait_until(sock.exists, 60, "the fake API server's socket", alive=run.alive)
    yield run, sock, log
    assert run.alive(), f"the fake server died: {run.err}"


@pytest.fixture
def ctl(server):
    _, sock, log = server
    return Ctl(sock, log)


def mode(sock, name):
    Api(sock).want((200, 204), "PUT", "/test/mode", {"mode": name})


def vmmctl(*args, env=None):
    return subprocess.run([str(vmmctl_path()), *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env)


# --- global options and usage errors (2), never touching the socket ---------------------------
def test_version():
    run = vmmctl("--version")
    assert run.returncode == 0 and run.stdout.strip() == "vmmctl 0.1.0", f"prints {run.stdout!r}"


USAGE_LINES = ["put-vsock CID UDS_PATH", "put-balloon MIB", "patch-balloon MIB", "balloon-stats",
               "patch-balloon-stats S", r"patch-drive ID \[PATH\] \[--bw LIMIT\] \[--ops LIMIT\]",
               r"patch-net ID \[--rx-bw LIMIT\]", "snapshot-create SNAPSHOT MEM",
               "snapshot-load SNAPSHOT MEM", r"SIZE:REFILL_MS\[:BURST\]"]


def test_help():
    run = vmmctl("--help")
    out = run.stdout
    assert run.returncode == 0 and re.search(r"^Usage: vmmctl", out, re.M) \
        and "put-drive ID PATH" in out, f"usage: {out}"
    for line in USAGE_LINES:
        assert re.search(f"^  {line}", out, re.M), f"usage lacks '{line}'"


USAGE_ERRORS = [
    "", "frobnicate", "put-drive rootfs", "put-drive bad/id /img", "stop --timeout-ms x",
    "stop --timeout-ms 3600001",
    "put-machine-config --vcpus 2", "put-machine-config --vcpus 0 --mem-mib 64",
    "pause extra", "raw GET nopath", "raw BREW /", "raw PUT /actions {not-json",
    "put-drive rootfs /img --bogus", "--timeout 0 info", "--bogus info",
    "put-vsock 2 /tmp/v.sock", "put-vsock 3", "put-balloon lots", "put-balloon 8 --stats-interval 1d",
    "patch-balloon -1", "patch-balloon-stats 0", "balloon 1", "patch-drive rootfs",
    "patch-drive rootfs --bw 2M", "patch-drive rootfs --ops 0:1000", "patch-drive rootfs --bw 1:0",
    "patch-drive rootfs --bw 2X:1000", "patch-net eth0", "patch-net eth0 --rx-bw 1:1:1:1",
    "put-net eth0 tap0 --tx-ops x", "snapshot-create s m --type Half", "snapshot-load s",
    "snapshot-load s m --net net0", "snapshot-load s m --net net0,bogus=1"]


@pytest.mark.parametrize("args", USAGE_ERRORS)
def test_usage_error(ctl, args):
    ctl(*shlex.split(args)).exit(2).has_err(r"^vmmctl: .+").requests()


def test_without_a_socket():
    env = {**os.environ, "VMM_API_SOCK": ""}
    run = vmmctl("info", env=env)
    assert run.returncode == 2 and "VMM_API_SOCK" in run.stderr, \
        f"status {run.returncode}: {run.stderr}"


# --- socket unreachable (3) --------------------------------------------------------------------
def test_unreachable(workdir, server):
    _, _, log = server
    missing = workdir / "nothere.sock"
    run = vmmctl("--sock", missing, "info")
    assert run.returncode == 3 and f"{missing}: No such file" in run.stderr, \
        f"a missing socket: status {run.returncode}: {run.stderr}"
    run = vmmctl("--sock", log, "pause")
    assert run.returncode == 3 and "not a socket" in run.stderr, \
        f"a file that is not a socket: status {run.returncode}: {run.stderr}"
    dead = workdir / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(dead))  # bound, never listening
    try:
        run = vmmctl("info", env={**os.environ, "VMM_API_SOCK": str(dead)})
    finally:
        s.close()
    assert run.returncode == 3 and "Connection refused" in run.stderr, \
        f"a socket nobody listens on: status {run.returncode}: {run.stderr}"


# --- configuring before start ------------------------------------------------------------------
def test_configuring_before_start(ctl):
    ctl("info").exit(0).has_out(r"^state: +Not started").has_out(r"^app: +vmm 0\.1\.0") \
        .has_out(r"^uptime: +12\.345 s").requests("GET / null", "GET /vmm/state null")
    ctl("put-machine-config", "--vcpus", 2, "--mem-mib", 512).exit(0).requests(
        'PUT /machine-config {"vcpu_count": 2, "mem_size_mib": 512, "smt": false}')
    ctl("put-machine-config", "--mem-mib=128", "--vcpus=1", "--smt").exit(0).requests(
        'PUT /machine-config {"vcpu_count": 1, "mem_size_mib": 128, "smt": true}')
    ctl("put-boot-source", "/k/bzImage", "--initrd", "/k/initrd.img", "--args",
        "console=ttyS0 quiet").exit(0).requests(
        'PUT /boot-source {"kernel_image_path": "/k/bzImage", "initrd_path": "/k/initrd.img", '
        '"boot_args": "console=ttyS0 quiet"}')
    ctl("put-boot-source", "/k/vmlinux").exit(0).requests(
        'PUT /boot-source {"kernel_image_path": "/k/vmlinux"}')
    ctl("put-drive", "rootfs", "/img/my root.ext4", "--root", "--ro").exit(0).requests(
        'PUT /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/my root.ext4", '
        '"is_root_device": true, "is_read_only": true}')
    ctl("put-drive", "data", "/img/data.img").exit(0).requests(
        'PUT /drives/data {"drive_id": "data", "path_on_host": "/img/data.img", '
        '"is_root_device": false, "is_read_only": false}')
    ctl("put-net", "eth0", "tap0", "--mac", "52:54:00:ab:cd:ef").exit(0).requests(
        'PUT /network-interfaces/eth0 {"iface_id": "eth0", "host_dev_name": "tap0", '
        '"guest_mac": "52:54:00:ab:cd:ef"}')
    ctl("put-net", "eth1", "tap1").exit(0).requests(
        'PUT /network-interfaces/eth1 {"iface_id": "eth1", "host_dev_name": "tap1"}')
    ctl("set-metrics", "/tmp/metrics.json").exit(0).requests(
        'PUT /metrics {"metrics_path": "/tmp/metrics.json"}')

    # API errors (1): the fault_message and the HTTP code on stderr, nothing on stdout
    ctl("pause").exit(1).has_err(r"^vmmctl: the microVM is not running \(HTTP 400\)$") \
        .requests('PATCH /vm {"state": "Paused"}')
    ctl("patch-drive", "rootfs", "/img/other.ext4").exit(1) \
        .has_err(r"not supported before starting the microVM\. \(HTTP 400\)") \
        .requests('PATCH /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/other.ext4"}')

    ctl("config").exit(0).has_out(r"^machine: +1 vCPUs, 128 MiB, smt yes") \
        .has_out(r"^kernel: +/k/vmlinux").has_out(r"^  rootfs +/img/my root\.ext4 \(root\) \(read-only\)") \
        .has_out(r"^  eth0 +tap0 mac 52:54:00:12:34:56").requests("GET /vm/config null")


# --- lifecycle -----------------------------------------------------------------------------------
def test_lifecycle(ctl):
    ctl("start").exit(0).requests('PUT /actions {"action_type": "InstanceStart"}')
    ctl("start").exit(1).has_err(r"not supported after starting the microVM\. \(HTTP 400\)")
    ctl("put-drive", "late", "/img/late.img").exit(1).has_err("after starting")
    ctl("patch-drive", "rootfs", "/img/other.ext4").exit(0).requests(
        'PATCH /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/other.ext4"}')
    ctl("patch-drive", "rootfs", "/img/third.ext4", "--bw", "2M:1000:512K", "--ops", "0").exit(0) \
        .requests('PATCH /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/third.ext4", '
                  '"rate_limiter": {"bandwidth": {"size": 2097152, "refill_time": 1000, '
                  '"one_time_burst": 524288}, "ops": {"size": 0, "refill_time": 0}}}')
    ctl("pause").exit(0).requests('PATCH /vm {"state": "Paused"}')
    ctl("info").exit(0).has_out(r"^state: +Paused").has_out(r"^paused: +yes")
    ctl("--json", "info").exit(0).has_out(r'"instance": \{').has_out(r'"paused": true')
    ctl("resume").exit(0).requests('PATCH /vm {"state": "Resumed"}')
    ctl("ctrl-alt-del").exit(0).requests('PUT /actions {"action_type": "SendCtrlAltDel"}')
    ctl("power-button").exit(0).requests('PUT /actions {"action_type": "PowerButton"}')
    ctl("flush-metrics").exit(0).requests('PUT /actions {"action_type": "FlushMetrics"}')

    ctl("devices").exit(0) \
        .has_out(r"^DEVICE +ID TRANSPORT +requests +bytes +errors +stalls +kicks +interrupts") \
        .has_out(r"^virtio-blk0 +2 mmio +1234 +5046272 +0 +3 +900 +870$") \
        .has_out(r"^virtio-net0 +1 pci +77 ").requests("GET /vmm/devices null")
    assert ctl("--json", "devices").exit(0).json()[0]["bytes"] == 5046272, \
        f"--json devices: {ctl.out}"
    ctl("vcpus").exit(0).has_out(r"^VCPU +io +mmio +hlt +total").has_out(r"^0 +4242 +17 +3 +4262$") \
        .has_out(r"^1 +5 +6 +7 +18$").requests("GET /vmm/vcpus null")
    ctl("metrics").exit(0).has_out(r"^api: +42 requests, 2 errors") \
        .has_out(r"^timestamp: +1700000000000 ms").has_out(r"^virtio-blk0 +2 mmio") \
        .has_out(r"^0 +4242 +17 +3 +4262$").requests("GET /vmm/metrics null")
    assert ctl("--json", "metrics").exit(0).json()["api"]["requests"] == 42, \
        f"--json metrics: {ctl.out}"

    # raw: any method and path; the answer as it came
    ctl("raw", "GET", "/machine-config").exit(0).has_out('"mem_size_mib": 128') \
        .requests("GET /machine-config null")
    ctl("raw", "put", "/actions", '{"action_type": "FlushMetrics"}').exit(0) \
        .requests('PUT /actions {"action_type": "FlushMetrics"}')
    ctl("raw", "GET", "/no/such/path").exit(1) \
        .has_err(r"^vmmctl: unknown path /no/such/path \(HTTP 404\)$")
    ctl("raw", "DELETE", "/actions").exit(1).has_err(r"\(HTTP 405\)$") \
        .requests("DELETE /actions null")

    ctl("stop").exit(0).requests('PUT /vmm/stop {"timeout_ms": 10000}')
    ctl("stop", "--timeout-ms", 2500).exit(0).requests('PUT /vmm/stop {"timeout_ms": 2500}')
    ctl("info").has_out(r"^state: +Stopping")


# --- answers vmmctl cannot use: status 1 (3 when nothing comes), a message, no crash ----------
def test_unusable_answers(ctl, server):
    _, sock, _ = server
    try:
        mode(sock, "badjson")
        ctl("info").exit(1).has_err("malformed JSON")
        mode(sock, "wrongshape")
        ctl("devices").exit(1).has_err("not shaped as expected")
        ctl("vcpus").exit(1)
        ctl("config").exit(1)
        mode(sock, "huge")
        ctl("metrics").exit(1).has_err("larger than 1048576 bytes")
        mode(sock, "endless")
        ctl("devices").exit(1).has_err("larger than 1048576 bytes")
        mode(sock, "garbage")
        ctl("info").exit(1).has_err("malformed answer")
        mode(sock, "plain404")
        ctl("pause").exit(1).has_err(r"no fault_message in the answer: nothing here \(HTTP 404\)")
        mode(sock, "close")
        ctl("info").exit(3).has_err("no answer")
        mode(sock, "hang")
        ctl("--timeout", 2, "info").exit(3).has_err("no answer within 2 s")
    finally:
        mode(sock, "normal")
    ctl("raw", "GET", "/").exit(0)


# --- $VMM_API_SOCK -------------------------------------------------------------------------------
def test_vmm_api_sock_variable(server):
    _, sock, log = server
    log.write_text("")
    run = vmmctl("info", env={**os.environ, "VMM_API_SOCK": str(sock)})
    assert run.returncode == 0 and re.search(r"^id: *vmm", run.stdout, re.M), \
        f"status {run.returncode}: {run.stdout}"
