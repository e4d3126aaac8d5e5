#!/usr/bin/env python3
"""Lists the system calls that seccomp filters let through with SCMP_ACT_LOG (the VMM's
--seccomp log, or VMM_SECCOMP_LEARN=1), for keeping the sandbox lists complete.

The kernel prints those audit records to its log at most 10 per 5 s (the rest are "callbacks
suppressed"); the audit netlink socket's read-only multicast group gets every one. Needs root
(CAP_AUDIT_READ). Run it, run the VMM or the tests, then stop it with Ctrl-C (or SIGTERM): it
prints one line per thread name and call, with the count:

    sudo tools/seccomp_audit.py [--pid PID] [--raw FILE]
"""
import argparse
import collections
import ctypes
import ctypes.util
import re
import signal
import socket
import sys

NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1
AUDIT_SECCOMP = 1326
RECORD = re.compile(r'pid=(\d+) .*comm="([^"]*)".*syscall=(\d+)')


def syscall_namer():
    """number -> name through libseccomp (as the VMM does), else the number itself."""
    path = ctypes.util.find_library("seccomp")
    if not path:
        return str
    lib = ctypes.CDLL(path)
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]

    def name(nr):
        ptr = lib.seccomp_syscall_resolve_num_arch(0, nr)  # 0: the native architecture
        return ctypes.string_at(ptr).decode() if ptr else str(nr)

    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pid", type=int, help="only this process's records")
    ap.add_argument("--raw", help="also append every record to this file")
    args = ap.parse_args()
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
        sock.bind((0, 1 << (AUDIT_NLGRP_READLOG - 1)))
    except OSError as e:
        sys.exit(f"seccomp_audit: cannot join the audit multicast group: {e} (root needed)")
    raw = open(args.raw, "a", buffering=1) if args.raw else None
    counts = collections.Counter()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            data = sock.recv(65536)
            # struct nlmsghdr: u32 length, u16 type, u16 flags, u32 seq, u32 pid; then the text
            if len(data) < 16 or int.from_bytes(data[4:6], "little") != AUDIT_SECCOMP:
                continue
            text = data[16:].split(b"\0")[0].decode(errors="replace")
            m = RECORD.search(text)
            if not m or (args.pid and int(m.group(1)) != args.pid):
                continue
            if raw:
                raw.write(text + "\n")
            counts[(m.group(2), int(m.group(3)))] += 1
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        name = syscall_namer()
        for (comm, nr), n in sorted(counts.items()):
            print(f"{comm:16} {name(nr)} ({nr}) x{n}")


if __name__ == "__main__":
    main()
