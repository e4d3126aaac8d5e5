#!/usr/bin/env python3
"""Host side of the virtio-net rate benchmarks (tools/bench net,
tests/integration/bench/test_net_bench.py), a program of its own: the package does not import it.
Run it inside the benchmark's network namespace, on the tap the VM is attached to; it speaks
raw Ethernet frames of EtherType 0x88b9 (IEEE local experimental) with AF_PACKET: no IP at all.

  net_host.py count IF SECONDS
      counts frames of type 0x88b9 arriving on IF (sent by the guest) from the first, for up to
      SECONDS, ending after 1 s without one; prints "host counted N frames (B bytes)".
  net_host.py send IF MAC SIZE SECONDS [FLOWS]
      sends SIZE-byte frames of type 0x88b9 to MAC on IF as fast as one Python thread can for
      SECONDS; prints "host sent N SIZE-byte frames in SECONDS s". Frames the tap's queue
      refuses (the guest is behind) are not counted. With FLOWS (1..64) the frames are
      IPv4/UDP instead, 192.168.77.1 to .2, port 0x88b9, from FLOWS source ports (40000 and
      up) in turn, so that a multi-queue tap spreads them over its queues by flow hash.
Needs CAP_NET_RAW.
"""

import socket
import struct
import sys
import time

ETH_BENCH = 0x88B9
ETH_P_IP = 0x0800
MAX_FLOWS = 64
SPORT_BASE = 40000
SRC_IP, DST_IP = bytes([192, 168, 77, 1]), bytes([192, 168, 77, 2])


def open_socket(ifname, proto=ETH_BENCH):
    """An AF_PACKET socket on ifname for EtherType proto (0: sends only, and the kernel takes
    each frame's protocol from its header)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((ifname, proto))
    return s


def ip_checksum(header):
    """RFC 791 checksum of a header whose checksum field is zero."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(macs, size, flow):
    """A SIZE-byte IPv4/UDP frame of flow `flow` (its source port) to port 0x88b9, zero payload,
    no UDP checksum (optional over IPv4)."""
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 0, 0, 64, 17, 0, SRC_IP,
                               DST_IP))
    ip[10:12] = struct.pack("!H", ip_checksum(bytes(ip)))
    udp = struct.pack("!HHHH", SPORT_BASE + flow, ETH_BENCH, size - 34, 0)
    return macs + struct.pack("!H", ETH_P_IP) + bytes(ip) + udp + bytes(size - 42)


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


def send(ifname, mac, size, seconds, flows=0):
    s = open_socket(ifname, 0 if flows else ETH_BENCH)
    macs = bytes.fromhex(mac.replace(":", "")) + s.getsockname()[4]
    if flows:
        frames = [udp_frame(macs, size, k) for k in range(flows)]
    else:
        frames = [macs + struct.pack("!H", ETH_BENCH) + bytes(size - 14)]
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for i in range(64):
            try:
                s.send(frames[i % len(frames)])
                n += 1
            except OSError:
                pass  # the tap's queue is full: the guest is behind
    print(f"host sent {n} {size}-byte frames in {seconds:g} s", flush=True)


def main(argv):
    try:
        if argv[1] == "count" and len(argv) == 4:
            count(argv[2], float(argv[3]))
            return 0
        flows = int(argv[6]) if len(argv) == 7 else 0
        if (argv[1] == "send" and len(argv) in (6, 7) and 60 <= int(argv[4]) <= 1514 and
                0 <= flows <= MAX_FLOWS):
            send(argv[2], argv[3], int(argv[4]), float(argv[5]), flows)
            return 0
    except (IndexError, ValueError):
        pass
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
