"""mmds-latency: GETs from the guest to MMDS against the same to an HTTP server on the host."""

import json
import os
import re
import socket
import threading

from .config import CPUS, MEM
from .control import ApiClient
from .guests import SHELL_ARGS, SHELL_PROMPT, guest_step, linux_guest
from .runner import rounds
from .vm import LiveVM


def http_keepalive_server(body):
    """A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) answering every request on a
    connection with `body` in one write (no Nagle wait between head and body), in a daemon
    thread; returns (listening socket, port)."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
              % len(body)) + body

    def serve(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(4096)
                    if not data:
                        return
                    buf += data
                buf = buf.split(b"\r\n\r\n", 1)[1]
                c.sendall(answer)

    def accept():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return ls, ls.getsockname()[1]


def mmds_latency_vm(env, g, sock):
    """The default guest from a config file: libslirp NIC eth0 with MMDS V1, the API on sock."""
    cfg = {"boot-source": {"kernel_image_path": g["VMLINUX"], "initrd_path": g["INITRAMFS"],
                           "boot_args": g["CMDLINE"] + " " + SHELL_ARGS},
           "machine-config": {"vcpu_count": int(CPUS), "mem_size_mib": int(MEM.rstrip("M"))},
           "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "user"}],
           "mmds-config": {"network_interfaces": ["eth0"], "version": "V1"}}
    path = os.path.join(env.tmp, "mmds-latency.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    cmd = [env.vmm, "--config-file", path, "--api-sock", sock, "--console", "stdio"]
    return LiveVM(cmd, {"shell": SHELL_PROMPT}, stdin=True)


def bench_mmds_latency(env, res, a):
    g = linux_guest(res)
    if not g:
        return
    n = 50 if a.quick else 500
    value = b"ami-12345678"
    ls, port = http_keepalive_server(value)
    sock = os.path.join(env.tmp, "mmds-latency.sock")
    vm = mmds_latency_vm(env, g, sock)
    try:
        if vm.wait_seen("shell", a.boot_timeout) is None:
            res.fail("mmds-latency", "mmds", "no shell", vm.stop())
            return
        c = ApiClient("vmm", sock)
        status, _ = c._http("PUT", "/mmds", {"latest": {"meta-data": {"ami-id": value.decode()}}})
        c.close()
        if b" 204 " not in status:
            res.fail("mmds-latency", "mmds", f"PUT /mmds: {status!r}", vm.stop())
            return
        target = {"mmds": "", "host-http": f"-a 10.0.2.2 -p {port} "}
        for i, kind in rounds(["mmds", "host-http"], a.runs):
            start = len(vm.out)
            if not guest_step(vm, f"mmds-get {target[kind]}-n {n} /latest/meta-data/ami-id",
                              f"LAT{i}{kind.replace('-', '')}", 600):
                res.fail("mmds-latency", kind, "mmds-get did not finish", vm.stop())
                return
            m = re.search(rb"GETs \(keep-alive\): median (\d+) us, p99 (\d+) us", vm.out[start:])
            if not m:
                res.fail("mmds-latency", kind, "no latency line from mmds-get", None)
                continue
            res.add("mmds-latency", f"GET on a keep-alive connection ({n} per run): median",
                    "us", "lower", kind, int(m.group(1)))
            res.add("mmds-latency", f"GET on a keep-alive connection ({n} per run): p99",
                    "us", "lower", kind, int(m.group(2)))
    finally:
        vm.stop()
        ls.close()
    res.note(f"mmds-latency: ours only, one default Linux guest (config file: libslirp NIC with "
             f"MMDS V1). mmds-get in the guest times {n} GETs of a 12-byte value on one "
             "keep-alive connection per run, alternating: `mmds` asks 169.254.169.254 (answered "
             "inside the VMM), `host-http` the same path on a minimal HTTP server on the host's "
             "loopback through the same NIC (10.0.2.2, libslirp). The time is the guest's "
             "CLOCK_MONOTONIC from the request's write to the answer's last byte.")
