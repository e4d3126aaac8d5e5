#!/usr/bin/env bash
# virtio-net with user-mode networking (libslirp), driven by the virtio_net_user test guest
# (tests/guests/virtio_net_user.c), on our VMM (--net user,hostfwd=...) and on QEMU
# (-netdev user,hostfwd=...):
#   - the guest gets 10.0.2.15 by DHCP;
#   - it connects to 10.0.2.2:PORT, which slirp maps to 127.0.0.1:PORT, where a python3 server
#     of this script answers "echo: <line>";
#   - this script connects to 127.0.0.1:HOSTPORT, forwarded to the guest's listening port, sends
#     "ping from the host" and expects "pong: ping from the host".
# Everything runs in a network namespace made here (only its loopback), so no traffic leaves it.
# labels: guests virtio net
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-$$"
PORT=7777     # the host service, reached by the guest at 10.0.2.2:PORT
HOSTPORT=2222 # forwarded to the guest's GUESTPORT
GUESTPORT=8080
VM_PID=""
SRV_PID=""

net_require ip python3

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

ip netns add "$NS" || {
	echo "FAIL: cannot make namespace $NS"
	exit 1
}
ip -n "$NS" link set lo up

cat >"$LIB_TMP/tcp.py" <<'EOF'
# serve PORT: answers one line per connection with "echo: <line>" (runs until killed)
# ask PORT:   sends "ping from the host\n", prints the answer line
import socket, sys, time

def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        with c:
            line = c.makefile("rb").readline()
            c.sendall(b"echo: " + line)

def ask(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sendall(b"ping from the host\n")
    print(c.makefile("rb").readline().decode().rstrip("\n"))

{"serve": serve, "ask": ask}[sys.argv[1]](int(sys.argv[2]))
EOF

nsx python3 "$LIB_TMP/tcp.py" serve "$PORT" >"$LIB_TMP/server.log" 2>&1 &
SRV_PID=$!
for ((i = 0; i < 50; i++)); do
	grep -q listening "$LIB_TMP/server.log" && break
	sleep 0.2
done



# exercise: the host side of one run.
exercise() {
	local answer
	if wait_line "^listening on port $GUESTPORT" 60; then
		answer=$(nsx python3 "$LIB_TMP/tcp.py" ask "$HOSTPORT" 2>&1)
		if [ "$answer" = "pong: ping from the host" ]; then
			lib_ok "hostfwd 127.0.0.1:$HOSTPORT -> guest:$GUESTPORT answered"
		else
			lib_fail "hostfwd answer: $answer"
		fi
	fi
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
	expect_pass
	expect_output '^dhcp: got 10.0.2.15: ok$'
	expect_output "^tcp connect to 10.0.2.2:$PORT: sent, echo received, closed: ok$"
	expect_output "^tcp accept on $GUESTPORT: request received, answered, closed: ok$"
}

# TRANSPORT=pci (net_user_pci.sh): the NIC on virtio-pci (MSI-X), QEMU on q35.
TRANSPORT=${TRANSPORT:-mmio}
append="port=$PORT listen=$GUESTPORT"
vmm_transport=()
qemu_machine=(-M microvm,acpi=off -global virtio-mmio.force-legacy=false)
qemu_nic=virtio-net-device
if [ "$TRANSPORT" = pci ]; then
	append+=" transport=pci"
	vmm_transport=(--transport pci)
	qemu_machine=(-M q35)
	qemu_nic=virtio-net-pci,disable-legacy=on
fi
start_bg "vmm user" "$VMM" --kernel "$(guest_path virtio_net_user)" --debug-exit \
	--console stdio --mem 256M "${vmm_transport[@]}" \
	--net "user,hostfwd=tcp:127.0.0.1:$HOSTPORT-:$GUESTPORT" --append "$append"
exercise

if have_qemu; then
	if ! "$QEMU" -netdev help 2>/dev/null | grep -qx user; then
		echo "SKIP: $QEMU has no user-mode networking"
	else
		accel=(-accel tcg -cpu max)
		[ -w /dev/kvm ] && accel=(-enable-kvm -cpu host,-arch-capabilities)
		start_bg "qemu user" "$QEMU" "${accel[@]}" "${qemu_machine[@]}" -m 256M -nodefaults \
			-no-user-config -nographic -serial stdio \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$HOSTPORT-:$GUESTPORT" \
			-device "$qemu_nic,netdev=n0" \
			-kernel "$(guest_path virtio_net_user)" -append "$append"
		exercise
	fi
fi
finish
