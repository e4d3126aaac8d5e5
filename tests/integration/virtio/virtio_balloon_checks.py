"""The checks of test_virtio_balloon.py and test_virtio_balloon_pci.py (one per transport): each
test file defines the `transport` fixture and imports these tests. The VMM's RSS is read from
/proc/PID/status (VmRSS) and waited for: the pages go back to the host a little after the guest
says it gave them."""
import json
import socket

from framework import host
from framework.guests import (expect_output, expect_pass, guest_path, guest_transport_args,
                              qemu_model, qemu_transport, transport_args)
from framework.proc import wait_until

WAIT = 120  # the guest's steps: a slow host takes its time


def guest_args(transport):
    return f"{guest_transport_args(transport)} touch=384M start=64M changes=2 report=64M wait=120"


def rss_mib(run):
    with open(f"/proc/{run.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError(f"{run.name}: no VmRSS (the process ended?)")


def wait_rss(run, predicate, what, timeout=30):
    """Waits until PREDICATE(RSS in MiB) holds; returns that RSS. Fails with the last one seen."""
    seen = []

    def check():
        seen.append(rss_mib(run))
        return predicate(seen[-1])
    try:
        wait_until(check, timeout, what, alive=run.alive)
    except AssertionError as e:
        raise AssertionError(f"{e} (RSS {seen[0] if seen else '?'} -> "
                             f"{seen[-1] if seen else '?'} MiB)\n{run.tail()}") from None
    print(f"{what}: RSS {seen[-1]} MiB")
    return seen[-1]


def start_vmm(vms, workdir, transport, *args, api=True):
    return vms.start(["--landlock-rules", f"{workdir}:rw", "--kernel", guest_path("virtio_balloon"),
                      "--debug-exit", "--console", "stdio", "--mem", "512M",
                      *transport_args(transport), *args], name="vmm-virtio_balloon", api=api)


def end(run, timeout=60):
    run.status = run.wait(timeout)
    return run


def test_api_inflate_deflate_report(vms, workdir, transport):
    """1-3 through the API, then bad API input (5)."""
    vm = start_vmm(vms, workdir, transport,
                   "--balloon", "size=0,stats=1s,deflate-on-oom=on,free-page-reporting=on",
                   "--append", guest_args(transport))
    api = vm.api
    vm.wait_out(r"^BALLOON ready target=0 ", WAIT)
    touched = wait_rss(vm, lambda r: r >= 384, "384 MiB touched")
    assert api.want(200, "GET", "/balloon").json()["amount_mib"] == 0

    # 1. inflate 256 MiB of 512: the RSS drops by at least 200 MiB
    api.want(204, "PATCH", "/balloon", {"amount_mib": 256})
    vm.wait_out(r"^BALLOON actual=65536 ", WAIT)
    inflated = wait_rss(vm, lambda r: touched - r >= 200, "inflate 256 MiB of 512")
    assert api.want(200, "GET", "/balloon").json()["actual_mib"] == 256

    # 2. deflate: the guest touches the pages again and the RSS comes back up
    api.want(204, "PATCH", "/balloon", {"amount_mib": 0})
    vm.wait_out(r"^BALLOON actual=0 ", WAIT)
    wait_rss(vm, lambda r: r - inflated >= 200, "deflate (RSS back up)")

    # 3. free page reporting of 64 MiB just touched: the RSS drops by at least 48 MiB
    vm.wait_out(r"^BALLOON report-ready", WAIT)
    report = wait_rss(vm, lambda r: r >= 384 + 64, "64 MiB more touched")
    # The guest prints its count of statistics refreshes once it has reported, and sends the
    # count as minor_faults: wait for the device's 1 s timer to have asked once first (on an
    # idle host the steps above take less than a second).
    wait_until(lambda: (api.get("/balloon/statistics").json() or {}).get("minor_faults", 0) >= 1,
               WAIT, "a statistics refresh (minor_faults >= 1)", alive=vm.alive)
    api.want(204, "PATCH", "/balloon", {"amount_mib": 1})
    vm.wait_out(r"^BALLOON reported=67108864", WAIT)
    wait_rss(vm, lambda r: report - r >= 48, "free page reporting of 64 MiB")

    stats = api.want(200, "GET", "/balloon/statistics").json()
    for field in ("target_pages", "actual_pages", "total_memory", "free_memory", "minor_faults"):
        assert field in stats, f"statistics lack {field}: {stats}"
    api.want(204, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 2})
    # 5. bad input: above RAM, an unknown field, a zero interval, PUT after the start
    api.want(400, "PATCH", "/balloon", {"amount_mib": 513})
    api.want(400, "PATCH", "/balloon", {"amount_mib": 1, "what": 2})
    api.want(400, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 0})
    api.want(400, "PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": False})
    api.want(204, "PATCH", "/balloon", {"amount_mib": 2})  # the guest's cue to finish
    expect_pass(end(vm))
    expect_output(vm, r"^BALLOON done stats-refreshes=[1-9]")


def test_size_without_api(vms, workdir, transport):
    """4. --balloon size=64 without the API: the guest inflates 64 MiB at once."""
    vm = start_vmm(vms, workdir, transport, "--balloon", "size=64",
                   "--append", f"{guest_transport_args(transport)} touch=128M changes=0 wait=2",
                   api=False)
    vm.wait_out(r"^BALLOON actual=16384 ", WAIT)
    wait_rss(vm, lambda r: r < 100, "--balloon size=64 with 128 MiB touched: RSS < 100 MiB")
    end(vm)
    expect_output(vm, r"^BALLOON ready target=16384 ")
    # the guest gave up waiting for a change: it ran to the end
    expect_output(vm, r"num_pages stayed 16384")


def test_statistics_off(vms, workdir, transport):
    """5. statistics not enabled: their routes answer 400; the balloon still works."""
    vm = start_vmm(vms, workdir, transport, "--balloon", "size=0",
                   "--append", f"{guest_transport_args(transport)} touch=4M changes=1 wait=60")
    vm.wait_out(r"^BALLOON ready", WAIT)
    vm.api.want(400, "GET", "/balloon/statistics")
    vm.api.want(400, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 5})
    vm.api.want(204, "PATCH", "/balloon", {"amount_mib": 1})
    vm.wait_out(r"^BALLOON actual=256 ", WAIT)
    vm.api.want(204, "PATCH", "/balloon", {"amount_mib": 0})
    expect_pass(end(vm))


def test_snapshot_with_statistics(vms, workdir, transport):
    """6. a snapshot taken while the device holds the statistics buffer, restored by a new VMM:
    target, actual and statistics survive, and the guest goes on following the target."""
    vm = start_vmm(vms, workdir, transport, "--balloon", "size=0,stats=1s",
                   "--append", f"{guest_transport_args(transport)} touch=64M changes=2 wait=60")
    vm.wait_out(r"^BALLOON ready", WAIT)
    vm.api.want(204, "PATCH", "/balloon", {"amount_mib": 16})
    vm.wait_out(r"^BALLOON actual=4096 ", WAIT)
    # a statistics round trip done (the guest counts its refreshes in minor_faults): the device
    # holds the buffer the guest gave back
    wait_until(lambda: (vm.api.get("/balloon/statistics").json() or {}).get("minor_faults", 0) >= 1,
               30, "a statistics refresh", alive=vm.alive)
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    snap = workdir / "snap"
    snap.mkdir()
    vm.api.want(204, "PUT", "/snapshot/create",
                {"snapshot_path": str(snap / "state"), "mem_file_path": str(snap / "memory")})
    vm.stop(grace=0)

    restored = vms.start(["--restore", snap], name="vmm-restore", api=True)
    assert restored.api.want(200, "GET", "/balloon").json()["actual_mib"] == 16
    assert "total_memory" in restored.api.want(200, "GET", "/balloon/statistics").json()
    restored.api.want(204, "PATCH", "/balloon", {"amount_mib": 0})
    restored.wait_out(r"^BALLOON actual=0 stats-refreshes=[1-9]", WAIT)
    restored.api.want(204, "PATCH", "/balloon", {"amount_mib": 1})
    expect_pass(end(restored))


def qmp_balloon(sock, guest_mib):
    """QEMU's "balloon" takes the guest size it wants, in bytes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock))
        f = s.makefile("rw")
        f.readline()
        for cmd in ({"execute": "qmp_capabilities"},
                    {"execute": "balloon", "arguments": {"value": guest_mib << 20}}):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                answer = json.loads(f.readline())
                if "return" in answer or "error" in answer:
                    break
            assert "error" not in answer, f"QMP {cmd}: {answer['error']}"


def test_qemu(vms, workdir, transport):
    """7. the guest of 1-3 on QEMU, the target set over QMP."""
    host.require("qemu")
    machine, extra, opts = qemu_transport(transport)
    qmp = workdir / "qmp.sock"
    run = vms.qemu(["-M", machine, "-m", "512M", "-serial", "stdio",
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", *extra,
                    "-device", f"{qemu_model(transport, 'balloon')}{opts},free-page-reporting=on",
                    "-qmp", f"unix:{qmp},server=on,wait=off",
                    "-kernel", guest_path("virtio_balloon"), "-append", guest_args(transport)],
                   name="qemu-virtio_balloon")
    run.wait_out(r"^BALLOON ready target=0 ", WAIT)
    before = wait_rss(run, lambda r: r >= 384, "QEMU: 384 MiB touched")
    qmp_balloon(qmp, 256)
    run.wait_out(r"^BALLOON actual=65536 ", WAIT)
    wait_rss(run, lambda r: before - r >= 200, "QEMU: inflate 256 MiB of 512")
    qmp_balloon(qmp, 512)
    run.wait_out(r"^BALLOON actual=0 ", WAIT)
    run.wait_out(r"^BALLOON report-ready", WAIT)
    before = wait_rss(run, lambda r: r >= 384 + 64, "QEMU: 64 MiB more touched")
    qmp_balloon(qmp, 511)
    run.wait_out(r"^BALLOON reported=", WAIT)
    wait_rss(run, lambda r: before - r >= 48, "QEMU: free page reporting of 64 MiB")
    qmp_balloon(qmp, 510)
    expect_pass(end(run))
