#!/usr/bin/env python3
"""A stand-in for the VMM's HTTP API (vmm --api-sock) on a Unix socket, for testing vmmctl.

Implements the API contract with canned state and appends every request it gets to a log file,
one JSON object a line: {"method": ..., "path": ..., "body": parsed JSON, or the raw text}.

  fake_api_server.py SOCKET LOGFILE

Test-only paths (not logged) change how it answers everything else:
  PUT /test/mode {"mode": M}  M = normal | badjson (200 with broken JSON) | wrongshape (JSON of
                              the wrong type) | garbage (bytes that are not HTTP) | huge (a 2 MiB
                              body) | endless (2 MiB with no
                              Content-Length) | close (hang up without answering) | hang (never answer)
                              | plain404 (404 with a text body, no fault_message)
"""
import http.server
import json
import os
import socketserver
import sys
import threading
import time

SOCK, LOG = sys.argv[1], sys.argv[2]
lock = threading.Lock()
state = {"state": "Not started", "mode": "normal"}
config = {
    "boot-source": {"kernel_image_path": "/boot/vmlinuz", "boot_args": "console=ttyS0"},
    "drives": [{"drive_id": "rootfs", "path_on_host": "/img/root.ext4",
                "is_root_device": True, "is_read_only": False}],
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": False},
    "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0",
                            "guest_mac": "52:54:00:12:34:56"}],
}
DEVICES = [
    {"name": "virtio-blk0", "device_id": 2, "transport": "mmio", "requests": 1234,
     "bytes": 5046272, "errors": 0, "stalls": 3, "kicks": 900, "interrupts": 870},
    {"name": "virtio-net0", "device_id": 1, "transport": "pci", "requests": 77,
     "bytes": 9999, "errors": 1, "stalls": 0, "kicks": 50, "interrupts": 60},
]
VCPUS = [
    {"index": 0, "exits": {"io": 4242, "mmio": 17, "hlt": 3}, "exits_total": 4262},
    {"index": 1, "exits": {"io": 5, "mmio": 6, "hlt": 7}, "exits_total": 18},
]

# (method, path or path prefix ending in "/") -> handler name; path-only matches give 405.
ROUTES = {
    ("GET", "/"): "get_root", ("GET", "/machine-config"): "get_machine",
    ("PUT", "/machine-config"): "put_machine", ("PUT", "/boot-source"): "put_boot",
    ("PUT", "/drives/"): "put_drive", ("PATCH", "/drives/"): "patch_drive",
    ("PUT", "/network-interfaces/"): "put_net", ("PUT", "/actions"): "put_action",
    ("PATCH", "/vm"): "patch_vm", ("GET", "/vm/config"): "get_config",
    ("PUT", "/metrics"): "put_metrics", ("GET", "/vmm/state"): "get_state",
    ("GET", "/vmm/devices"): "get_devices", ("GET", "/vmm/vcpus"): "get_vcpus",
    ("GET", "/vmm/metrics"): "get_metrics", ("PUT", "/vmm/stop"): "put_stop",
}


class Fault(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code, self.msg = code, msg


def need(body, *keys):
    if not isinstance(body, dict):
        raise Fault(400, "the body must be a JSON object")
    for k in keys:
        if k not in body:
            raise Fault(400, "missing field: %s" % k)


def before_start():
    if state["state"] != "Not started":
        raise Fault(400, "The requested operation is not supported after starting the microVM.")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # client_address is '' on a Unix socket
        sys.stderr.write("fake_api: " + (fmt % args) + "\n")

    def send(self, code, doc=None, raw=None):
        data = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else b"")
        self.send_response(code)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        if self.path == "/test/mode":
            state["mode"] = body["mode"]
            return self.send(204)
        with lock, open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "body": body},
                               sort_keys=True) + "\n")
        mode = state["mode"]
        if mode == "garbage":
            self.wfile.write(b"\x00\x01 this is not HTTP \xff\r\n\r\n")
            self.close_connection = True
            return
        if mode == "close":
            self.close_connection = True
            return
        if mode == "hang":
            time.sleep(600)
            return
        if mode == "badjson":
            return self.send(200, raw=b'{"state": "Running", "uptime_ms": ')
        if mode == "huge":
            return self.send(200, raw=json.dumps({"pad": "x" * (2 << 20)}).encode())
        if mode == "endless":  # no Content-Length: the body runs until the server hangs up
            self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[")
            try:
                for _ in range(64):
                    self.wfile.write(b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' * 1024)
            except OSError:
                pass  # vmmctl hung up first, as it should
            self.close_connection = True
            return
        if mode == "wrongshape":
            return self.send(200, raw=b'"just a string"')
        if mode == "plain404":
            return self.send(404, raw=b"nothing here")
        try:
            if isinstance(body, str):
                raise Fault(400, "the body is not JSON")
            name = None
            for (m, p), h in ROUTES.items():
                if self.path == p or (p.endswith("/") and p != "/" and
                                      self.path.startswith(p) and len(self.path) > len(p)):
                    if m == self.command:
                        name = h
                        break
                    name = name or "wrong_method"
            if name is None:
                raise Fault(404, "unknown path %s" % self.path)
            if name == "wrong_method":
                raise Fault(405, "method %s not allowed on %s" % (self.command, self.path))
            code, doc = getattr(self, name)(body)
            self.send(code, doc)
        except Fault as e:
            self.send(e.code, {"fault_message": e.msg})

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = handle_any

    def get_root(self, body):
        return 200, {"id": "vmm", "state": state["state"], "vmm_version": "0.1.0",
                     "app_name": "vmm"}

    def get_machine(self, body):
        return 200, config["machine-config"]

    def put_machine(self, body):
        need(body, "vcpu_count", "mem_size_mib")
        before_start()
        config["machine-config"] = body
        return 204, None

    def put_boot(self, body):
        need(body, "kernel_image_path")
        before_start()
        config["boot-source"] = body
        return 204, None

    def put_drive(self, body):
        need(body, "drive_id", "path_on_host")
        before_start()
        if body["drive_id"] != self.path.rsplit("/", 1)[1]:
            raise Fault(400, "drive_id does not match the path")
        config["drives"].append(body)
        return 204, None

    def patch_drive(self, body):
        need(body, "drive_id", "path_on_host")
        if state["state"] == "Not started":
            raise Fault(400, "The requested operation is not supported before starting the microVM.")
        return 204, None

    def put_net(self, body):
        need(body, "iface_id", "host_dev_name")
        before_start()
        return 204, None

    def put_action(self, body):
        need(body, "action_type")
        a = body["action_type"]
        if a == "InstanceStart":
            before_start()
            state["state"] = "Running"
        elif a not in ("SendCtrlAltDel", "PowerButton", "FlushMetrics"):
            raise Fault(400, "unknown action_type %s" % a)
        return 204, None

    def patch_vm(self, body):
        need(body, "state")
        if state["state"] == "Not started":
            raise Fault(400, "the microVM is not running")
        states = {"Paused": "Paused", "Resumed": "Running"}
        if body["state"] not in states:
            raise Fault(400, "bad state %s" % body["state"])
        state["state"] = states[body["state"]]
        return 204, None

    def get_config(self, body):
        return 200, config

    def put_metrics(self, body):
        need(body, "metrics_path")
        return 204, None

    def get_state(self, body):
        return 200, {"state": state["state"], "uptime_ms": 12345,
                     "paused": state["state"] == "Paused"}

    def get_devices(self, body):
        return 200, DEVICES

    def get_vcpus(self, body):
        return 200, VCPUS

    def get_metrics(self, body):
        return 200, {"utc_timestamp_ms": 1700000000000, "uptime_ms": 12345, "vcpus": VCPUS,
                     "devices": DEVICES, "api": {"requests": 42, "errors": 2}}

    def put_stop(self, body):
        need(body, "timeout_ms")
        state["state"] = "Stopping"
        return 204, None


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
with Server(SOCK, Handler) as srv:
    srv.serve_forever()
