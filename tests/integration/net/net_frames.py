"""Host side of the virtio_net test guest (tests/guests/virtio_net.c): raw Ethernet frames on the
tap (AF_PACKET), run inside the test's namespace (`python3 net_frames.py CMD IF MAC ...`):
  delayed IF MAC N        N frames of type 0x88b6 (payload: u32 seq)
  sweep IF MAC RANGE...   RANGE = A-B[:STEP]: pattern frames (0x88b5) of each size, each echoed
                          back by the guest and compared byte for byte
  gen IF MAC LEN          asks the guest (0x88b8) for a pattern frame of LEN bytes; checks it
  probe IF MAC            asks the guest for its 0x88b8 frame of 100 bytes; prints "arrived" or
                          "none" (an egress policy may hold it back)
  quit IF MAC             ends the guest's serving loop (0x88b7)
Exits non-zero with the reason when a check fails."""
import socket
import struct
import sys
from pathlib import Path

PATH = Path(__file__).resolve()


def pattern(size, seq, src, dst, typ):
    body = bytes((seq * 7 + k) & 0xff for k in range(8, size - 14))
    return dst + src + struct.pack("!HII", typ, seq, size) + body


def open_sock(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    s.settimeout(3)
    return s, s.getsockname()[4]


def recv_type(s, typ, src):
    while True:
        data, addr = s.recvfrom(70000)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        if data[6:12] == src and struct.unpack("!H", data[12:14])[0] == typ:
            return data


def sizes(ranges):
    for r in ranges:
        step = 1
        if ":" in r:
            r, step = r.split(":")
        a, b = (int(x) for x in r.split("-"))
        yield from range(a, b + 1, int(step))
        if (b - a) % int(step):
            yield b


def main():
    cmd, ifname, mac = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3].replace(":", ""))
    s, me = open_sock(ifname)
    if cmd == "delayed":
        for seq in range(int(sys.argv[4])):
            s.send(mac + me + struct.pack("!HI", 0x88b6, seq) + bytes(46))
        print("sent", sys.argv[4])
    elif cmd == "sweep":
        n, lo, hi = 0, None, 0
        for seq, size in enumerate(sizes(sys.argv[4:])):
            out = pattern(size, seq, me, mac, 0x88b5)
            s.send(out)
            try:
                back = recv_type(s, 0x88b5, mac)
            except socket.timeout:
                sys.exit(f"size {size}: no echo")
            if back != me + mac + out[12:]:
                bad = next((i for i in range(min(len(back), len(out)))
                            if i >= 12 and back[i] != out[i]), None)
                sys.exit(f"size {size}: echo of {len(back)} bytes differs (first at {bad})")
            n, lo, hi = n + 1, size if lo is None else lo, size
        print(f"{n} sizes from {lo} to {hi} echoed intact")
    elif cmd == "gen":
        size = int(sys.argv[4])
        s.send(mac + me + struct.pack("!HII", 0x88b8, size, 99) + bytes(42))
        back = recv_type(s, 0x88b8, mac)
        if back != pattern(size, 99, mac, me, 0x88b8):
            sys.exit(f"generated frame of {len(back)} bytes, want {size} intact")
        print(f"frame of {size} bytes from the guest intact")
    elif cmd == "probe":
        s.send(mac + me + struct.pack("!HII", 0x88b8, 100, 99) + bytes(42))
        try:
            recv_type(s, 0x88b8, mac)
            print("arrived")
        except socket.timeout:
            print("none")
    elif cmd == "quit":
        s.send(mac + me + struct.pack("!H", 0x88b7) + bytes(46))
    else:
        sys.exit(f"unknown command {cmd}")


def frames(ns, mac, cmd, *args, check=True, timeout=600):
    """Runs net_frames.py CMD on NS's tap for the guest at MAC; returns its output (asserted to
    succeed unless CHECK is false: then the CompletedProcess)."""
    run = ns.exec(sys.executable, PATH, cmd, ns.tap, mac, *args, check=False, timeout=timeout)
    if not check:
        return run
    assert run.returncode == 0, f"net_frames {cmd} {' '.join(map(str, args))}: " \
                                f"{(run.stdout + run.stderr).strip()[-2000:]}"
    return run.stdout.strip()


if __name__ == "__main__":
    main()
