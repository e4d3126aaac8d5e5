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
	timeout "$RUN_TIMEOUT" ip netns exec "$NS" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VM_PID=$!
}

wait_line() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1" && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	lib_fail "guest never printed /$1/"
	lib_dump_output
	return 1
}
