#!/usr/bin/env bash
# The egress policy on a tap (issue 53, docs/networking.md "Egress policy"; libslirp's side is in
# tests/integration/linux/linux_mmds_slirp.sh), driven by the virtio_net test guest
# (tests/guests/virtio_net.c), which answers ARP and ICMP echo: what the guest sends (its echo
# replies, a frame of its own EtherType) passes or not as the NIC's rules say. Two runs, each in a
# network namespace this script makes (vmmtest-$$, 192.168.78.0/24, nothing leaves it):
#   1. egress=HOST/32:icmp: `ping` from the host gets its replies (ARP always passes), the guest's
#      own-EtherType frame does not arrive, and the metrics count it in tx_egress_dropped; GET
#      /vm/config shows the rule in canonical form;
#   2. egress=HOST/32:tcp:443 (the host, but not ICMP): the guest says it answered the pings, the
#      host sees no answer, and every refused reply is counted; then, on the same running VM,
#      `vmmctl patch-net --egress` (PATCH /network-interfaces/net0): a rule that does not parse
#      is refused (the pings still get no answer), HOST/32:icmp is taken (the pings are answered,
#      GET /vm/config shows the new rule and not the old); `--egress off` (`"egress": null`)
#      removes the policy (GET /vm/config shows none, the pings are still answered).
# Then a bad rule on the command line: exit status 2, the rule named.
# labels: guests virtio net
# requires: kvm netns
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-$$"
TAP=vtap0
HOST_IP=192.168.78.1
GUEST_IP=192.168.78.2
GUEST_MAC=52:54:00:78:00:02
VM_PID=""
RUN_TIMEOUT=${NET_RUN_TIMEOUT:-120}
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"

net_require ip python3 ping

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

# The guest's frame of its own EtherType (0x88b8: "send me LEN bytes"), asked for from the host:
# prints "arrived" or "none".
cat >"$LIB_TMP/gen.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(3)
mac = bytes.fromhex(sys.argv[2].replace(":", ""))
s.send(mac + s.getsockname()[4] + struct.pack("!HII", 0x88b8, 100, 99) + bytes(42))
try:
    while True:
        data, addr = s.recvfrom(70000)
        if addr[2] != socket.PACKET_OUTGOING and data[6:12] == mac and data[12:14] == b"\x88\xb8":
            print("arrived")
            break
except socket.timeout:
    print("none")
EOF
net_quit_tool

# The NIC's tx_egress_dropped from the metrics (GET /vmm/metrics; one NIC), or "-".
dropped() {
	local n
	n=$("$VMMCTL" --sock "$LIB_TMP/api.sock" --json metrics 2>&1 |
		grep -oE '"tx_egress_dropped": ?[0-9]+' | grep -oE '[0-9]+$')
	echo "${n:--}"
}

# run LABEL RULE: the guest on the tap with egress=RULE and an API socket, serving.
run() {
	rm -f "$LIB_TMP/api.sock"
	make_ns || {
		lib_fail "cannot make namespace $NS"
		return 1
	}
	start_bg "$1" "$VMM" --kernel "$(guest_path virtio_net)" --debug-exit --console stdio \
		--mem 256M --api-sock "$LIB_TMP/api.sock" --net "tap=$TAP,mac=$GUEST_MAC,egress=$2" \
		--append "ip=$GUEST_IP serve_ms=$(((RUN_TIMEOUT - 30) * 1000))"
	wait_line '^serving at' 60
}

# end: the quit frame, then the guest's own count of what it answered.
end_run() {
	nsx python3 "$LIB_TMP/quit.py" "$TAP" "$GUEST_MAC"
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
	expect_pass
}

if run "icmp to the host allowed" "$HOST_IP/32:icmp"; then
	net_check "ping -c 3 $GUEST_IP: the echo replies (ICMP to the host) pass" \
		nsx ping -c 3 -W 2 -i 0.3 "$GUEST_IP"
	got=$(nsx python3 "$LIB_TMP/gen.py" "$TAP" "$GUEST_MAC")
	if [ "$got" = none ]; then
		lib_ok "the guest's EtherType 0x88b8 frame (no rule takes it) did not arrive"
	else
		lib_fail "the guest's EtherType 0x88b8 frame arrived ($got) although no rule takes it"
	fi
	n=$(dropped)
	if [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
		lib_ok "tx_egress_dropped counts it: $n"
	else
		lib_fail "tx_egress_dropped: '$n', want at least 1"
	fi
	"$VMMCTL" --sock "$LIB_TMP/api.sock" --json config >"$LIB_TMP/config" 2>&1
	if grep -qF "\"$HOST_IP/32:icmp\"" "$LIB_TMP/config"; then
		lib_ok "GET /vm/config shows the rule"
	else
		lib_fail "GET /vm/config lacks the rule: $(head -c 600 "$LIB_TMP/config")"
	fi
	end_run
	expect_output '^served: [1-9][0-9]* ARP replies, [1-9][0-9]* ICMP echo replies'
fi

if run "only tcp:443 to the host" "$HOST_IP/32:tcp:443"; then
	if nsx ping -c 3 -W 2 -i 0.3 "$GUEST_IP" >"$LIB_TMP/ping" 2>&1; then
		lib_fail "ping got answers although ICMP is not allowed: $(tail -2 "$LIB_TMP/ping")"
	else
		lib_ok "ping gets no answer: $(grep -m1 'packets transmitted' "$LIB_TMP/ping")"
	fi
	n=$(dropped)
	if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 3 ]; then
		lib_ok "the refused echo replies are counted: tx_egress_dropped $n"
	else
		lib_fail "tx_egress_dropped: '$n', want at least 3 (the echo replies)"
	fi
	# The same VM's policy replaced while it runs (docs/networking.md "Egress policy").
	if "$VMMCTL" --sock "$LIB_TMP/api.sock" patch-net net0 --egress "$HOST_IP/33:icmp" \
		>"$LIB_TMP/patch" 2>&1; then
		lib_fail "a rule that does not parse was taken: $(head -3 "$LIB_TMP/patch")"
	elif grep -q "egress\[0\]" "$LIB_TMP/patch"; then
		lib_ok "a bad rule is refused: $(grep -m1 'egress' "$LIB_TMP/patch")"
	else
		lib_fail "the refusal does not name the rule: $(head -3 "$LIB_TMP/patch")"
	fi
	if nsx ping -c 2 -W 2 -i 0.3 "$GUEST_IP" >"$LIB_TMP/ping" 2>&1; then
		lib_fail "ping answered after a refused PATCH: the old rules should stay"
	else
		lib_ok "the old rules stay: ping still gets no answer"
	fi
	if "$VMMCTL" --sock "$LIB_TMP/api.sock" patch-net net0 --egress "$HOST_IP/32:icmp" \
		>"$LIB_TMP/patch" 2>&1; then
		lib_ok "PATCH /network-interfaces/net0 with $HOST_IP/32:icmp taken"
	else
		lib_fail "PATCH refused: $(head -3 "$LIB_TMP/patch")"
	fi
	net_check "after the PATCH, ping -c 3 $GUEST_IP is answered" \
		nsx ping -c 3 -W 2 -i 0.3 "$GUEST_IP"
	"$VMMCTL" --sock "$LIB_TMP/api.sock" --json config >"$LIB_TMP/config" 2>&1
	if grep -qF "\"$HOST_IP/32:icmp\"" "$LIB_TMP/config" &&
		! grep -qF "\"$HOST_IP/32:tcp:443\"" "$LIB_TMP/config"; then
		lib_ok "GET /vm/config shows the new rule, not the old"
	else
		lib_fail "GET /vm/config after the PATCH: $(head -c 600 "$LIB_TMP/config")"
	fi
	# Back to no policy (--egress off: "egress": null).
	if "$VMMCTL" --sock "$LIB_TMP/api.sock" patch-net net0 --egress off >"$LIB_TMP/patch" 2>&1; then
		lib_ok "patch-net net0 --egress off taken"
	else
		lib_fail "patch-net --egress off refused: $(head -3 "$LIB_TMP/patch")"
	fi
	"$VMMCTL" --sock "$LIB_TMP/api.sock" --json config >"$LIB_TMP/config" 2>&1
	if grep -q '"host_dev_name"' "$LIB_TMP/config" && ! grep -q '"egress"' "$LIB_TMP/config"; then
		lib_ok "GET /vm/config shows no egress policy"
	else
		lib_fail "GET /vm/config after --egress off: $(head -c 600 "$LIB_TMP/config")"
	fi
	net_check "without a policy, ping -c 2 $GUEST_IP is answered" \
		nsx ping -c 2 -W 2 -i 0.3 "$GUEST_IP"
	end_run
	# The guest answered: the VMM, not the guest, kept the answers from the host.
	replies=$(tr -d '\r' <"$RUN_OUT" | sed -n 's/^served: [0-9]* ARP replies, \([0-9]*\) ICMP echo.*/\1/p')
	if [ "${replies:-0}" -ge 3 ]; then
		lib_ok "the guest says it answered $replies echo requests"
	else
		lib_fail "the guest answered '${replies:-}' echo requests, want at least 3"
	fi
fi

lib_new_run "a bad rule"
"$VMM" --kernel "$(guest_path virtio_net)" --net "tap=$TAP,egress=$HOST_IP:tcp:99999" \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
if grep -q "egress rule '$HOST_IP:tcp:99999'" "$RUN_ERR"; then
	lib_ok "the error names the rule: $(head -1 "$RUN_ERR")"
else
	lib_fail "the error does not name the rule: $(head -3 "$RUN_ERR")"
fi
finish
