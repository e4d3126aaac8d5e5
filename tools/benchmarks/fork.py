"""fork: live fork of a running guest (PUT /vmm/fork, docs/sandboxes.md), ours only (neither
QEMU nor Firecracker forks a running VM). The snap_counter guest (256 MiB, RAM in a memfd) is
forked ~1 s into its run into N children (--quick 4, else 10), half of them VMMs already
waiting on their API sockets (a warm pool), half started after the fork's answer (cold); each
child's PUT /snapshot/load is sent at once, from one thread (an orchestrator's event loop). Rows: the parent's pause (the
answer's pause_us) and what the fork adds to a pause (state collected + RAM remapped), the
request to the fork's answer, the request to a child running (its load answered) warm and cold,
and the private memory per child (Private_Clean + Private_Dirty after ~2 s). Targets (issue 53):
pause < 5 ms, a child running < 10 ms after the request, private memory per child at most a
restored clone's (the snapshot bench's clone rows). Then, in each run, a second parent forked
into one warm child alone: the request to it running, the VMM's own latency without the other
children's guests (snap_counter spins its CPU) and cold starts sharing the CPUs. Then a third
parent, an idle guest (halt.elf in HLT with interrupts on, as a Linux guest at its shell idles),
forked into N warm children: the first, median and last child running."""

import json
import os
import selectors
import socket
import statistics
import subprocess
import time

from .control import ApiClient
from .vm import LiveVM, reap, smaps_rollup


def _request(body):
    data = json.dumps(body).encode()
    return (f"PUT /snapshot/load HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n"
            "Content-Type: application/json\r\n\r\n").encode() + data


def _load_all(socks, bodies, t0, timeout=30.0):
    """Every child's PUT /snapshot/load from one thread, as an orchestrator's event loop sends
    them: each request goes as soon as its child's socket accepts (a cold child's socket may not
    exist yet: tried again every 0.2 ms), then each answer is read as it comes. Returns, per
    child, ns from t0 to its answer (None: no 204 within the timeout)."""
    out, conns, pending = [None] * len(socks), {}, set(range(len(socks)))
    sel = selectors.DefaultSelector()
    deadline = time.monotonic() + timeout
    while (pending or conns) and time.monotonic() < deadline:
        for i in sorted(pending):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(socks[i])
                s.sendall(_request(bodies[i]))
            except OSError:
                s.close()
                continue
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
            conns[i] = [s, b""]
            pending.discard(i)
        for key, _ in sel.select(timeout=0.0002 if pending else 1.0):
            i = key.data
            s, buf = conns[i]
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            buf += chunk
            conns[i][1] = buf
            if b"\r\n\r\n" in buf or not chunk:
                ok = b" 204 " in buf.split(b"\r\n", 1)[0]
                out[i] = time.monotonic_ns() - t0 if ok else None
                sel.unregister(s)
                s.close()
                del conns[i]
    for s, _ in conns.values():
        s.close()
    return out


# kind: "mixed" (snap_counter, half warm, half cold), "lone" (snap_counter, one warm child) or
# "idle" (halt.elf in HLT with interrupts on, as a Linux guest at its shell idles; all warm)
GUESTS = {"mixed": ("snap_counter", "disk=0 steps=100000"),
          "lone": ("snap_counter", "disk=0 steps=100000"),
          "idle": ("halt", "halt.irq=1")}


def _fork_once(env, res, run, n, kind="mixed"):
    lone = kind == "lone"
    tmp = os.path.join(env.tmp, f"fork{run}-{kind}")
    os.makedirs(tmp, exist_ok=True)
    psock = os.path.join(tmp, "parent.sock")
    guest, append = GUESTS[kind]
    parent = LiveVM(env.vmm_cmd(env.guest(guest), append,
                                ["--mem-shared", "--api-sock", psock,
                                 "--landlock-rules", f"{tmp}:rw"]))
    warm = {"mixed": n // 2, "lone": 1, "idle": n}[kind]
    procs = []
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
        out = _load_all(socks, [doc["children"][i]["load"] for i in range(n)], t0)
        if None in out:
            res.fail("fork", "vmm", f"{out.count(None)} of {n} children did not load")
            return
        if lone:
            res.add("fork", "request to a lone warm child running (1 child)", "ms", "lower",
                    "vmm", out[0] / 1e6)
            return
        if kind == "idle":
            pre = f"request to a warm child running, {n} at once, idle guests"
            res.add("fork", f"{pre}: first", "ms", "lower", "vmm", min(out) / 1e6)
            res.add("fork", f"{pre}: median", "ms", "lower", "vmm", statistics.median(out) / 1e6)
            res.add("fork", f"{pre}: last", "ms", "lower", "vmm", max(out) / 1e6)
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
        _fork_once(env, res, run, 1, "lone")
        _fork_once(env, res, run, n, "idle")
    res.note(f"fork: snap_counter (256 MiB, --mem-shared) forked ~1 s into its run into {n} "
             f"children, {n // 2} warm (VMMs waiting on their sockets) and {n - n // 2} cold "
             "(started after the answer), every load sent at once from one thread (an event loop); targets: pause < 5 ms, a child "
             "running < 10 ms after the request, private memory per child <= a restored clone's; "
             "then the same with one warm child alone (the VMM without ten busy guests sharing "
             "the CPUs); "
             f"then {n} warm children of an idle guest (halt.elf in HLT with interrupts on, "
             "as a Linux guest at its shell idles): first, median and last child running")
