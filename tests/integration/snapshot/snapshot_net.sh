#!/usr/bin/env bash
# A snapshot restored onto another tap, with another MAC (network overrides), inside a network
# namespace this script makes and removes (two taps, vtapA and vtapB, private subnet
# 192.168.77.0/24 that exists only there). The virtio_net test guest (tests/guests/virtio_net.c)
# answers ARP and ping and ends on a quit frame, printing the MAC in its config space and the one
# its driver read at probe.
#   1. boot on vtapA (host address on vtapA): ping works; pause, snapshot, SIGKILL;
#   2. the host address moves to vtapB; `vmm --restore DIR --net tap=vtapB,mac=M1`: ping and the
#      quit frame go through vtapB, vtapA's packet counters do not move, and the guest reports
#      config mac M1 while its driver keeps the MAC it probed (a running driver reads the MAC
#      only at probe);
#   3. over the API: first a load whose override names a tap the kernel refuses ("bad:name", so
#      the failure comes from inside vm_create_restored) must answer 400 and leave the VMM waiting
#      ("Not started"); then PUT /snapshot/load with network_overrides
#      [{"iface_id": "net0", "host_dev_name": "vtapB", "guest_mac": M2}] in the same VMM: as 2.
#      with M2. A guest_mac that is multicast is refused with 400.
# labels: snapshot net api
# requires: kvm netns
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

NS="vmmsnap-$$"
TAP=vtapA
TAP_B=vtapB
HOST_IP=192.168.77.1
GUEST_IP=192.168.77.2
GUEST_MAC=52:54:00:77:00:02
MAC1=52:54:00:77:00:51
MAC2=52:54:00:77:00:52
VM_PID=""
RUN_TIMEOUT=${NET_RUN_TIMEOUT:-240}
sock="$LIB_TMP/api.sock"
dir="$LIB_TMP/snap"

net_require ip python3 ping curl

cleanup() {
	[ -n "$VM_PID" ] && kill -9 "$VM_PID" 2>/dev/null
	for p in "${SNAP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

net_quit_tool

packets() { # rx+tx packets of tap $1
	local d=/sys/class/net/$1/statistics
	nsx sh -c "echo \$((\$(cat $d/rx_packets) + \$(cat $d/tx_packets)))"
}

# after_restore MAC: the restored guest, on vtapB, with config mac MAC.
after_restore() {
	local a0 a1
	a0=$(packets "$TAP")
	net_check "ping $GUEST_IP through $TAP_B" nsx ping -c 3 -W 2 -i 0.3 "$GUEST_IP"
	net_check "the quit frame through $TAP_B" nsx python3 "$LIB_TMP/quit.py" "$TAP_B" "$GUEST_MAC"
	for _ in $(seq $((RUN_TIMEOUT * 10))); do
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$VM_PID" 2>/dev/null
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
	expect_pass
	expect_no_output '^virtio-net: mac' # went on, did not boot again
	expect_output "^config mac $1, driver mac $GUEST_MAC"
	a1=$(packets "$TAP")
	[ "$a0" = "$a1" ] && lib_ok "no traffic on $TAP ($a0 packets before and after)" ||
		lib_fail "$TAP moved from $a0 to $a1 packets"
}

make_ns || {
	lib_fail "cannot make namespace $NS"
	finish
}
ip -n "$NS" tuntap add dev "$TAP_B" mode tap vnet_hdr && ip -n "$NS" link set "$TAP_B" up ||
	lib_fail "cannot make $TAP_B"

# 1. on tap A
net_vm_bg "vmm on $TAP (to be snapshotted)" --kernel "$(guest_path virtio_net)" --debug-exit \
	--console stdio --mem 256M --api-sock "$sock" --net "tap=$TAP,mac=$GUEST_MAC" \
	--landlock-rules "$LIB_TMP:rw" --append "ip=$GUEST_IP serve_ms=$((RUN_TIMEOUT * 1000))"
if wait_line '^serving at' 60; then
	net_check "ping $GUEST_IP through $TAP" nsx ping -c 2 -W 2 -i 0.3 "$GUEST_IP"
	if got=$(snap_take "$sock" "$dir"); then
		lib_ok "snapshot: $(du -sh "$dir" | cut -f1)"
	else
		lib_fail "$got"
	fi
fi
snap_kill "$VM_PID"
VM_PID=""
ip -n "$NS" addr flush dev "$TAP"
ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP_B"

# 2. the CLI
if [ -f "$dir/state" ]; then
	net_vm_bg "vmm --restore --net tap=$TAP_B,mac=$MAC1" --restore "$dir" --net "tap=$TAP_B,mac=$MAC1"
	after_restore "$MAC1"

	# 3. the API
	s="$LIB_TMP/load.sock"
	net_vm_bg "vmm --api-sock, PUT /snapshot/load with network_overrides" --api-sock "$s"
	snap_wait_sock "$s" "$VM_PID" || lib_fail "the VMM did not come up"
	load() {
		snap_api "$s" PUT /snapshot/load "{\"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\", \"resume_vm\": true, \"network_overrides\": [$1]}"
	}
	got=$(load '{"iface_id": "net0", "host_dev_name": "vtapB", "guest_mac": "01:00:5e:00:00:01"}')
	[ "${got%% *}" = 400 ] && lib_ok "a multicast guest_mac is refused: $got" ||
		lib_fail "a multicast guest_mac: $got"
	got=$(load '{"iface_id": "net0", "host_dev_name": "bad:name"}')
	[ "${got%% *}" = 400 ] && lib_ok "a tap the kernel refuses: $got" ||
		lib_fail "a tap the kernel refuses: $got (want 400)"
	got=$(snap_api "$s" GET /)
	[[ "$got" == *'"Not started"'* ]] && lib_ok "still not started" ||
		lib_fail "after a failed load: $got"
	got=$(load "{\"iface_id\": \"net0\", \"host_dev_name\": \"$TAP_B\", \"guest_mac\": \"$MAC2\"}")
	[ "${got%% *}" = 204 ] && lib_ok "PUT /snapshot/load -> 204" || lib_fail "load: $got"
	after_restore "$MAC2"
else
	lib_fail "no snapshot"
	lib_dump_output
fi
finish
