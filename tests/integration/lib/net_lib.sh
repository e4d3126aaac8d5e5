# Shared helpers of the network tests (net_*.sh) that run a guest inside a network namespace the
# test makes and removes itself. Source it after lib.sh; the script sets NS (namespace name), TAP
# (tap name), optionally HOST_IP, and keeps the guest's pid in VM_PID.
#
#   net_require TOOL...       skips the test (exit 77) without root, a tap or one of the tools
#   nsx CMD...                runs CMD inside the namespace
#   make_ns [MTU [QLEN [MQ]]] (re)makes the namespace with a vnet_hdr tap, MTU and txqueuelen if
#                             given (MTU may be ""), multi-queue if MQ is "multi_queue",
#                             HOST_IP/24 on it if HOST_IP is set, up
#   start_bg LABEL CMD...     runs CMD in the namespace in the background (serial output in
#                             RUN_OUT, stderr in RUN_ERR, pid in VM_PID)
#   wait_line REGEX SECONDS   waits until the guest printed a line matching REGEX; on timeout or
#                             guest exit records a failure, dumps the output and returns 1
#   net_check WHAT CMD...     a host-side step, counted like the lib.sh checks (CMD's output
#                             shown when it fails)
#   net_vm_bg LABEL ARGS...   the VMM with ARGS in the namespace, in the background (pid in
#                             VM_PID, also added to SNAP_PIDS for snapshot_lib.sh's clean-up)
#   net_quit_tool             writes $LIB_TMP/quit.py TAP MAC: the virtio_net test guest's quit
#                             frame (EtherType 0x88b7) to MAC, sent on TAP

net_require() {
	require netns "$@"
}

nsx() { ip netns exec "$NS" "$@"; }

make_ns() {
	ip netns del "$NS" 2>/dev/null
	ip netns add "$NS" || return 1
	nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr ${3:+"$3"} || return 1
	[ -z "${1:-}" ] || ip -n "$NS" link set "$TAP" mtu "$1"
	[ -z "${2:-}" ] || ip -n "$NS" link set "$TAP" txqueuelen "$2"
	[ -z "${HOST_IP:-}" ] || ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP"
	ip -n "$NS" link set "$TAP" up
}

start_bg() {
	lib_new_run "$1"
	shift
	timeout -k 10 "$RUN_TIMEOUT" ip netns exec "$NS" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VM_PID=$!
}

wait_line() {
	local end=$((SECONDS + $2)) # seconds, not rounds: a round costs more than 0.1 s on a slow host
	while [ "$SECONDS" -lt "$end" ]; do
		tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1" && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	lib_fail "guest never printed /$1/"
	lib_dump_output
	return 1
}

net_check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		lib_ok "$what"
	else
		lib_fail "$what"
		echo "$out" | tail -n 10
	fi
}

net_vm_bg() {
	lib_new_run "$1"
	shift
	ip netns exec "$NS" "$VMM" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VM_PID=$!
	SNAP_PIDS+=("$VM_PID")
}

net_quit_tool() {
	cat >"$LIB_TMP/quit.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
mac = bytes.fromhex(sys.argv[2].replace(":", ""))
s.send(mac + s.getsockname()[4] + struct.pack("!H", 0x88b7) + bytes(46))
EOF
}
