"""fork: live fork of a running guest (PUT /vmm/fork, docs/sandboxes.md), ours only (neither
QEMU nor Firecracker forks a running VM). The snap_counter guest (256 MiB, RAM in a memfd) is
forked ~1 s into its run into N children (--quick 4, else 10), half of them VMMs already
waiting on their API sockets (a warm pool), half started after the fork's answer (cold); each
child's PUT /snapshot/load is sent at once, all in parallel. Rows: the parent's pause (the
answer's pause_us) and what the fork adds to a pause (state collected + RAM remapped), the
request to the fork's answer, the request to a child running (its load answered) warm and cold,
and the private memory per child (Private_Clean + Private_Dirty after ~2 s). Targets (issue 53):
pause < 5 ms, a child running < 10 ms after the request, private memory per child at most a
restored clone's (the snapshot bench's clone rows). Then, in each run, a second parent forked
into one warm child alone: the request to it running, the VMM's own latency without the other
children's guests (snap_counter spins its CPU) and cold starts sharing the CPUs."""

import json
import os
import statistics
import subprocess
import threading
import time

from .control import ApiClient
from .vm import LiveVM, reap, smaps_rollup


def _load(sock, body, t0, out, i):
    """Child i's PUT /snapshot/load; out[i] = ns from t0 to its answer (None: it failed)."""
    try:
        c = ApiClient("vmm", sock, poll=0.0002, timeout=30)
        status, _ = c._http("PUT", "/snapshot/load", body)
        out[i] = time.monotonic_ns() - t0 if b" 204 " in status else None
        c.close()
    except OSError:
        out[i] = None


def _fork_once(env, res, run, n, lone=False):
    tmp = os.path.join(env.tmp, f"fork{run}{'-lone' if lone else ''}")
    os.makedirs(tmp, exist_ok=True)
    psock = os.path.join(tmp, "parent.sock")
    parent = LiveVM(env.vmm_cmd(env.guest("snap_counter"), "disk=0 steps=100000",
                                ["--mem-shared", "--api-sock", psock,
                                 "--landlock-rules", f"{tmp}:rw"]))
    warm, procs = (1 if lone else n // 2), []
    socks = [os.path.join(tmp, f"c{i}.sock") for i in range(n)]
    devnull = subprocess.DEVNULL
    try:
        for i in range(warm):
            procs.append(subprocess.Popen([env.vmm, "--api-sock", socks[i]], stdin=devnull,
                                          stdout=devnull, stderr=devnull))
        time.sleep(1.0)
        c = ApiClient("vmm", psock, timeout=30)
        for i in range(warm):
            ApiClient("vmm", socks[i], timeout=30).close()
        body = {"state_path": os.path.join(tmp, "state"),
                "children": [{"api_socket": s} for s in socks]}
        t0 = time.monotonic_ns()
        status, answer = c._http("PUT", "/vmm/fork", body)
        t_answer = time.monotonic_ns() - t0
        c.close()
        if b" 200 " not in status:
            res.fail("fork", "vmm", f"PUT /vmm/fork: {status.decode().strip()} {answer!r}")
            return
        doc = json.loads(answer)
        for i in range(warm, n):
            procs.append(subprocess.Popen([env.vmm, "--api-sock", socks[i]], stdin=devnull,
                                          stdout=devnull, stderr=devnull))
        out = [None] * n
        threads = [threading.Thread(target=_load, args=(socks[i], doc["children"][i]["load"],
                                                        t0, out, i)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if None in out:
            res.fail("fork", "vmm", f"{out.count(None)} of {n} children did not load")
            return
        if lone:
            res.add("fork", "request to a lone warm child running (1 child)", "ms", "lower",
                    "vmm", out[0] / 1e6)
            return
        time.sleep(2.0)
        priv = []
        for p in procs:
            m = smaps_rollup(p.pid)
            priv.append(m.get("Private_Clean", 0) + m.get("Private_Dirty", 0))
        ms = 1e6
        res.add("fork", "parent paused (pause_us)", "ms", "lower", "vmm",
                doc["pause_us"] / 1e3)
        res.add("fork", "added to the pause: state collected + RAM remapped", "ms", "lower",
                "vmm", (doc["state_us"] + doc["remap_us"]) / 1e3)
        res.add("fork", "request to the fork's answer", "ms", "lower", "vmm", t_answer / ms)
        res.add("fork", "request to a warm child running, median", "ms", "lower", "vmm",
                statistics.median(out[:warm]) / ms)
        res.add("fork", "request to a cold child running, median", "ms", "lower", "vmm",
                statistics.median(out[warm:]) / ms)
        res.add("fork", "private memory per child, mean", "MiB", "lower", "vmm",
                statistics.mean(priv) / 1024.0)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        reap(procs, timeout=10)
        parent.stop()


def bench_fork(env, res, a):
    if not os.path.exists(env.guest("snap_counter")):
        res.note("fork: skipped: snap_counter guest missing")
        return
    n = 4 if a.quick else 10
    for run in range(a.runs):
        _fork_once(env, res, run, n)
        _fork_once(env, res, run, 1, lone=True)
    res.note(f"fork: snap_counter (256 MiB, --mem-shared) forked ~1 s into its run into {n} "
             f"children, {n // 2} warm (VMMs waiting on their sockets) and {n - n // 2} cold "
             "(started after the answer), loads in parallel; targets: pause < 5 ms, a child "
             "running < 10 ms after the request, private memory per child <= a restored clone's; "
             "then the same with one warm child alone (the VMM without ten busy guests sharing "
             "the CPUs)")
