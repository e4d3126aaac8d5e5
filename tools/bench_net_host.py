#!/usr/bin/env python3
"""Host side of the virtio-net rate benchmarks (tools/bench net, tests/integration/net_bench.sh).
Run it inside the benchmark's network namespace, on the tap the VM is attached to; it speaks
raw Ethernet frames of EtherType 0x88b9 (IEEE local experimental) with AF_PACKET: no IP at all.

  bench_net_host.py count IF SECONDS
      counts frames of type 0x88b9 arriving on IF (sent by the guest) from the first, for up to
      SECONDS, ending after 1 s without one; prints "host counted N frames (B bytes)".
  bench_net_host.py send IF MAC SIZE SECONDS
      sends SIZE-byte frames of type 0x88b9 to MAC on IF as fast as one Python thread can for
      SECONDS; prints "host sent N SIZE-byte frames in SECONDS s". Frames the tap's queue
      refuses (the guest is behind) are not counted.
Needs CAP_NET_RAW.
"""

import socket
import struct
import sys
import time

ETH_BENCH = 0x88B9


def open_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_BENCH))
    s.bind((ifname, ETH_BENCH))
    return s


def count(ifname, seconds):
    s = open_socket(ifname)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.settimeout(seconds)
    n = b = 0
    try:
        while True:
            data, addr = s.recvfrom(2048)
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # our own sender's frames, not the guest's
            n, b = n + 1, b + len(data)
            s.settimeout(1.0)
    except socket.timeout:
        pass
    print(f"host counted {n} frames ({b} bytes)", flush=True)


def send(ifname, mac, size, seconds):
    s = open_socket(ifname)
    dst = bytes.fromhex(mac.replace(":", ""))
    frame = dst + s.getsockname()[4] + struct.pack("!H", ETH_BENCH) + bytes(size - 14)
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(64):
            try:
                s.send(frame)
                n += 1
            except OSError:
                pass  # the tap's queue is full: the guest is behind
    print(f"host sent {n} {size}-byte frames in {seconds:g} s", flush=True)


def main(argv):
    try:
        if argv[1] == "count" and len(argv) == 4:
            count(argv[2], float(argv[3]))
            return 0
        if argv[1] == "send" and len(argv) == 6 and 60 <= int(argv[4]) <= 1514:
            send(argv[2], argv[3], int(argv[4]), float(argv[5]))
            return 0
    except (IndexError, ValueError):
        pass
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
