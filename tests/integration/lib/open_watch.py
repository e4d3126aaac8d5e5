#!/usr/bin/env python3
"""Runs a command and says which of the watched paths it opened or created (inotify).

    open_watch.py [--timeout SEC] PATH... -- COMMAND [ARG...]

A PATH that is a file is watched for opens (IN_OPEN: an open of any mode, even one that reads
nothing); a PATH that is a folder for entries created in it (IN_CREATE). Prints one line per event,
"opened PATH" or "created PATH/NAME", after the command's own output, and exits with the command's
status (124 when it outlived --timeout, default 30 s, and was killed)."""
import ctypes
import os
import struct
import subprocess
import sys

IN_OPEN = 0x20
IN_CREATE = 0x100
IN_NONBLOCK = 0o4000


def main():
    args = sys.argv[1:]
    timeout = 30.0
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    if "--" not in args:
        sys.exit("usage: open_watch.py [--timeout SEC] PATH... -- COMMAND [ARG...]")
    cut = args.index("--")
    paths, command = args[:cut], args[cut + 1 :]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK)
    if fd < 0:
        sys.exit(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
    watches = {}
    for p in paths:
        mask = IN_CREATE if os.path.isdir(p) else IN_OPEN
        wd = libc.inotify_add_watch(fd, os.fsencode(p), mask)
        if wd < 0:
            sys.exit(f"inotify_add_watch {p}: {os.strerror(ctypes.get_errno())}")
        watches[wd] = p
    try:
        status = subprocess.run(command, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        status = 124
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        data = b""
    off = 0
    while off + 16 <= len(data):
        wd, mask, _cookie, length = struct.unpack_from("iIII", data, off)
        name = data[off + 16 : off + 16 + length].rstrip(b"\0").decode()
        off += 16 + length
        where = watches.get(wd, "?")
        if mask & IN_CREATE:
            print(f"created {where}/{name}")
        elif mask & IN_OPEN:
            print(f"opened {where}")
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
