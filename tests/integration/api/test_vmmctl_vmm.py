# vmmctl against the real VMM (vmm --api-sock): the snap_counter test guest configured and started
# by vmmctl alone (machine, boot source, a drive with a rate limit, a balloon, a vsock); then
# the drive's rate limits patched and removed, the balloon's target and statistics interval
# changed, the VM paused and saved by snapshot-create, and the snapshot loaded into a second
# VMM by snapshot-load --resume. Each effect is checked in the VMM's own answers (config,
# --json config, balloon, balloon-stats, info), its files and sockets and the guest's output.
# (vmmctl checks every command against a fake server.)
# labels: api
# requires: kvm
# timeout: 300
import re
import stat

from framework import host
from framework.guests import guest_path
from vmmctl_checks import Ctl


def start_vmm(vms, workdir, name):
    """A VMM with its API socket up, waiting for its configuration."""
    return vms.start(["--landlock-rules", f"{workdir}:rw", "--debug-exit", "--console", "stdio"],
                     name=name, api=True)


def is_socket(path):
    return path.exists() and stat.S_ISSOCK(path.stat().st_mode)


def test_vmmctl_on_the_vmm(vms, workdir):
    host.require("kvm")
    data = workdir / "data.img"
    uds = workdir / "vsock.sock"
    snap = workdir / "snap"
    with open(data, "wb") as f:
        f.truncate(1 << 20)
    snap.mkdir()
    # snap_counter: a test guest that computes in ring 3 and prints SNAP-PROGRESS as it goes;
    # with this many steps it runs until stopped, and without its disk it leaves the drive alone.
    kernel = guest_path("snap_counter")
    vm = start_vmm(vms, workdir, "vmm1")
    ctl = Ctl(vm.sock)
    ctl("put-machine-config", "--vcpus", 1, "--mem-mib", 128).exit(0)
    ctl("put-boot-source", kernel, "--args", "steps=1000000000 disk=0").exit(0)
    ctl("put-drive", "data", data, "--ops", "1000:1000").exit(0)
    ctl("put-balloon", 16, "--deflate-on-oom", "--stats-interval", 1).exit(0)
    ctl("put-vsock", 3, uds).exit(0)
    ctl("balloon").exit(0).has_out(r"^target: +16 MiB$").has_out(r"^statistics: +every 1 s$") \
        .has_out(r"^deflate-on-oom: +yes$")
    ctl("config").exit(0).has_out(rf"^  data +{re.escape(str(data))} ops=1000:1000$") \
        .has_out(rf"^vsock: +cid 3, {re.escape(str(uds))}$") \
        .has_out(r"^balloon: +16 MiB, deflate-on-oom yes, statistics every 1 s")
    ctl("patch-balloon", 32).exit(1).has_err("not supported before starting")
    ctl("start").exit(0)
    vm.wait_out(r"^SNAP-PROGRESS", 60)  # the guest runs
    assert is_socket(uds), f"no vsock socket {uds}"

    # drive rate limits: set on the running drive, shown by GET /vm/config, then removed
    ctl("patch-drive", "data", "--bw", "2M:1000:1M", "--ops", "500:1000").exit(0)
    limiter = ctl("--json", "config").json()["drives"][0]["rate_limiter"]
    assert limiter == {"bandwidth": {"size": 2097152, "one_time_burst": 1048576, "refill_time": 1000},
                       "ops": {"size": 500, "one_time_burst": 0, "refill_time": 1000}}, limiter
    data_line = rf"^  data +{re.escape(str(data))} "
    ctl("config").has_out(data_line + r"bw=2M:1000:1M ops=500:1000$")
    ctl("patch-drive", "data", "--ops", "700:1000").exit(0)  # the bandwidth limit stays as it is
    ctl("config").has_out(data_line + r"bw=2M:1000:1M ops=700:1000$")
    ctl("patch-drive", "data", "--bw", "2X:1000").exit(2)
    ctl("patch-drive", "nope", "--ops", "1:1").exit(1).has_err(r"no drive with id `nope` \(HTTP 400\)")
    ctl("patch-drive", "data", "--bw", 0, "--ops", 0).exit(0)
    drive = ctl("--json", "config").json()["drives"][0]
    assert "rate_limiter" not in drive and drive["drive_id"] == "data", drive
    ctl("patch-net", "nope", "--rx-bw", "1M:1000").exit(1) \
        .has_err(r"no network interface with id `nope` \(HTTP 400\)")

    # the balloon: a new target (this guest has no balloon driver: actual stays 0) and interval
    ctl("patch-balloon", 32).exit(0)
    balloon = ctl("--json", "balloon").json()
    assert balloon["amount_mib"] == 32 and balloon["actual_mib"] == 0 and balloon["deflate_on_oom"], \
        balloon
    ctl("patch-balloon", 4096).exit(1).has_err("more than the guest")
    ctl("patch-balloon-stats", 5).exit(0)
    ctl("balloon").has_out(r"^target: +32 MiB$").has_out(r"^actual: +0 MiB$") \
        .has_out(r"^statistics: +every 5 s$")
    ctl("balloon-stats").exit(0).has_out(r"^target: +32\.0 MiB \(8192 pages\)$") \
        .has_out(r"^actual: +0\.0 MiB \(0 pages\)$")

    # limits as they are at the snapshot (not as at start: ops=1000:1000), for the load below
    ctl("patch-drive", "data", "--ops", "300:1000").exit(0)

    # a snapshot: refused while running, written once paused
    state, memory = snap / "state", snap / "memory"
    ctl("snapshot-create", state, memory).exit(1).has_err("pause it first")
    ctl("pause").exit(0)
    ctl("snapshot-create", state, memory, "--type", "Diff").exit(1).has_err("dirty-page tracking")
    ctl("snapshot-create", state, memory).exit(0)
    assert state.exists() and state.stat().st_size > 0, f"no {state}"
    assert memory.stat().st_size == 128 << 20, f"memory file: {memory.stat().st_size} bytes"
    vm.signal(9)
    vm.wait(10)

    # snapshot-load into a second VMM that waits for its configuration
    uds.unlink(missing_ok=True)
    vm = start_vmm(vms, workdir, "vmm2")
    ctl = Ctl(vm.sock)
    ctl("balloon").exit(1).has_err("No balloon device configured")
    ctl("snapshot-load", state, snap / "nothere").exit(1).has_err("nothere")
    ctl("info").has_out(r"^state: +Not started$")
    ctl("snapshot-load", state, memory, "--resume").exit(0)
    ctl("info").has_out(r"^state: +Running$")
    ctl("balloon").has_out(r"^target: +32 MiB$").has_out(r"^statistics: +every 5 s$")
    # the configuration is the snapshotted VM's: the drive's id, its limits and the balloon
    # as they were at the snapshot (PATCHes included), and the drive can be patched by its id
    ctl("config").has_out(data_line + r"ops=300:1000$") \
        .has_out(rf"^vsock: +cid 3, {re.escape(str(uds))}$") \
        .has_out(r"^balloon: +32 MiB, deflate-on-oom yes, statistics every 5 s")
    ctl("patch-drive", "data", "--bw", "1M:1000").exit(0)
    drive = ctl("--json", "config").json()["drives"][0]
    assert drive["drive_id"] == "data" and drive["rate_limiter"]["bandwidth"]["size"] == 1048576 \
        and drive["rate_limiter"]["ops"]["size"] == 300, drive
    vm.wait_out(r"^SNAP-PROGRESS", 60)  # the restored guest runs on (this VMM's own console)
    assert is_socket(uds), f"no restored vsock socket {uds}"
    ctl("stop", "--timeout-ms", 500).exit(0)  # the guest ignores Ctrl-Alt-Del: the deadline stops it
    status = vm.wait(60)
    assert status == 0, f"vmm after vmmctl stop: status {status}\n{vm.tail()}"
