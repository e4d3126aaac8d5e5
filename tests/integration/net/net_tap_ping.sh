#!/usr/bin/env bash
# virtio-net over a tap, driven by the virtio_net test guest (tests/guests/virtio_net.c), on our
# VMM and on QEMU microvm, without and with offloads (MRG_RXBUF, CSUM, TSO negotiated; the tap's
# MTU raised to 65535):
#   - frames sent while the guest has no receive buffer wait and all arrive once it posts some;
#   - the guest answers ARP and ICMP echo: `ping -c 3` from the host side succeeds (and a 60000-
#     byte ping without fragmentation with offloads);
#   - frames of every size from 60 to 1514 bytes (with offloads also 1515..65535 in steps of 997,
#     and 65535: the largest an AF_PACKET socket sends on a tap, whose MTU stops at 65521) go
#     host -> guest -> host intact, and the guest sends one of 65550 bytes (5.1.6.3.1's largest);
# all inside a network namespace this script makes and removes (vmmtest-$$), on a private
# subnet (192.168.77.0/24) that exists only there: no traffic leaves the namespace.
# Host-side frames come from a small python3 AF_PACKET tool (written to $LIB_TMP).
# labels: guests virtio net
# requires: kvm netns
# timeout: 1500
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-$$"
TAP=vtap0
HOST_IP=192.168.77.1
GUEST_IP=192.168.77.2
GUEST_MAC=52:54:00:77:00:02
DELAYED=64
VM_PID=""
RUN_TIMEOUT=${NET_RUN_TIMEOUT:-300} # one VM run: the sweeps take minutes where ring 0 is emulated

net_require ip python3 ping

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT




wait_vm() {
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
}

# check WHAT CMD...: a host-side step, counted like the lib.sh checks.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		lib_ok "$what${out:+: $(tail -n 1 <<<"$out")}"
	else
		lib_fail "$what"
		echo "$out" | tail -n 20
	fi
}

cat >"$LIB_TMP/frames.py" <<'EOF'
# Host side of the virtio_net guest's tests: raw Ethernet frames on the tap (AF_PACKET).
#   delayed IF MAC N        N frames of type 0x88b6 (payload: u32 seq)
#   sweep IF MAC RANGE...   RANGE = A-B[:STEP]: pattern frames (0x88b5) of each size, each
#                           echoed back by the guest and compared byte for byte
#   gen IF MAC LEN          asks the guest (0x88b8) for a pattern frame of LEN bytes; checks it
#   quit IF MAC             ends the guest's serving loop (0x88b7)
import socket, struct, sys

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
                bad = next((i for i in range(min(len(back), len(out))) if i >= 12 and back[i] != out[i]), None)
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
    elif cmd == "quit":
        s.send(mac + me + struct.pack("!H", 0x88b7) + bytes(46))

main()
EOF

frames() { nsx python3 "$LIB_TMP/frames.py" "$1" "$TAP" "$GUEST_MAC" "${@:2}"; }

# exercise MODE: the host side of one guest run (the guest was started with rx_frames=DELAYED).
exercise() {
	wait_line '^rx buffers withheld' 30 || return
	check "$DELAYED frames sent while the guest had no buffers" frames delayed "$DELAYED"
	wait_line '^serving at' 30 || return
	check "ping -c 3 $GUEST_IP" nsx ping -c 3 -W 2 -i 0.3 "$GUEST_IP"
	check "sizes 60..1514 round trip" frames sweep 60-1514
	if [ "$1" = offload ]; then
		check "ping -s 60000 (no fragments)" nsx ping -c 2 -W 5 -s 60000 -M do "$GUEST_IP"
		check "sizes 1515..65535 round trip" frames sweep 1515-65535:997
		check "guest sends 65550 bytes" frames gen 65550
	fi
	frames quit
	wait_vm
	expect_pass
	expect_output "^rx delay: $DELAYED of $DELAYED frames after buffers were posted: ok$"
	expect_output '^served: [1-9][0-9]* ARP replies, [1-9][0-9]* ICMP echo replies'
	# 5.1.6.4: without MRG_RXBUF the device MUST set num_buffers to 1 (QEMU 7.2 leaves 0).
	case "$RUN_LABEL" in vmm*) expect_output '^num_buffers != 1 without MRG_RXBUF: 0 frames$' ;; esac
}

for mode in plain offload; do
	opt=""
	mtu=1500
	[ "$mode" = offload ] && opt=offload mtu=65521 # tun's largest: 65535 - ETH_HLEN
	append="ip=$GUEST_IP rx_frames=$DELAYED rx_delay_ms=3000 serve_ms=$((RUN_TIMEOUT * 1000 - 30000)) $opt"

	make_ns "$mtu" || { lib_fail "cannot make namespace $NS"; break; }
	start_bg "vmm $mode" "$VMM" --kernel "$(guest_path virtio_net)" --debug-exit \
		--console stdio --mem 256M --net "tap=$TAP,mac=$GUEST_MAC" --append "$append"
	exercise "$mode"

	if have_qemu; then
		make_ns "$mtu"
		accel=(-accel tcg -cpu max)
		[ -w /dev/kvm ] && accel=(-enable-kvm -cpu host,-arch-capabilities)
		start_bg "qemu $mode" "$QEMU" "${accel[@]}" -M microvm,acpi=off -m 256M -nodefaults \
			-no-user-config -nographic -serial stdio \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			-global virtio-mmio.force-legacy=false \
			-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
			-device "virtio-net-device,netdev=n0,mac=$GUEST_MAC" \
			-kernel "$(guest_path virtio_net)" -append "$append"
		exercise "$mode"
	fi
done
finish
