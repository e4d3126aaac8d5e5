"""vsock: the virtio_vsock guest's stream throughput both ways, against a host Unix socket pair."""

import os
import re
import socket
import tempfile
import threading
import time

from .host_alone import HOST
from .vm import run_vm


VSOCK_CHUNK = 1 << 16


def vsock_servers(uds, total):
    """PATH_1236: a sink that reads `total` bytes, then answers one byte; PATH_1237: a source
    sending `total` bytes. Threads; the listeners go with the process."""
    data = bytes(VSOCK_CHUNK)

    def sink(c):
        left = total
        while left > 0:
            b = c.recv(min(left, 1 << 20))
            if not b:
                break
            left -= len(b)
        c.sendall(b"!")
        c.recv(1)
        c.close()

    def source(c):
        sent = 0
        while sent < total:
            n = min(VSOCK_CHUNK, total - sent)
            c.sendall(data[:n])
            sent += n
        c.recv(1)
        c.close()

    for port, fn in ((1236, sink), (1237, source)):
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(f"{uds}_{port}")
        ls.listen(4)

        def loop(ls=ls, fn=fn):
            while True:
                c, _ = ls.accept()
                threading.Thread(target=fn, args=(c,), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()


def unix_copy_mbps(total):
    """The reference: `total` bytes through a Unix stream socket pair, 64 KiB writes, one
    sending thread and this one reading (the same host-side code as the sink and source)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    data = bytes(VSOCK_CHUNK)

    def send():
        sent = 0
        while sent < total:
            n = min(VSOCK_CHUNK, total - sent)
            a.sendall(data[:n])
            sent += n
    t0 = time.monotonic_ns()
    t = threading.Thread(target=send)
    t.start()
    left = total
    while left > 0:
        left -= len(b.recv(min(left, 1 << 20)))
    t.join()
    ns = time.monotonic_ns() - t0
    a.close()
    b.close()
    return total / (ns / 1e9) / 1e6


def bench_vsock(env, res, a):
    if not os.path.exists(env.guest("virtio_vsock")):
        res.fail("vsock", "setup", "guest virtio_vsock not built (tests/guests/virtio_vsock.c)")
        return
    total = (2 << 20) if a.quick else (16 << 20)
    udsdir = tempfile.mkdtemp(prefix="vsock.", dir=env.tmp)
    uds = os.path.join(udsdir, "v.sock")
    vsock_servers(uds, total)
    for i in range(a.runs):
        r = run_vm(env.vmm_cmd(env.guest("virtio_vsock"), f"transport=mmio bench={total}",
                               ["--vsock", f"cid=3,uds={uds}"]),
                   {"pass": b"TEST PASS"}, timeout=180)
        found = dict(re.findall(rb"^BENCH vsock (g2h|h2g) bytes=\d+ us=(\d+)", r.out, re.M))
        if r.status != 1 or len(found) != 2:
            res.fail("vsock", "vmm", "virtio_vsock guest did not pass", r)
            continue
        for d, name in ((b"g2h", "guest->host"), (b"h2g", "host->guest")):
            res.add("vsock", name, "MB/s", "higher", "vmm", total / int(found[d]) if int(found[d]) else 0)
        ref = unix_copy_mbps(total)
        for name in ("guest->host", "host->guest"):
            res.add("vsock", name, "MB/s", "higher", HOST, ref)
    res.note(f"vsock: virtio_vsock guest (bench={total}): {total >> 20} MiB each way on one "
             "stream, 64 KiB packets from the guest (up to 8 in flight), 64 KiB rx buffers, 1 MiB "
             "of guest buffer per stream, polling in guest ring 3 (run_user), "
             "timed by the guest; host side Python sink/source on PATH_1236/1237. No QEMU peer "
             "(its vsock is vhost-vsock, which needs the vhost_vsock module). host: the host "
             "alone, the same amount through a host Unix stream socket pair by the same Python "
             "code, after each VM.")
