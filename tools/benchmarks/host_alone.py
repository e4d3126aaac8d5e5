"""The "host alone" column (issue 68): the guest's exact I/O pattern done by a host program with
no guest in between, alternating with the VMMs as one more implementation named "host", so that
every row gets a ratio vmm/host beside vmm/peer."""

import os
import re
import subprocess
import threading

HOST = "host"
# vmm-blkhost's line: iops, requests, usec, cpu_usec (tools/blkhost/blkhost.c)
BLKHOST_LINE = rb"^HOST blk_rand\w+ qd=\d+ iops=(\d+) requests=(\d+) usec=(\d+) cpu_usec=(\d+)"


def blk_host(env, res, bench, path, op, qd, seconds):
    """vmm-blkhost (tools/blkhost): 4 KiB random op ("read" or "write") at queue depth qd on
    path for `seconds`; (iops, requests, cpu_us) or None (a failure noted). Reads go through
    io_uring as our I/O thread's do; writes are pwritev2() calls one after another at either
    depth, as our I/O thread does them on a file system without non-blocking buffered writes
    (virtio/blk/io.h): io_uring's own loop gives each to a worker thread, ~11k/s here."""
    cmd = [env.blk_host, op, path, str(qd), str(seconds)]
    if op == "write":
        cmd = [env.blk_host, op, path, "1", str(seconds), "sync"]
    p = subprocess.run(cmd, capture_output=True, timeout=seconds + 60)
    m = re.search(BLKHOST_LINE, p.stdout, re.M)
    if p.returncode != 0 or not m:
        res.fail(bench, HOST, f"{' '.join(cmd)}: status {p.returncode}: "
                 f"{(p.stdout + p.stderr).decode(errors='replace')[-300:]}")
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(4))


def with_host(env, impls):
    """impls and, when vmm-blkhost is built, the host alone."""
    return impls + [HOST] if env.blk_host and impls else impls


def net_host_capable(env):
    """The net rows' host alone needs the C vmm-netgen (tapwrite, tapread)."""
    return os.path.basename(env.net_host[0]) == "vmm-netgen"


def net_host_rows(env, res, ns, tx_s, send_s, mac, pairs=1, flows=0):
    """The net rows' host alone in namespace ns: frames written into the tap's fd by a host
    program (guest->host, one writev() each, as our transmit path) and frames a host sender puts
    on the tap read from its fd by another (host->guest, first to last as the guest times them).
    pairs: above 1, one writer and one reader per queue of ns's multi_queue tap, the sender's
    frames of `flows` UDP flows, and the rows of that many queue pairs."""
    tail = f", {pairs} queue pairs" if pairs > 1 else ""
    for size in (60, 1514):
        got = net_host_tx_run(env, ns, size, pairs, tx_s)
        if isinstance(got, str):
            res.fail("net", HOST, f"tapwrite {size}: {got}")
            return
        add_rate(res, f"guest->host {size}-byte frames{tail}", size, got[0])
    for size in (60, 1514):
        got = tap_read_flood(env, ns, size, send_s, mac, pairs, flows)
        if got is None:
            res.fail("net", HOST, f"tapread {size}: no frames read")
            return
        fps, sent = got
        add_rate(res, f"host->guest {size}-byte frames{tail}", size, fps)
        res.add("net", f"host sender's own rate, {size}-byte frames{tail}", "frames/s", "higher",
                HOST, int(sent / send_s))


def add_rate(res, metric, size, fps):
    if size == 60:
        res.add("net", metric, "frames/s", "higher", HOST, int(fps))
    else:
        res.add("net", metric, "Mbit/s", "higher", HOST, int(fps * size * 8 / 1e6))


def tap_read_flood(env, ns, size, send_s, mac, readers=1, flows=0):
    """(frames/s read, summed over the readers, each first to last frame; frames the sender put
    on the tap) or None. readers: one vmm-netgen tapread per queue of a multi_queue tap."""
    procs = [subprocess.Popen(ns.exec(env.net_host + ["tapread", ns.tap, "10"]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(readers)]
    outs = []
    try:
        if not all(p.stdout.readline().startswith(b"host tap reader ready") for p in procs):
            return None
        s = subprocess.run(ns.exec(env.net_host + ["send", ns.tap, mac, str(size), str(send_s)]
                                   + ([str(flows)] if flows else [])),
                           capture_output=True, timeout=send_s + 30)
        outs = [p.communicate(timeout=30)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    sent = re.search(rb"^host sent (\d+) ", s.stdout, re.M)
    fps = 0
    for out in outs:
        m = re.search(rb"^host read (\d+) frames \(\d+ bytes\) in ([\d.]+) s", out, re.M)
        if m and int(m.group(1)) >= 2 and float(m.group(2)) > 0:
            fps += (int(m.group(1)) - 1) / float(m.group(2))
    if not sent or not fps:
        return None
    return fps, int(sent.group(1))


def run_many(cmds, seconds):
    """Starts every command at once; [(exit status, output, CPU ns)] in order. Each ends by
    itself after `seconds` (killed 60 s later); their output is one line, below a pipe's size."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for c in cmds]
    timer = threading.Timer(seconds + 60, lambda: [p.kill() for p in procs])
    timer.start()
    got = []
    try:
        for p in procs:
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            got.append((p.returncode, p.stdout.read(), int((ru.ru_utime + ru.ru_stime) * 1e9)))
            p.stdout.close()
    finally:
        timer.cancel()
    return got


def host_sum(got, pattern, ops_usec):
    """(summed rate, ops, CPU ns, 0, None) of host loops whose lines match pattern, where
    ops_usec(match) gives (ops, microseconds); or a string saying what failed."""
    rate = ops = cpu = 0
    for status, data, ns in got:
        m = re.search(pattern, data, re.M)
        if status != 0 or not m:
            return f"status {status}: {data[-300:].decode(errors='replace')!r}"
        count, usec = ops_usec(m)
        rate += count * 1e6 / max(usec, 1)
        ops += count
        cpu += ns
    return rate, ops, cpu, 0, None


def blk_host_run(env, disk, qd, loops, split, seconds):
    """`loops` vmm-blkhost reads at once: split, the depth qd shared among them (one VM's queues,
    an I/O thread each on ours), else each at qd (one per VM). As host_sum."""
    each = qd // loops if split else qd
    cmds = [[env.blk_host, "read", disk, str(each), str(seconds)] for _ in range(loops)]
    return host_sum(run_many(cmds, seconds),
                    BLKHOST_LINE, lambda m: (int(m.group(2)), int(m.group(3))))


def net_host_tx_run(env, ns, size, queues, seconds):
    """vmm-netgen tapwrite of size-byte frames, one per queue of ns's multi_queue tap, or one per
    tap of ns when it has several (one per VM). As host_sum."""
    taps = [ns.tap] * queues if len(ns.taps) == 1 else ns.taps
    cmds = [ns.exec(env.net_host + ["tapwrite", tap, str(size), str(seconds)]) for tap in taps]
    return host_sum(run_many(cmds, seconds),
                    rb"^host wrote (\d+) \d+-byte frames in ([\d.]+) s",
                    lambda m: (int(m.group(1)), float(m.group(2)) * 1e6))
