#!/usr/bin/env bash
# virtio-net multiqueue (--net tap=IF,queues=N), driven by the virtio_net_mq test guest
# (tests/guests/virtio_net_mq.c) over a multi-queue tap (IFF_MULTI_QUEUE) in a network namespace
# this script makes and removes (vmmtest-mq-$$, 192.168.78.0/24, nothing leaves it): the guest
# negotiates VIRTIO_NET_F_MQ, checks max_virtqueue_pairs, has VQ_PAIRS_SET 0 and N+1 refused and
# N accepted, then sends UDP datagrams from every queue pair at once to an echo server on the
# host side and checks every echo byte for byte, which must arrive on at least two receive
# queues. On our VMM over virtio-mmio and virtio-pci (one MSI-X vector per queue), 2 and 4
# pairs, the I/O threads placed by iothread-cpus; 4 pairs sharing 2 I/O threads and 1
# (io-threads=); on QEMU (microvm, mq=on, queues=2) as the peer. queues= beyond 8, io-threads=
# beyond queues=, with user networking, or on a tap made without multi_queue are refused with
# a clear error. The echo server counts what it received per source port.
# labels: guests virtio net
# requires: kvm netns
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-mq-$$"
TAP=vtapmq0
HOST_IP=192.168.78.1
HOST_MAC=02:00:00:00:78:01
GUEST_IP=192.168.78.2
GUEST_MAC=52:54:00:78:00:02
VM_PID=""
ECHO_PID=""
RUN_TIMEOUT=${NET_RUN_TIMEOUT:-180}

net_require ip python3

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	stop_echo
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

cat >"$LIB_TMP/echo.py" <<'PY'
# UDP echo on HOST:7777 until killed; on SIGTERM prints "echoed N from P ports".
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7777))
n, ports = 0, set()
def done(*_):
    print(f"echoed {n} from {len(ports)} ports", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(2048)
    n += 1
    ports.add(addr[1])
    s.sendto(data, addr)
PY

stop_echo() {
	[ -n "$ECHO_PID" ] || return 0
	kill "$ECHO_PID" 2>/dev/null
	wait "$ECHO_PID" 2>/dev/null
	ECHO_PID=""
}

# make_mq_ns: the namespace with a multi-queue tap, its address and MAC, the guest's neighbour
# entry, and the echo server (ECHO_PID, output in $LIB_TMP/echo.out).
make_mq_ns() {
	stop_echo
	ip netns del "$NS" 2>/dev/null
	ip netns add "$NS" || return 1
	nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr multi_queue || return 1
	ip -n "$NS" link set "$TAP" address "$HOST_MAC"
	ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP"
	ip -n "$NS" link set "$TAP" up
	ip -n "$NS" neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent
	# ip netns exec execs python3: ECHO_PID is the server's own pid. The old output goes first,
	# so that its "ready" is not taken for the new server's.
	rm -f "$LIB_TMP/echo.out"
	ip netns exec "$NS" python3 "$LIB_TMP/echo.py" "$HOST_IP" >"$LIB_TMP/echo.out" 2>&1 &
	ECHO_PID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q ready "$LIB_TMP/echo.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# finish_run PAIRS: waits for the guest, stops the echo server and checks both sides.
finish_run() {
	local pairs=$1 want=$(($1 * 8 * 2))
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
	stop_echo
	expect_pass
	expect_output "^MQ negotiated, max_virtqueue_pairs $pairs$"
	expect_output "^VQ_PAIRS_SET: 0 and $((pairs + 1)) refused, $pairs accepted$"
	expect_output "^round 1: $((pairs * 8)) datagrams from $pairs pairs echoed intact$"
	expect_output '^frames on [0-9]+ receive queues: ok$'
	if grep -q "^echoed $want from $((pairs * 8)) ports$" "$LIB_TMP/echo.out"; then
		lib_ok "host: $(tail -n 1 "$LIB_TMP/echo.out")"
	else
		lib_fail "host: expected $want datagrams from $((pairs * 8)) ports: $(cat "$LIB_TMP/echo.out")"
	fi
	tr -d '\r' <"$RUN_OUT" | grep -E '^(receiveq|echoes on)' | sed 's/^/    /'
}

for transport in mmio pci; do
	TRANSPORT=$transport
	virtio_transport_init
	for pairs in 2 4; do
		make_mq_ns || { lib_fail "cannot make namespace $NS"; break; }
		start_bg "vmm $transport queues=$pairs" "$VMM" --kernel "$(guest_path virtio_net_mq)" \
			--debug-exit --console stdio --mem 256M "${vmm_transport[@]}" \
			--net "tap=$TAP,mac=$GUEST_MAC,queues=$pairs,iothread-cpus=0:1" \
			--append "$(guest_args split) queues=$pairs"
		finish_run $pairs
	done
done

# Pairs sharing I/O threads (io-threads=T: pair i on thread i mod T): 4 pairs on 2 threads and
# on 1, every pair's traffic at once as above. The VMM's threads serving the NIC (io0-virtio-net,
# ... with several, io-virtio-net with one) are counted every 20 ms while it runs; the most seen
# at once must be T (threads start and stop one by one, so a single look may catch fewer).
# net_io_threads: how many threads of the running VMM serve the NIC (0 once it has gone).
net_io_threads() {
	local pid
	pid=$(pgrep -P "$VM_PID" -x vmm | head -1)
	[ -n "$pid" ] || {
		echo 0
		return 0
	}
	cat /proc/"$pid"/task/*/comm 2>/dev/null | grep -cE '^io[0-9]*-virtio-net$'
}
TRANSPORT=mmio
virtio_transport_init
for threads in 2 1; do
	make_mq_ns || { lib_fail "cannot make namespace $NS"; break; }
	start_bg "vmm mmio queues=4 io-threads=$threads" "$VMM" \
		--kernel "$(guest_path virtio_net_mq)" --debug-exit --console stdio --mem 256M \
		"${vmm_transport[@]}" --net "tap=$TAP,mac=$GUEST_MAC,queues=4,io-threads=$threads" \
		--append "$(guest_args split) queues=4"
	most=0
	while kill -0 "$VM_PID" 2>/dev/null; do
		seen=$(net_io_threads)
		[ "$seen" -gt "$most" ] && most=$seen
		sleep 0.02
	done
	if [ "$most" = "$threads" ]; then
		lib_ok "the NIC had $threads I/O thread(s) while the guest ran"
	elif [ "$most" = 0 ]; then
		lib_ok "(the VMM finished before its I/O threads could be counted)"
	else
		lib_fail "the NIC had up to $most I/O threads, not $threads"
	fi
	finish_run 4
done

# Refusals.
make_mq_ns
run_vmm virtio_net_mq --net "tap=$TAP,queues=9" --append "queues=9"
expect_refusal_net() { # REGEX
	if [ "$RUN_STATUS" != 0 ] && grep -qE -- "$1" "$RUN_ERR"; then
		lib_ok "refused: $(grep -E -- "$1" "$RUN_ERR" | head -1)"
	else
		lib_fail "status $RUN_STATUS, stderr lacks /$1/: $(cat "$RUN_ERR")"
	fi
}
expect_refusal_net 'queues=9: expected a number of queue pairs from 1 to 8'
run_vmm virtio_net_mq --net "tap=$TAP,queues=2,io-threads=3" --append "queues=2"
expect_refusal_net 'io-threads=3: more I/O threads than queue pairs'
run_vmm virtio_net_mq --net "user,queues=2" --append "queues=2"
expect_refusal_net 'queues=2 needs tap=IFNAME'
stop_echo
ip netns del "$NS" 2>/dev/null
ip netns add "$NS"
ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr # one queue only
lib_new_run "vmm on a single-queue tap"
timeout "$RUN_TIMEOUT" ip netns exec "$NS" "$VMM" --kernel "$(guest_path virtio_net_mq)" \
	--debug-exit --net "tap=$TAP,queues=2" --append "queues=2" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_refusal_net 'an existing tap must be multi-queue'

if have_qemu; then
	TRANSPORT=mmio
	virtio_transport_init
	make_mq_ns
	accel=(-accel tcg -cpu max)
	[ -w /dev/kvm ] && accel=(-enable-kvm -cpu host,-arch-capabilities)
	start_bg "qemu queues=2" "$QEMU" "${accel[@]}" -M microvm,acpi=off -m 256M -nodefaults \
		-no-user-config -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-global virtio-mmio.force-legacy=false \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,queues=2" \
		-device "virtio-net-device,netdev=n0,mac=$GUEST_MAC,mq=on" \
		-kernel "$(guest_path virtio_net_mq)" -append "$(guest_args split) queues=2"
	finish_run 2
fi
finish
