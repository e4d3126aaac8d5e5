#!/usr/bin/env bash
# Live migration of a VM with a tap NIC on the same host, inside a network namespace this script
# makes and removes (private subnet 192.168.77.0/24 that exists only there). The tap is the
# VMM's own (created by --net tap=NAME, not persistent: it lives as long as a process holds it),
# and a single-queue tap takes one process at a time, so the destination cannot open it by name
# while the source holds it: the source hands it over (TAPFD, docs/migration.md). The
# virtio_net test guest (tests/guests/virtio_net.c) answers ARP and ping and ends on a quit frame.
#   1. the source boots on the tap; the host address goes on it; ping works;
#   2. a copying migration to `vmm --migrate-from` (with an API socket): the source ends with 0,
#      ping works, answered by the destination's guest, and the tap is the same interface (same
#      ifindex, the host address still on it, and GET /vm/config still names it);
#   3. a local migration (memfd) from there to a third VMM: as 2.;
#   4. the quit frame: the guest went on where it was (it did not boot again) and passes; with
#      the last VMM gone the tap is gone too (no process kept a copy of it).
# labels: migration net api
# requires: kvm netns
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

NS="vmmmig-$$"
TAP=vtapM
HOST_IP=192.168.77.1
GUEST_IP=192.168.77.2
GUEST_MAC=52:54:00:77:00:02
VM_PID=""
RUN_TIMEOUT=${NET_RUN_TIMEOUT:-240}

net_require ip python3 ping curl

cleanup() {
	for p in "${SNAP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

net_quit_tool

ifindex() { ip -n "$NS" -o link show "$TAP" 2>/dev/null | cut -d: -f1; }

# migrate_to N LOCAL: moves the VM of $VM_PID (API socket $src_sock) to a new `vmm --migrate-from`
# (API socket $LIB_TMP/dst$N.sock), which becomes $VM_PID and $src_sock; checks the source's end,
# ping through the destination and the tap's identity.
migrate_to() {
	local n=$1 local=$2 mig="$LIB_TMP/mig$1.sock" dst_sock="$LIB_TMP/dst$1.sock" got
	local src_pid=$VM_PID src_label=$RUN_LABEL src_err=$RUN_ERR
	net_vm_bg "destination $n" --migrate-from "unix:$mig" --api-sock "$dst_sock" \
		--landlock-rules "$LIB_TMP:rw"
	for _ in $(seq 100); do
		[ -S "$mig" ] && break
		sleep 0.1
	done
	got=$(snap_api "$src_sock" PUT /vmm/send-migration \
		"{\"destination_url\": \"unix:$mig\", \"local\": $local}")
	[ "${got%% *}" = 204 ] && lib_ok "migration $n (local: $local): send-migration -> 204" ||
		lib_fail "migration $n: send-migration -> $got"
	local status=0
	wait "$src_pid" || status=$?
	[ "$status" = 0 ] && lib_ok "migration $n: $src_label ended with 0: $(grep -o 'migration completed: .*' "$src_err")" ||
		{
			lib_fail "migration $n: $src_label ended with $status"
			tail -n 5 "$src_err"
		}
	snap_wait_sock "$dst_sock" "$VM_PID" || lib_fail "migration $n: no API socket on the destination"
	# a tap NIC is not built beside its source (device_desc.built_beside_source): after the pause
	grep -q "built here while the source still runs" "$RUN_ERR" &&
		lib_fail "migration $n: the destination built its tap NIC during the pre-copy" ||
		lib_ok "migration $n: the destination built the VM once the source had paused"
	src_sock=$dst_sock
	net_check "migration $n: ping $GUEST_IP answered from the destination" \
		nsx ping -c 3 -W 2 -i 0.3 "$GUEST_IP"
	[ "$(ifindex)" = "$tap_index" ] &&
		lib_ok "migration $n: the same tap (ifindex $tap_index)" ||
		lib_fail "migration $n: tap ifindex '$(ifindex)', was $tap_index"
	got=$(snap_api "$src_sock" GET /vm/config)
	grep -q "\"host_dev_name\": *\"$TAP\"" <<<"$got" &&
		lib_ok "migration $n: GET /vm/config names the tap $TAP" ||
		lib_fail "migration $n: GET /vm/config: $got"
	ip -n "$NS" addr show "$TAP" | grep -q "$HOST_IP/24" &&
		lib_ok "migration $n: the host address is still on it" ||
		lib_fail "migration $n: the host address went away"
}

ip netns del "$NS" 2>/dev/null
ip netns add "$NS" && ip -n "$NS" link set lo up || {
	lib_fail "cannot make namespace $NS"
	finish
}
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

# 1. the source, on a tap it creates
src_sock="$LIB_TMP/src.sock"
net_vm_bg "source on $TAP" --kernel "$(guest_path virtio_net)" --debug-exit --console stdio \
	--mem 256M --api-sock "$src_sock" --net "tap=$TAP,mac=$GUEST_MAC" \
	--landlock-rules "$LIB_TMP:rw" --append "ip=$GUEST_IP serve_ms=$((RUN_TIMEOUT * 1000))"
wait_line '^serving at' 60 || finish
source_out=$RUN_OUT
ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP" && ip -n "$NS" link set "$TAP" up ||
	lib_fail "cannot put $HOST_IP on $TAP"
tap_index=$(ifindex)
net_check "ping $GUEST_IP through $TAP (ifindex $tap_index)" nsx ping -c 2 -W 2 -i 0.3 "$GUEST_IP"
snap_wait_sock "$src_sock" "$VM_PID" || lib_fail "no API socket on the source"

# 2. copying, 3. local
migrate_to 1 false
# a NIC built on a handed-over fd still has its tap's name: a tcp: migration (to a port where
# nothing listens) fails on the connection, not on a "tapfd=" refusal, and the guest runs on
got=$(snap_api "$src_sock" PUT /vmm/send-migration '{"destination_url": "tcp:127.0.0.1:9"}')
case $got in
400*tapfd*) lib_fail "tcp: refused the handed-over tap: $got" ;;
400*) lib_ok "tcp: to nowhere fails on its connection: ${got:0:160}" ;;
*) lib_fail "tcp: to nowhere: $got" ;;
esac
migrate_to 2 true

# 4. the end
net_check "the quit frame" nsx python3 "$LIB_TMP/quit.py" "$TAP" "$GUEST_MAC"
for _ in $(seq $((RUN_TIMEOUT * 10))); do
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.1
done
kill -9 "$VM_PID" 2>/dev/null # still there: the quit frame was lost (the check fails)
wait "$VM_PID"
RUN_STATUS=$?
expect_pass
expect_no_output '^virtio-net: mac' # went on, did not boot again
grep -q '^serving at' "$source_out" && lib_ok "the source's guest had booted once" ||
	lib_fail "no boot on the source"
ip -n "$NS" link show "$TAP" >/dev/null 2>&1 &&
	lib_fail "$TAP is still there with every VMM gone" ||
	lib_ok "$TAP went with the last VMM: nobody kept a copy"
finish
