"""api: the control plane while the guest keeps 32 disk requests in flight: status round trip and
pause."""

import os
import statistics
import threading
import time

from .control import ApiClient
from .runner import available, rounds
from .vm import run_vm


def api_measure(impl, sock, out, quick):
    try:
        time.sleep(1.0)  # the guest's queue is full by now
        c = ApiClient(impl, sock)
        lat = sorted(c.timed("status") for _ in range(30 if quick else 300))
        pauses = []
        for _ in range(3 if quick else 10):
            pauses.append(c.timed("pause"))
            time.sleep(0.05)
            c.timed("resume")
            time.sleep(0.1)
        out.update(median=statistics.median(lat), p99=lat[min(len(lat) - 1, int(len(lat) * 0.99))],
                   pause=statistics.median(pauses))
    except (OSError, ValueError) as e:
        out["error"] = str(e)


def bench_api(env, res, a):
    if not os.path.exists(env.guest("blk_bench")):
        res.note("api: skipped: blk_bench guest missing")
        return
    impls = available(env, res, "api", ["blk_bench"])
    disk = os.path.join(env.tmp, "api.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(64 << 20))
    # The guest keeps its queue full for longer than the measurement can take on a loaded host;
    # the VM is stopped as soon as the measurement ends (it used to race a 6 s guest run).
    args = "qd=32 seconds=100 requests=1000000000"
    for i, impl in rounds(impls, a.runs):
        sock = os.path.join(env.tmp, f"api{i}{impl}.sock")
        qemu = ["-global", "virtio-mmio.force-legacy=false",
                "-drive", f"id=d0,file={disk},format=raw,if=none,readonly=on",
                "-device", "virtio-blk-device,drive=d0", "-qmp", f"unix:{sock},server=on,wait=off"]
        got, started = {}, []

        def react(buf):
            if not started and b"disk:" in buf:
                t = threading.Thread(target=api_measure, args=(impl, sock, got, a.quick))
                t.start()
                started.append(t)

        r = run_vm(env.cmd(impl, env.guest("blk_bench"), args,
                           ["--api-sock", sock, "--disk", f"{disk},ro"], qemu),
                   {"pass": b"TEST PASS"}, timeout=120, react=react,
                   stop_when=lambda: bool(started) and not started[0].is_alive())
        for t in started:
            t.join()
        if "median" not in got:
            res.fail("api", impl, got.get("error", "the guest never started"), r)
            continue
        res.add("api", "status request round trip, median", "µs", "lower", impl, got["median"] / 1e3)
        res.add("api", "status request round trip, p99", "µs", "lower", impl, got["p99"] / 1e3)
        res.add("api", "pause answered, 32 disk requests in flight", "µs", "lower", impl,
                got["pause"] / 1e3)
    res.note("api: blk_bench guest at queue depth 32 (64 MiB file, read-only); ours HTTP on "
             "--api-sock, QEMU QMP on -qmp; one connection each, requests back to back.")
