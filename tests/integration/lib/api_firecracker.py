#!/usr/bin/env python3
"""Firecracker API conformance: replays Firecracker's getting-started sequence and request bodies
shaped like its test framework's, against an unstarted VMM's API socket (used by
api/test_api_firecracker.py). Every status code is checked, and every response body is validated against
JSON Schemas written here from the models Firecracker documents in its OpenAPI description
(InstanceInfo, FirecrackerVersion, MachineConfiguration, FullVmConfiguration and its parts,
Error). The schemas refuse members the models do not define, so an extra field fails too.

Usage: api_firecracker.py SOCKET KERNEL DISK LOGFILE SCRATCH [--tap NAME] [--kvm]
(DISK is the root drive, SCRATCH a second, read-only one.)
With --kvm the final InstanceStart must succeed (204); without it, it must be refused with 400
and a fault_message. Exit status 0 when every check passed."""
import argparse
import http.client
import json
import socket
import sys

import jsonschema

INT = {"type": "integer"}
NAT = {"type": "integer", "minimum": 0}
STR = {"type": "string"}
BOOL = {"type": "boolean"}


def obj(props, required=()):
    return {"type": "object", "properties": props, "required": list(required),
            "additionalProperties": False}


ERROR = obj({"fault_message": STR}, ["fault_message"])
INSTANCE_INFO = obj({"app_name": STR, "id": STR,
                     "state": {"enum": ["Not started", "Running", "Paused"]},
                     "vmm_version": STR}, ["app_name", "id", "state", "vmm_version"])
VERSION = obj({"firecracker_version": STR}, ["firecracker_version"])
CPU_TEMPLATE = {"enum": ["C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"]}
MACHINE_CONFIG = obj({"cpu_template": CPU_TEMPLATE, "smt": BOOL,
                      "mem_size_mib": INT, "track_dirty_pages": BOOL,
                      "vcpu_count": {"type": "integer", "minimum": 1, "maximum": 32},
                      "huge_pages": {"enum": ["None", "Transparent", "2M"]}},
                     ["mem_size_mib", "vcpu_count"])
TOKEN_BUCKET = obj({"one_time_burst": NAT, "refill_time": NAT, "size": NAT},
                   ["refill_time", "size"])
RATE_LIMITER = obj({"bandwidth": TOKEN_BUCKET, "ops": TOKEN_BUCKET})
# Firecracker serializes its Option<> members unset as null (GET /vm/config)
STR_OR_NULL = {"type": ["string", "null"]}
BOOT_SOURCE = obj({"boot_args": STR_OR_NULL, "initrd_path": STR_OR_NULL,
                   "kernel_image_path": STR},
                  ["kernel_image_path"])
DRIVE = obj({"drive_id": STR, "partuuid": STR, "is_root_device": BOOL,
             "cache_type": {"enum": ["Unsafe", "Writeback"]}, "is_read_only": BOOL,
             "path_on_host": STR, "rate_limiter": RATE_LIMITER,
             "io_engine": {"enum": ["Sync", "Async"]}, "socket": STR},
            ["drive_id", "is_root_device"])
NIC = obj({"guest_mac": STR, "host_dev_name": STR, "iface_id": STR,
           "mtu": {"type": "integer", "minimum": 68, "maximum": 65535},
           "rx_rate_limiter": RATE_LIMITER, "tx_rate_limiter": RATE_LIMITER},
          ["host_dev_name", "iface_id"])
BALLOON = obj({"amount_mib": INT, "deflate_on_oom": BOOL, "stats_polling_interval_s": INT,
               "free_page_hinting": BOOL, "free_page_reporting": BOOL},
              ["amount_mib", "deflate_on_oom"])
VSOCK = obj({"guest_cid": {"type": "integer", "minimum": 3}, "uds_path": STR, "vsock_id": STR},
            ["guest_cid", "uds_path"])
METRICS = obj({"metrics_path": STR, "emit_id": BOOL,
               "properties": {"type": "object", "additionalProperties": STR}},
              ["metrics_path"])
ENTROPY = obj({"rate_limiter": RATE_LIMITER})
FULL_VM_CONFIG = obj({"balloon": BALLOON, "drives": {"type": "array", "items": DRIVE},
                      "boot-source": BOOT_SOURCE, "machine-config": MACHINE_CONFIG,
                      "metrics": METRICS,
                      "network-interfaces": {"type": "array", "items": NIC},
                      "vsock": VSOCK, "entropy": ENTROPY})

failures = []
checks = 0


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def call(method, path, body=None, want=204, schema=None, fault_has=None):
    """One request: its status must be `want`; a 200 body must match `schema`, an error body
    the Error model (with `fault_has` in its message). Returns the parsed body or None."""
    global checks
    checks += 1
    conn = UnixConnection(ARGS.socket)
    data = None if body is None else json.dumps(body)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        status, raw = resp.status, resp.read()
    finally:
        conn.close()
    label = f"{method} {path} {(data or '')[:60]}"
    if status != want:
        failures.append(f"{label}: {status}, want {want}: {raw[:200]!r}")
        return None
    doc = json.loads(raw) if raw else None
    if status >= 400:
        schema = ERROR
    elif status == 204 and raw:
        failures.append(f"{label}: 204 with a body {raw[:100]!r}")
        return None
    if schema is not None:
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as e:
            failures.append(f"{label}: body does not match the model: {e.message}: {raw[:200]!r}")
            return None
    if fault_has and fault_has not in doc["fault_message"]:
        failures.append(f"{label}: fault_message {doc['fault_message']!r} lacks {fault_has!r}")
        return None
    print(f"ok: {label} -> {status}")
    return doc


def getting_started():
    """Firecracker's getting-started guide, in its order."""
    call("PUT", "/logger", {"log_path": ARGS.logfile, "level": "Debug", "show_level": True,
                            "show_log_origin": True})
    call("PUT", "/boot-source", {"kernel_image_path": ARGS.kernel,
                                 "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"})
    call("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": ARGS.disk,
                                   "is_root_device": True, "is_read_only": False})
    if ARGS.tap:
        call("PUT", "/network-interfaces/net1", {"iface_id": "net1",
                                                 "guest_mac": "06:00:AC:10:00:02",
                                                 "host_dev_name": ARGS.tap})
    else:
        print("note: no tap could be made: PUT /network-interfaces left out of the sequence")


def framework_bodies():
    """Bodies shaped like Firecracker's test framework sends them: every optional field, often
    as null; and its negative cases."""
    call("GET", "/", want=200, schema=INSTANCE_INFO)
    call("GET", "/version", want=200, schema=VERSION)
    call("GET", "/machine-config", want=200, schema=MACHINE_CONFIG)
    call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 128, "smt": False,
                                    "track_dirty_pages": False, "huge_pages": "None",
                                    "cpu_template": None})
    call("PATCH", "/machine-config", {"mem_size_mib": 64})
    mc = call("GET", "/machine-config", want=200, schema=MACHINE_CONFIG)
    if mc and (mc["vcpu_count"], mc["mem_size_mib"]) != (2, 64):
        failures.append(f"PATCH /machine-config: got {mc}, want 2 vCPUs and 64 MiB")
    call("PUT", "/machine-config", {"vcpu_count": 3, "mem_size_mib": 64, "smt": True},
         want=400, fault_has="smt")
    call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64, "smt": True})
    mc = call("GET", "/machine-config", want=200, schema=MACHINE_CONFIG)
    if mc and not mc["smt"]:
        failures.append(f"PUT /machine-config smt true: got {mc}")
    call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64, "smt": False})
    call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64, "huge_pages": "2M"},
         want=400, fault_has="2M")
    call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64, "cpu_template": "T2"},
         want=400, fault_has="T2")
    call("PUT", "/drives/scratch", {"drive_id": "scratch", "path_on_host": ARGS.scratch,
                                    "is_root_device": False, "is_read_only": True,
                                    "partuuid": None, "cache_type": "Unsafe",
                                    "io_engine": "Sync", "rate_limiter": None, "socket": None})
    call("PUT", "/drives/scratch", {"drive_id": "scratch", "path_on_host": ARGS.scratch,
                                    "is_root_device": False, "is_read_only": True,
                                    "rate_limiter": {"bandwidth": {"size": 1048576,
                                                                   "refill_time": 100},
                                                     "ops": None}})
    call("PUT", "/drives/other", {"drive_id": "x", "path_on_host": ARGS.disk,
                                  "is_root_device": False}, want=400)
    # Firecracker's mtu range is 68..65535
    call("PUT", "/network-interfaces/bad", {"iface_id": "bad", "host_dev_name": "tap0",
                                            "mtu": 67}, want=400, fault_has="mtu")
    call("PUT", "/vsock", {"guest_cid": 3, "uds_path": ARGS.logfile + ".vsock",
                           "vsock_id": None})
    # The entropy device (our virtio-rng) limits bytes and requests, as Firecracker's.
    call("PUT", "/entropy", {"rate_limiter": {"bandwidth": None, "ops": {"size": 10,
                                                                          "refill_time": 100}}})
    call("PUT", "/entropy", {"rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100,
                                                            "one_time_burst": None}}})
    call("PUT", "/balloon", {"amount_mib": 0, "deflate_on_oom": False,
                             "stats_polling_interval_s": 0, "free_page_hinting": False,
                             "free_page_reporting": False})
    call("GET", "/balloon", want=200, schema=BALLOON)
    # Metrics with Firecracker's optional line fields (an unknown field is refused).
    call("PUT", "/metrics", {"metrics_path": ARGS.logfile + ".metrics", "emit_id": True,
                             "properties": {"customer_id": "1234"}, "flush_s": 5},
         want=400, fault_has="flush_s")
    call("PUT", "/metrics", {"metrics_path": ARGS.logfile + ".metrics", "emit_id": True,
                             "properties": {"customer_id": "1234", "bundle_id": "fn-abc"}})
    call("PUT", "/actions", {"action_type": "FlushMetrics"})
    with open(ARGS.logfile + ".metrics") as f:
        line = json.loads(f.readline())
    if line.get("properties") != {"customer_id": "1234", "bundle_id": "fn-abc"} or \
            not line.get("id"):
        failures.append(f"metrics line without the id and properties: {str(line)[:200]}")
    call("GET", "/vm/config", want=200, schema=FULL_VM_CONFIG)
    # Errors are 400 with a JSON fault_message, never 404 or 405.
    call("GET", "/invalid/path", want=400, fault_has="Invalid request method and/or path")
    call("DELETE", "/machine-config", want=400, fault_has="DELETE")
    call("PATCH", "/actions", {"action_type": "InstanceStart"}, want=400)
    call("PATCH", "/mmds", {"latest": {}}, want=400, fault_has="not initialized")
    # a second PUT /logger reconfigures (Firecracker's LOGGER.update)
    call("PUT", "/logger", {"log_path": ARGS.logfile, "level": "Debug"})
    call("PATCH", "/vm", {"state": "Paused"}, want=400)
    call("PUT", "/actions", {"action_type": "Explode"}, want=400)


def start():
    # The sequence's machine-config (the guide's body, scaled to a test guest), then the start.
    call("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    call("GET", "/vm/config", want=200, schema=FULL_VM_CONFIG)
    if ARGS.kvm:
        call("PUT", "/actions", {"action_type": "InstanceStart"})
    else:
        call("PUT", "/actions", {"action_type": "InstanceStart"}, want=400)
        call("GET", "/", want=200, schema=INSTANCE_INFO)


def before_anything():
    """Issue 49's rows that need a fresh VMM: what GET shows before any PUT."""
    vc = call("GET", "/vm/config", want=200, schema=FULL_VM_CONFIG)
    if vc and vc["boot-source"] != {"kernel_image_path": "", "initrd_path": None,
                                    "boot_args": None}:
        failures.append(f"GET /vm/config before a boot source: {vc['boot-source']}")
    call("GET", "/hotplug/memory", want=400, fault_has="before starting")


def firecracker_rows():
    """Issue 49's rows: where this VMM answered differently, each as Firecracker answers."""
    call("GET", "//machine-config", want=200, schema=MACHINE_CONFIG)
    call("GET", "/machine-config/", want=200, schema=MACHINE_CONFIG)
    call("PATCH", "/machine-config", {}, want=400, fault_has="Empty PATCH request.")
    for field in ("smt", "track_dirty_pages", "huge_pages"):
        call("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64, field: None},
             want=400, fault_has="null")
    call("PUT", "/metrics", {"metrics_path": ARGS.logfile + ".m2", "emit_id": None},
         want=400, fault_has="null")
    call("PUT", "/balloon", {"amount_mib": 0, "deflate_on_oom": False,
                             "stats_polling_interval_s": None}, want=400, fault_has="null")
    call("PATCH", "/pmem/p0", {"id": "p0", "rate_limiter": {"ops": {"size": 1,
                                                                "refill_time": 10}}},
         want=400, fault_has="before starting")


def mmds_rows():
    """After framework_bodies(), which wants the store not initialized yet."""
    call("PUT", "/mmds", {})
    with_null = call_raw("PUT", "/mmds", "null")
    if with_null != 204:
        failures.append(f"PUT /mmds null: {with_null}")
    # what a device's PUT names on the host is looked at then, as Firecracker opens it
    call("PUT", "/network-interfaces/gone", {"iface_id": "gone", "host_dev_name": "nosuchtap0"},
         want=400, fault_has="nosuchtap0")
    call("PUT", "/vsock", {"guest_cid": 3, "uds_path": "/nonexistent/dir/v.sock"},
         want=400, fault_has="/nonexistent/dir")
    call("PUT", "/pmem/gone", {"id": "gone", "path_on_host": "/nonexistent/pmem.img"},
         want=400, fault_has="/nonexistent/pmem.img")
    call("PUT", "/serial", {"serial_out_path": "/nonexistent/dir/serial.out"},
         want=400, fault_has="/nonexistent/dir")
    # Firecracker 1.17's serial rate_limiter is one TokenBucket: refill_time is required (a
    # good one is taken; tests/integration/boot/test_serial_fifo.py runs it, this VM keeps stdio)
    call("PUT", "/serial", {"serial_out_path": ARGS.logfile + ".serial",
                            "rate_limiter": {"size": 1024}},
         want=400, fault_has="rate_limiter")
    mmds = call("GET", "/mmds", want=200)
    if mmds != {}:
        failures.append(f"GET /mmds after PUT /mmds null: {mmds!r}, want {{}}")


def call_raw(method, path, data):
    """A request with a body sent as is; its status."""
    global checks
    checks += 1
    conn = UnixConnection(ARGS.socket)
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def main():
    before_anything()
    getting_started()
    firecracker_rows()
    framework_bodies()
    mmds_rows()
    start()
    for f in failures:
        print("FAIL: " + f)
    print(f"{checks - len(failures)} of {checks} requests as Firecracker answers them")
    return 1 if failures else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("kernel")
    p.add_argument("disk")
    p.add_argument("logfile")
    p.add_argument("scratch")
    p.add_argument("--tap")
    p.add_argument("--kvm", action="store_true")
    ARGS = p.parse_args()
    sys.exit(main())
