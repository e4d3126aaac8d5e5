#!/usr/bin/env python3
"""Malformed HTTP against a VMM's API socket, raw bytes over AF_UNIX (used by api/test_api_http_malformed.py).

The cases of issue 46, each on its own connection: a negative and an over-2^64 Content-Length,
two Content-Lengths in either order, a bad chunk size, HTTP/0.9, garbage, an HTTP/2 preface,
10,000 headers, a NUL in a header value. Each must be answered with exactly one status line
and one JSON body with a fault_message, within a second (a slower answer fails that case, and
a silent server fails it after 3 s), and the connection then closed. Then fault messages
longer than 255 bytes must come whole (they were cut mid-sentence). The VMM must keep
answering afterwards. Usage: api_http_malformed.py SOCKET_PATH. Exit status 0 when every
check passed."""
import json
import os
import re
import socket
import sys
import time

SOCK = sys.argv[1]
failures = []
STATUS_LINE = re.compile(rb"HTTP/1\.1 \d{3} ")


def ask(data, wait=3.0):
    """Sends raw bytes; reads until the server closes or `wait` s pass. Returns (bytes, seconds
    until the first whole answer or None, closed)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.settimeout(wait)
    t0 = time.monotonic()
    try:
        s.sendall(data)
    except OSError:
        pass  # refused before the end: the answer is waiting
    got, first, closed = b"", None, False
    try:
        while time.monotonic() - t0 < wait:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += chunk
            head, sep, body = got.partition(b"\r\n\r\n")
            m = re.search(rb"\r\nContent-Length: (\d+)", head)
            if first is None and sep and len(body) >= (int(m.group(1)) if m else 0):
                first = time.monotonic() - t0
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    finally:
        s.close()
    return got, first, closed


def refused(label, data, want, needle=""):
    got, first, closed = ask(data)
    lines = len(STATUS_LINE.findall(got))
    status = int(got.split(b" ")[1]) if got.startswith(b"HTTP/1.1 ") else 0
    body = got.partition(b"\r\n\r\n")[2]
    try:
        msg = json.loads(body)["fault_message"]
    except (ValueError, KeyError, TypeError):
        msg = None
    why = []
    if lines != 1:
        why.append(f"{lines} status lines")
    if status != want:
        why.append(f"status {status}, want {want}")
    if msg is None or needle not in msg:
        why.append(f"no JSON fault_message with {needle!r}")
    if first is None or first > 1.0:
        why.append(f"answered after {first} s" if first else "no answer within 3 s")
    if not closed:
        why.append("the connection stayed open")
    if why:
        failures.append(f"{label}: {'; '.join(why)}: {got[:300]!r}")
    else:
        print(f"ok: {label} -> {status} in {first * 1000:.0f} ms: {msg!r}")


def malformed():
    refused("Content-Length: -5", b"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
            400, "not a length")
    refused("Content-Length: 2^64",
            b"PUT /mmds HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n{}",
            400, "not a length")
    refused("Content-Length 2 then 3",
            b"PUT /mmds HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
            "more than once")
    refused("Content-Length 3 then 2",
            b"PUT /mmds HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\n{}", 400,
            "more than once")
    refused("bad chunk size",
            b"PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400,
            "chunk size")
    refused("HTTP/0.9", b"GET /\r\n", 400, "HTTP/1.1")
    refused("garbage (a TLS hello)", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64),
            400, "control byte")
    refused("garbage (words)", b"hello there, server\r\n\r\n", 400, "must begin with")
    refused("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0")
    refused("10,000 headers",
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n",
            431, "header lines")
    refused("NUL in a header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400, "NUL")
    refused("NUL in the path", b"GET /\0abc HTTP/1.1\r\nHost: x\r\n\r\n", 400, "NUL")


def whole_message(label, data, want):
    """A fault message over 255 bytes comes whole: `want` in it, ending in a full stop."""
    got, first, _ = ask(data)
    try:
        msg = json.loads(got.partition(b"\r\n\r\n")[2])["fault_message"]
    except (ValueError, KeyError, TypeError):
        msg = ""
    if len(STATUS_LINE.findall(got)) != 1 or want not in msg:
        failures.append(f"{label}: {len(msg)} bytes, lacks the whole {len(want)}-byte text: "
                        f"{msg[-80:]!r}")
    else:
        print(f"ok: {label}: the {len(msg)}-byte fault_message is whole")


def long_messages():
    path = "/" + "p" * 4000
    whole_message("unknown 4000-byte path",
                  b"GET " + path.encode() + b" HTTP/1.1\r\nConnection: close\r\n\r\n",
                  f"Invalid request method and/or path: GET {path[1:]}.")
    kernel = "/nonexistent" + "/" + "/".join(["k" * 200] * 10)
    body = json.dumps({"kernel_image_path": kernel}).encode()
    whole_message("a 2000-byte kernel path",
                  b"PUT /boot-source HTTP/1.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body, kernel)


def main():
    malformed()
    long_messages()
    got, _, _ = ask(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    if not got.startswith(b"HTTP/1.1 200 "):
        failures.append(f"GET / afterwards: {got[:100]!r}")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
