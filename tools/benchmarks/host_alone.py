"""The "host alone" column (issue 68): the guest's exact I/O pattern done by a host program with
no guest in between, alternating with the VMMs as one more implementation named "host", so that
every row gets a ratio vmm/host beside vmm/peer."""

import os
import re
import subprocess

HOST = "host"


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
    m = re.search(rb"^HOST blk_rand\w+ qd=\d+ iops=(\d+) requests=(\d+) usec=\d+ cpu_usec=(\d+)",
                  p.stdout, re.M)
    if p.returncode != 0 or not m:
        res.fail(bench, HOST, f"{' '.join(cmd)}: status {p.returncode}: "
                 f"{(p.stdout + p.stderr).decode(errors='replace')[-300:]}")
        return None
    return tuple(int(x) for x in m.groups())


def with_host(env, impls):
    """impls and, when vmm-blkhost is built, the host alone."""
    return impls + [HOST] if env.blk_host and impls else impls


def net_host_capable(env):
    """The net rows' host alone needs the C vmm-netgen (tapwrite, tapread)."""
    return os.path.basename(env.net_host[0]) == "vmm-netgen"


def net_host_rows(env, res, ns, tx_s, send_s, mac):
    """The net rows' host alone in namespace ns: frames written into the tap's fd by a host
    program (guest->host, one writev() each, as our transmit path) and frames a host sender puts
    on the tap read from its fd by another (host->guest, first to last as the guest times them)."""
    for size, metric in ((60, "guest->host 60-byte frames"), (1514, "guest->host 1514-byte frames")):
        p = subprocess.run(ns.exec(env.net_host + ["tapwrite", ns.tap, str(size), str(tx_s)]),
                           capture_output=True, timeout=tx_s + 30)
        m = re.search(rb"^host wrote (\d+) ", p.stdout, re.M)
        if p.returncode != 0 or not m:
            res.fail("net", HOST, f"tapwrite {size}: status {p.returncode}: {p.stderr[-300:]!r}")
            return
        add_rate(res, metric, size, int(m.group(1)) / tx_s)
    for size, metric in ((60, "host->guest 60-byte frames"), (1514, "host->guest 1514-byte frames")):
        got = tap_read_flood(env, ns, size, send_s, mac)
        if got is None:
            res.fail("net", HOST, f"tapread {size}: no frames read")
            return
        frames, seconds, sent = got
        add_rate(res, metric, size, (frames - 1) / seconds)
        res.add("net", f"host sender's own rate, {size}-byte frames", "frames/s", "higher", HOST,
                int(sent / send_s))


def add_rate(res, metric, size, fps):
    if size == 60:
        res.add("net", metric, "frames/s", "higher", HOST, int(fps))
    else:
        res.add("net", metric, "Mbit/s", "higher", HOST, int(fps * size * 8 / 1e6))


def tap_read_flood(env, ns, size, send_s, mac):
    """(frames read, seconds first to last, frames the sender put on the tap) or None."""
    reader = subprocess.Popen(ns.exec(env.net_host + ["tapread", ns.tap, "10"]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if not reader.stdout.readline().startswith(b"host tap reader ready"):
            return None
        s = subprocess.run(ns.exec(env.net_host + ["send", ns.tap, mac, str(size), str(send_s)]),
                           capture_output=True, timeout=send_s + 30)
        out, _ = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    m = re.search(rb"^host read (\d+) frames \(\d+ bytes\) in ([\d.]+) s", out, re.M)
    sent = re.search(rb"^host sent (\d+) ", s.stdout, re.M)
    if not m or not sent or int(m.group(1)) < 2 or float(m.group(2)) <= 0:
        return None
    return int(m.group(1)), float(m.group(2)), int(sent.group(1))
