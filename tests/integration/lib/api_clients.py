#!/usr/bin/env python3
"""Bad input and awkward clients against a running VMM's API socket (used by api/test_api_vm.py).

Python's http.client over AF_UNIX: malformed JSON, unknown fields, wrong types, an oversized
body, unknown paths and methods, requests in the wrong state, a client that disconnects in the
middle of its body, a client that sends nothing, and many clients at once. Every answer must be
the right 4xx with a JSON fault_message, and the VMM must keep answering afterwards.
Usage: api_clients.py SOCKET_PATH [--not-started]. With --not-started the VMM has not started
its VM (api/test_api_unstarted.py): what is refused only after the start is left out.
Exit status 0 when every check passed."""
import http.client
import json
import socket
import sys
import threading

SOCK = sys.argv[1]
STARTED = "--not-started" not in sys.argv[2:]
failures = []


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def request(method, path, body=None, headers=None):
    conn = UnixConnection(SOCK)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def check(method, path, body, want, fault_has=None):
    status, data = request(method, path, body)
    label = f"{method} {path} {str(body)[:40]!r}"
    if status != want:
        failures.append(f"{label}: status {status}, want {want}: {data[:200]!r}")
        return
    if want >= 400:
        try:
            doc = json.loads(data)
            # a body over the limit: micro_http's {"error"}, as Firecracker answers it
            msg = doc["error"] if fault_has == "larger than the limit" else doc["fault_message"]
        except (ValueError, KeyError, TypeError):
            failures.append(f"{label}: no JSON fault_message: {data[:200]!r}")
            return
        if fault_has and fault_has not in msg:
            failures.append(f"{label}: fault_message {msg!r} lacks {fault_has!r}")
            return
    print(f"ok: {label} -> {status}")


def bad_requests():
    check("PUT", "/machine-config", "{", 400, "malformed JSON")
    check("PUT", "/machine-config", "", 400)
    check("PUT", "/machine-config", "null", 400)
    check("PUT", "/vmm/stop", '{"timeout_ms": "2"}', 400, "timeout_ms")
    check("PUT", "/vmm/stop", '{"timeout_ms": 2, "x": 1}', 400, "unknown field")
    check("PUT", "/vmm/stop", '{"timeout_ms": -5}', 400, "timeout_ms")
    if STARTED:
        check("PUT", "/machine-config", '{"vcpu_count": 2, "mem_size_mib": 128}', 400,
              "after starting")
    check("PUT", "/actions", '{"action_type": 7}', 400)
    check("PUT", "/actions", '{"action_type": "Explode"}', 400)
    check("PATCH", "/vm", '{"state": "paused"}', 400)
    if STARTED:
        # a hot-add (Firecracker 1.16): the body is checked as before the start
        check("PUT", "/drives/x", '{"drive_id": "x"}', 400, "is_root_device")
    else:
        # is_root_device, as Firecracker names it (path_on_host or socket is optional alone)
        check("PUT", "/drives/x", '{"drive_id": "x"}', 400, "missing field `is_root_device`")
    check("PUT", "/drives/" + "a" * 100, "{}", 400)
    # Firecracker answers an unknown path or method with 400, never 404 or 405.
    check("GET", "/no/such/path", None, 400, "Invalid request method and/or path")
    check("DELETE", "/vm", None, 400, "DELETE vm")
    check("POST", "/actions", '{"action_type": "FlushMetrics"}', 400, "POST actions")
    check("PUT", "/vm/config", "{}", 400)
    # over Firecracker's 51200-byte limit: its 400 and words
    check("PUT", "/actions", '{"action_type": "' + "x" * (70 * 1024) + '"}', 400,
          "larger than the limit")
    deep = "[" * 100000 + "]" * 100000
    check("PUT", "/actions", deep, 400, "larger than the limit")
    check("PUT", "/actions", "[" * 5000 + "]" * 5000, 400)


def vanishing_client():
    """Announces 1000 body bytes, sends 10, hangs up."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.sendall(b"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"action_")
    s.close()


def silent_client():
    """Connects and says nothing: must not keep others from being served."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    return s


def many_clients(n=24):
    results = []

    def one():
        try:
            results.append(request("GET", "/vmm/state")[0])
        except OSError as e:
            results.append(str(e))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if results.count(200) != n:
        failures.append(f"{n} concurrent clients: {results}")
    else:
        print(f"ok: {n} concurrent clients answered 200")


def main():
    bad_requests()
    silent = [silent_client() for _ in range(3)]
    for _ in range(5):
        vanishing_client()
    many_clients()
    status, _ = request("GET", "/")
    if status != 200:
        failures.append(f"GET / after the awkward clients: {status}")
    for s in silent:
        s.close()
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
