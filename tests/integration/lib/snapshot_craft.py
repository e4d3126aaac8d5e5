#!/usr/bin/env python3
"""Writes a snapshot state file whose configuration section holds the given options, as a hostile
file could (the format: vmm/snapshot/format/snap_format.h; the section: vmm/snapshot/vm_snapshot.c).

    snapshot_craft.py STATE OPTIONS_JSON [MEM_SIZE [x86|arm64]]

OPTIONS_JSON is the option list, e.g. '[["disk", "/x.img"], ["console", "file:/y"]]'; MEM_SIZE
(bytes, default 256 MiB) must match the "mem" option. Only the configuration and an info section
are written, and with "x86" an x86 CPU model section (host/kvm/x86/cpu_model.h's header: version
1, no CPUID entry, no MSR), as an x86 VM's snapshot has, with "arm64" one that starts as an
aarch64 VM's does (vmm/snapshot/cpu_check.h's CPU_MODEL_AARCH64_MAGIC): a restore refuses the
file later, at the CPU model or the KVM state, if it gets that far."""
import json
import struct
import sys
import zlib

SNAP_CONFIG, SNAP_INFO, SNAP_CPU_MODEL = 1, 2, 4


def section(tag, data):
    pad = (-len(data)) % 8
    return struct.pack("<IIQ", tag, 0, len(data)) + data + b"\0" * pad


def main():
    path, options = sys.argv[1], json.loads(sys.argv[2])
    mem = int(sys.argv[3]) if len(sys.argv) > 3 else 256 << 20
    config = json.dumps({"version": 1, "mem_size": mem, "vcpus": 1, "options": options})
    body = section(SNAP_CONFIG, config.encode()) + section(SNAP_INFO, b"{}")
    if sys.argv[4:5] == ["x86"]:
        body += section(SNAP_CPU_MODEL, struct.pack("<IIII", 1, 0, 0, 0))
    if sys.argv[4:5] == ["arm64"]:
        body += section(SNAP_CPU_MODEL, b"AA64MODL" + bytes(8))
    total = 24 + len(body) + 8
    data = b"VMMSNAP\0" + struct.pack("<IIQ", 1, 0, total) + body
    data += struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, 0x444E4553)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
