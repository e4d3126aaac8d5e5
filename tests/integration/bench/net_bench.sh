#!/usr/bin/env bash
# virtio-net packet rate and throughput between the virtio_net_bench guest
# (tests/guests/virtio_net_bench.c: ring-3 polling loops, kicks by MMIO writes) and a tap in a
# network namespace made here, on our VMM and on QEMU (userspace virtio-net, vhost=off):
# guest -> tap (the host counts frames of EtherType 0x88b9 with AF_PACKET) and tap -> guest
# (a python3 AF_PACKET sender floods the tap; the guest counts). Prints the guest's line
#   BENCH net tx_pps=... tx_mbps=... rx_pps=... rx_mbps=...
# per VM, plus the host's count of what arrived. Quick mode (the default, for CTest) only checks
# that the lines appear; NET_BENCH_FULL=1 runs 2-second phases for numbers worth quoting.
# tx_pps / rx_pps come from 60-byte frames, tx_mbps / rx_mbps from 1514-byte frames.
# Then the same guest with pairs=2 on a multi-queue tap (ours --net ...,queues=2; QEMU
# -netdev tap,queues=2 with virtio-net-device,mq=on): VIRTIO_NET_F_MQ, VQ_PAIRS_SET 2, the
# guest->host frames round-robin over both transmit queues, host->guest IPv4/UDP frames of 16
# flows (the tap spreads them over the receive queues by flow hash, so only their total is
# checked); checks that the guest passed, that both pairs carried frames of each size and that
# the host saw them, and that pairs=3 on a NIC with 2 fails. No timing is asserted.
# labels: bench
# requires: kvm netns
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-$$"
TAP=vtap0
GUEST_MAC=52:54:00:77:00:02
VM_PID=""
RUN_TIMEOUT=180
if [ "${NET_BENCH_FULL:-0}" = 1 ]; then
	TX_MS=2000 SEND_S=2
else
	TX_MS=300 SEND_S=0.5
fi

net_require ip python3

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT


HOST_PY="$SOURCE_DIR/tools/benchmarks/net_host.py" # count / send over AF_PACKET



# send_and_wait [FLOWS]: floods the tap each time the guest is ready for a frame size, then
# waits for the VM and the host's counter.
send_and_wait() {
	local size
	for size in 60 1514; do
		wait_line "^BENCH rx ready $size" 60 || return
		nsx python3 "$HOST_PY" send "$TAP" "$GUEST_MAC" "$size" "$SEND_S" "$@"
	done
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
	wait "$COUNTER_PID"
}

# exercise: the host side of one run; the counter was started before the VM.
exercise() {
	send_and_wait || return
	expect_pass
	expect_output '^BENCH net tx_pps=[0-9]+ tx_mbps=[0-9]+ rx_pps=[0-9]+ rx_mbps=[0-9]+$'
	tr -d '\r' <"$RUN_OUT" | grep -E '^(BENCH net|tx |rx )' | sed "s/^/$RUN_LABEL: /"
	sed "s/^/$RUN_LABEL: /" "$LIB_TMP/count.out"
}

# exercise_mq: the host side of one pairs=2 run.
exercise_mq() {
	send_and_wait 16 || return
	expect_pass
	expect_output '^MQ: 2 queue pairs in use \(max_virtqueue_pairs 2\)$'
	expect_output '^tx 60-byte frames per pair: [1-9][0-9]* [1-9][0-9]*$'
	expect_output '^tx 1514-byte frames per pair: [1-9][0-9]* [1-9][0-9]*$'
	expect_output '^rx 1514-byte frames per pair: [0-9]+ [0-9]+$'
	expect_output '^BENCH net-mq pairs=2 tx_pps=[0-9]+ tx_mbps=[0-9]+ rx_pps=[0-9]+ rx_mbps=[0-9]+$'
	if grep -q '^host counted [1-9]' "$LIB_TMP/count.out"; then
		lib_ok "$(cat "$LIB_TMP/count.out")"
	else
		lib_fail "the host saw no frames: $(cat "$LIB_TMP/count.out")"
	fi
	tr -d '\r' <"$RUN_OUT" | grep -E '^(BENCH net|tx |rx )' | sed "s/^/$RUN_LABEL: /"
}

# start_counter: the host's count of the guest's frames (output in $LIB_TMP/count.out).
start_counter() {
	nsx python3 "$HOST_PY" count "$TAP" 60 >"$LIB_TMP/count.out" &
	COUNTER_PID=$!
}

# start_qemu LABEL APPEND [QUEUES]: QEMU microvm with one virtio-net device on the tap.
start_qemu() {
	local accel=(-accel tcg -cpu max) mq="" mq_on=""
	[ -w /dev/kvm ] && accel=(-enable-kvm -cpu host,-arch-capabilities)
	if [ "${3:-1}" -gt 1 ]; then
		mq=",queues=$3" mq_on=",mq=on"
	fi
	start_bg "$1" "$QEMU" "${accel[@]}" -M microvm,acpi=off -m 256M -nodefaults \
		-no-user-config -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-global virtio-mmio.force-legacy=false \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off$mq" \
		-device "virtio-net-device,netdev=n0,mac=$GUEST_MAC$mq_on" \
		-kernel "$(guest_path virtio_net_bench)" -append "$2"
}

append="tx_ms=$TX_MS rx_idle_ms=300"
make_ns "" 4096 || { echo "FAIL: cannot make namespace $NS"; exit 1; }
start_counter
start_bg "vmm" "$VMM" --kernel "$(guest_path virtio_net_bench)" --debug-exit --console stdio \
	--mem 256M --net "tap=$TAP,mac=$GUEST_MAC" --append "$append"
exercise

if have_qemu; then
	make_ns "" 4096
	start_counter
	start_qemu "qemu" "$append"
	exercise
fi

append_mq="tx_ms=$TX_MS rx_idle_ms=300 pairs=2"
make_ns "" 4096 multi_queue || { echo "FAIL: cannot make a multi-queue tap in $NS"; exit 1; }
start_counter
start_bg "vmm pairs=2" "$VMM" --kernel "$(guest_path virtio_net_bench)" --debug-exit \
	--console stdio --mem 256M --net "tap=$TAP,mac=$GUEST_MAC,queues=2" --append "$append_mq"
exercise_mq

# The guest fails when the NIC has fewer pairs than asked.
make_ns "" 4096 multi_queue
start_bg "vmm pairs=3 on 2" "$VMM" --kernel "$(guest_path virtio_net_bench)" --debug-exit \
	--console stdio --mem 256M --net "tap=$TAP,mac=$GUEST_MAC,queues=2" --append "pairs=3"
wait "$VM_PID"
RUN_STATUS=$?
VM_PID=""
expect_status "$STATUS_FAIL"
expect_output '^virtio-net: 3 queue pairs asked, the device has 2 '

if have_qemu; then
	make_ns "" 4096 multi_queue
	start_counter
	start_qemu "qemu pairs=2" "$append_mq" 2
	exercise_mq
fi
finish
