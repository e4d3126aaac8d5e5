#!/usr/bin/env python3
"""Host side of tests/guests/virtio_vsock.c behind the VMM's --vsock uds=PATH:
  PATH_1234  an echo server (any number of connections);
  PATH_1235  a source: sends `credit` pattern bytes (seed 35), then waits for EOF;
  PATH       connects (retrying until the guest listens), writes "CONNECT 5000\\n", expects
             "OK <port>\\n", sends `host` pattern bytes (seed 50), checks that the guest echoes
             them back, closes.
Prints one line per finding; exits 0 when the host-initiated exchange was checked and every
connection behaved, 1 otherwise. --bench mode: only the echo server, and timing on stdout."""
import argparse
import os
import socket
import sys
import threading
import time


def pattern(seed, n, start=0):
    return bytes(((i * 7 + seed + (i >> 8)) & 0xFF) for i in range(start, start + n))


errors = []
echo_conns = [0]
lock = threading.Lock()


def serve(path, handler):
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(64)

    def loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def echo(c):
    with lock:
        echo_conns[0] += 1
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError as e:
        with lock:
            errors.append("echo: %s" % e)
    c.close()


def source(total):
    def run(c):
        try:
            c.sendall(pattern(35, total))
            while c.recv(4096):
                pass
        except OSError as e:
            with lock:
                errors.append("source: %s" % e)
        c.close()
    return run


def recv_line(s):
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        b = s.recv(1)
        if not b:
            return None
        line += b
    return line


def host_initiated(path, total, deadline):
    while time.time() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendall(b"CONNECT 5000\n")
            line = recv_line(s)
        except OSError:
            line = None
        if not line:
            s.close()
            time.sleep(0.3)
            continue
        if not line.startswith(b"OK ") or not line[3:-1].isdigit():
            errors.append("host: bad answer %r" % line)
            return
        print("host: connected, answer %s" % line.decode().strip(), flush=True)
        want = pattern(50, total)
        t = threading.Thread(target=s.sendall, args=(want,))
        t.start()
        got = b""
        while len(got) < total:
            b = s.recv(65536)
            if not b:
                break
            got += b
        t.join()
        s.close()
        if got != want:
            errors.append("host: echo of %d bytes differs (%d bytes back)" % (total, len(got)))
        else:
            print("host: %d bytes echoed intact" % total, flush=True)
        return
    errors.append("host: the guest never accepted CONNECT 5000")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("uds")
    ap.add_argument("--credit", type=int, default=32768)
    ap.add_argument("--host", type=int, default=65536)
    ap.add_argument("--timeout", type=float, default=150)
    ap.add_argument("--echo-only", action="store_true")
    ap.add_argument("--go", help="connect to the guest only once this file exists")
    a = ap.parse_args()
    serve(a.uds + "_1234", echo)
    serve(a.uds + "_1235", source(a.credit))
    print("ready", flush=True)
    if a.echo_only:
        time.sleep(a.timeout)
        return 0
    # the VMM creates PATH; wait for it
    deadline = time.time() + a.timeout
    while not os.path.exists(a.uds) and time.time() < deadline:
        time.sleep(0.1)
    # --go: the test holds the guest in its last phase (waiting for our CONNECT) while it checks
    # the running VMM, and then lets it finish
    while a.go and not os.path.exists(a.go) and time.time() < deadline:
        time.sleep(0.1)
    host_initiated(a.uds, a.host, deadline)
    print("echo connections: %d" % echo_conns[0], flush=True)
    for e in errors:
        print("ERROR " + e, flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
