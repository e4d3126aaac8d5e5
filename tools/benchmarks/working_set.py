"""working-set: restore to the guest's first answer, cold against with a recorded working set
(docs/snapshots.md, "Working-set restore"), ours only. The ws_touch guest (256 MiB) fills
64 MiB (--quick 32 MiB), is snapshotted while it waits, and after every restore writes a word of
every page of the first half again and reads one of every page of the second, then prints
WS-ANSWER on its serial console: the first answer. One restore with
"working_set": "record" and PUT /vmm/working-set records the list; then each round (order
alternating) restores with mem_backend File and Uffd (vmm-uffd-handler, lazy; given the list
with --working-set too when the restore loads it), each with "working_set": "off" (cold) and
"load", each with the memory file in the host's page cache (evicted, then read whole in order:
the same cache for every case) and evicted from it (posix_fadvise DONTNEED on the file: a
snapshot not used lately). Rows: ms
from PUT /snapshot/load to WS-ANSWER on the VMM's stdout, and the guest's own time for its read
(TSC cycles: the part a working set shortens, less noisy on a loaded host). Target (issue 53): 3x faster with the
working set."""

import os
import subprocess
import time

from .control import ApiClient
from .vm import LiveVM

MEM_MIB = 256


def _evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _prime(path):
    """The file evicted, then read whole in order: cached in the folios readahead makes (the
    size of the page cache's folios decides whether KVM can map 2 MiB at once, so every cached
    case starts from the same cache, not from what the case before it left)."""
    _evict(path)
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def _handler(env, snap, tag, ws):
    """vmm-uffd-handler serving the snapshot's memory; with ws == "load" it is given the working
    set too (--working-set: it copies those pages at once)."""
    hsock = os.path.join(env.tmp, f"ws-uffd-{tag}.sock")
    hbin = os.path.join(os.path.dirname(env.vmm), "vmm-uffd-handler")
    extra = ["--working-set", os.path.join(snap, "state.working-set")] if ws == "load" else []
    h = subprocess.Popen([hbin, "--timeout", "60"] + extra + [hsock, os.path.join(snap, "memory")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(hsock):
        if time.monotonic() > deadline or h.poll() is not None:
            h.kill()
            raise OSError(f"{hbin} did not listen on {hsock}")
        time.sleep(0.001)
    return h, hsock


def _restore(env, snap, backend, ws, tag, stop_record=False):
    """(ms from PUT /snapshot/load to WS-ANSWER, the guest's read in TSC Mcycles); with
    stop_record, the recording then stopped."""
    sock = os.path.join(env.tmp, f"ws-{tag}.sock")
    h, mem = (None, os.path.join(snap, "memory"))
    if backend == "Uffd":
        h, mem = _handler(env, snap, tag, ws)
    vm = LiveVM([env.vmm, "--api-sock", sock, "--landlock-rules", f"{env.tmp}:rw"],
                watch={"answer": b"WS-ANSWER"})
    try:
        c = ApiClient("vmm", sock, poll=0.001, timeout=30)
        t0 = time.monotonic_ns()
        status, body = c._http("PUT", "/snapshot/load", {
            "snapshot_path": os.path.join(snap, "state"), "resume_vm": True,
            "mem_backend": {"backend_type": backend, "backend_path": mem}, "working_set": ws})
        if b" 204 " not in status:
            raise OSError(f"load: {status.decode().strip()} {body.decode(errors='replace')}")
        seen = vm.wait_seen("answer", 120)
        if seen is None:
            raise OSError(f"no WS-ANSWER: {vm.err_so_far().decode(errors='replace')[-300:]}")
        ms = (vm.t0 + seen - t0) / 1e6
        m = vm.wait_match(rb"WS-ANSWER sum=\w+ read_cycles=(\d+)\r?\n", 5)
        cycles = int(m.group(1)) / 1e6 if m else None
        if stop_record:
            status, body = c._http("PUT", "/vmm/working-set", {"action": "stop"})
            if b" 200 " not in status:
                raise OSError(f"working-set stop: {status.decode().strip()} {body!r}")
        c.close()
        return ms, cycles
    finally:
        vm.stop()
        if h:
            try:
                h.wait(timeout=10)
            except subprocess.TimeoutExpired:
                h.kill()
                h.wait()


def _template(env, snap, touch_mib):
    sock = os.path.join(env.tmp, "ws-template.sock")
    vm = LiveVM(env.vmm_cmd(env.guest("ws_touch"), f"touch={touch_mib}M write={touch_mib // 2}M",
                            ["--api-sock", sock, "--landlock-rules", f"{env.tmp}:rw"]) +
                ["--mem", f"{MEM_MIB}M"], watch={"ready": b"WS-READY"})
    try:
        if vm.wait_seen("ready", 120) is None:
            raise OSError("ws_touch: no WS-READY: " + vm.err_so_far().decode(errors="replace"))
        c = ApiClient("vmm", sock, timeout=60)
        for method, path, body in (("PATCH", "/vm", {"state": "Paused"}),
                                   ("PUT", "/snapshot/create", {
                                       "snapshot_type": "Full",
                                       "snapshot_path": os.path.join(snap, "state"),
                                       "mem_file_path": os.path.join(snap, "memory")})):
            status, answer = c._http(method, path, body)
            if b" 204 " not in status:
                raise OSError(f"{path}: {status.decode().strip()} {answer!r}")
        c.close()
    finally:
        vm.stop()


def bench_working_set(env, res, a):
    if not os.path.exists(env.guest("ws_touch")):
        res.note("working-set: skipped: ws_touch guest missing")
        return
    touch = 32 if a.quick else 64
    snap = os.path.join(env.tmp, "ws-snap")
    os.makedirs(snap, exist_ok=True)
    try:
        _template(env, snap, touch)
        _restore(env, snap, "File", "record", "rec", stop_record=True)
    except OSError as e:
        res.fail("working-set", "vmm", str(e))
        return
    cases = [(b, ws, cache) for b in ("File", "Uffd") for ws in ("off", "load")
             for cache in ("cached", "evicted")]
    for run in range(a.runs):
        for i, (backend, ws, cache) in enumerate(cases if run % 2 == 0 else cases[::-1]):
            (_evict if cache == "evicted" else _prime)(os.path.join(snap, "memory"))
            try:
                ms, cycles = _restore(env, snap, backend, ws, f"{run}-{i}")
            except OSError as e:
                res.fail("working-set", "vmm", f"{backend} working_set {ws} ({cache}): {e}")
                continue
            what = "cold" if ws == "off" else "with its working set"
            res.add("working-set", f"{backend}, memory file {cache}: restore to first answer, "
                    f"{what}", "ms", "lower", "vmm", ms)
            if cycles is not None:
                res.add("working-set", f"{backend}, memory file {cache}: the guest's read after "
                        f"the restore, {what}", "Mcycles", "lower", "vmm", cycles)
    res.note(f"working-set: ws_touch ({MEM_MIB} MiB) writes {touch // 2} MiB and reads "
             f"{touch // 2} MiB after each restore, then "
             "answers on its serial console; a working set recorded once (record + PUT "
             "/vmm/working-set); File and Uffd (lazy handler; with the working set also given it with "
             "--working-set), cold (working_set off) and with it, the memory file cached or evicted (fadvise DONTNEED); target: 3x faster")
