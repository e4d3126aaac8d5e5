#!/usr/bin/env python3
"""Slow, oversize and malformed clients against a VMM's API socket (used by api/test_api_firecracker.py).

- 40 connections from this process trickle one byte a second (more than the VMM serves at
  once); another process must still be answered within 2 s, and all but a few of the
  tricklers must be cut within about a second (a process keeps at most 4 stalled requests).
- One trickler alone is cut once its request has taken longer than the 5 s deadline.
- A 100 KB path (414), a 40 KB header (431), a NUL in the path (raw and as %00: 400) get their
  status with JSON.
Usage: api_slow_clients.py SOCKET_PATH. Exit status 0 when every check passed."""
import json
import socket
import subprocess
import sys
import time

SOCK = sys.argv[1]
failures = []


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    return s


def exchange(data, timeout=5):
    """Sends raw bytes, returns (status, body) of the answer ((0, b'') if none)."""
    s = connect()
    s.settimeout(timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                if len(body) >= length:
                    return int(head.split()[1]), body[:length]
            chunk = s.recv(65536)
            if not chunk:
                return 0, got
            got += chunk
    except (OSError, ValueError) as e:
        return 0, str(e).encode()
    finally:
        s.close()


def want_json_400(label, data, want=400):
    status, body = exchange(data)
    try:
        msg = json.loads(body)["fault_message"]
    except (ValueError, KeyError, TypeError):
        msg = None
    if status != want or not msg:
        failures.append(f"{label}: {status} {body[:120]!r}, want {want} with a JSON fault_message")
    else:
        print(f"ok: {label} -> {want} {msg!r}")


def malformed():
    want_json_400("100 KB path", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)
    want_json_400("40 KB header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 +
                  b"\r\n\r\n", 431)
    want_json_400("raw NUL in the path", b"GET /\0abc HTTP/1.1\r\nHost: x\r\n\r\n")
    want_json_400("%00 in the path", b"GET /%00abc HTTP/1.1\r\nHost: x\r\n\r\n")
    want_json_400("unknown path", b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")


def other_process_get():
    """GET / from another process (another client as the VMM counts them); seconds taken."""
    code = ("import socket,sys;s=socket.socket(socket.AF_UNIX);s.settimeout(10);"
            "s.connect(sys.argv[1]);s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n');"
            "d=s.recv(4096);sys.exit(0 if d.startswith(b'HTTP/1.1 200') else 1)")
    t = time.monotonic()
    ok = subprocess.run([sys.executable, "-c", code, SOCK], timeout=30).returncode == 0
    return ok, time.monotonic() - t


def alive(s):
    """True while the VMM keeps the connection open."""
    try:
        s.send(b"a")
        s.setblocking(False)
        try:
            return s.recv(1) != b""
        except BlockingIOError:
            return True
        finally:
            s.setblocking(True)
    except OSError:
        return False


def tricklers(n=40):
    socks = []
    for _ in range(n):
        s = connect()
        s.sendall(b"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        socks.append(s)
    ok, took = other_process_get()
    if not ok or took > 2.0:
        failures.append(f"another client behind {n} tricklers: ok={ok} after {took:.1f} s")
    else:
        print(f"ok: another client served in {took:.2f} s behind {n} tricklers")
    for _ in range(3):  # trickle for 3 s: stalled ones beyond the cap are cut after ~1 s
        time.sleep(1)
        left = [s for s in socks if alive(s)]
    if len(left) > 4:
        failures.append(f"{len(left)} of {n} tricklers still connected after 3 s (cap 4)")
    else:
        print(f"ok: {len(left)} of {n} tricklers left after 3 s")
    for s in socks:
        s.close()


def deadline():
    s = connect()
    s.sendall(b"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    t = time.monotonic()
    while alive(s) and time.monotonic() - t < 12:
        time.sleep(1)
    took = time.monotonic() - t
    if took > 8:
        failures.append(f"a lone trickler kept its connection {took:.0f} s (deadline 5 s)")
    else:
        print(f"ok: a lone trickler was cut after {took:.1f} s")
    s.close()


def main():
    malformed()
    tricklers()
    deadline()
    status, _ = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    if status != 200:
        failures.append(f"GET / afterwards: {status}")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
