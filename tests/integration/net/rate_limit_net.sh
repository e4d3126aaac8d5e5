#!/usr/bin/env bash
# NIC rate limiters (virtio/net/throttle.c) as the guest measures them: the virtio_net_bench
# guest (tests/guests/virtio_net_bench.c) times itself with the TSC, sending for tx_ms per frame
# size ("tx SIZE-byte frames: N in U us") and counting what a host sender flooding the tap gets
# through ("rx SIZE-byte frames: N in U us", first to last frame), 60-byte then 1514-byte frames.
#   tx-ops=5:10,rx-ops=5:10  (5 frames per 10 ms = 500 frames/s)      -> both sizes, both ways
#   tx-bw=15140:10,rx-bw=15140:10 (1514000 B/s = 1000 1514-byte frames/s) -> 1514-byte frames;
#                            60-byte frames (25233/s allowed) are only checked not to exceed it
#   PATCH /network-interfaces/net0 on a running VM after the 60-byte tx phase: tx and rx from
#   500/s to 200/s; the 1514-byte tx phase and both rx phases follow the new limit.
# Bounds are asymmetric for a loaded 2-core machine: never more than asked (+10% for the
# bucket's first fill and timer slack), and a slow host may deliver less (>= 50%).
# Everything runs in a network namespace made and removed here (no IP at all: raw frames of
# EtherType 0x88b9 with AF_PACKET, tools/benchmarks/net_host.py).
# labels: integration net
# requires: kvm netns
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-rl-$$"
TAP=vtap0
GUEST_MAC=52:54:00:77:00:02
VM_PID=""
RUN_TIMEOUT=120
SEND_S=1
HOST_PY="$SOURCE_DIR/tools/benchmarks/net_host.py"

net_require ip python3 curl

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

# rate DIR SIZE: frames/s the guest measured for that phase (rx: intervals between the first and
# the last frame, as the guest itself computes it).
rate() {
	tr -d '\r' <"$RUN_OUT" | awk -v d="$1" -v s="$2-byte" '
		$1 == d && $2 == s { n = $4; us = $6 }
		END { if (us > 0) printf "%d\n", (d == "rx" ? n - 1 : n) * 1000000 / us }'
}

# expect_rate DIR SIZE ASKED [MIN_PCT [MAX_PCT]]: the phase's rate in [MIN_PCT% (default 50),
# MAX_PCT% (default 110)] of ASKED frames/s; MIN_PCT 0 checks only the upper bound.
expect_rate() {
	local got lo=$(($3 * ${4:-50} / 100)) hi=$(($3 * ${5:-110} / 100))
	got=$(rate "$1" "$2")
	echo "  [$RUN_LABEL] $1 $2-byte frames: asked $3/s, delivered ${got:-none}/s"
	if [ -n "$got" ] && [ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ]; then
		lib_ok "$1 $2-byte: $got frames/s in [$lo, $hi]"
	else
		lib_fail "$1 $2-byte: ${got:-no} frames/s, want [$lo, $hi]"
		lib_dump_output
	fi
}

# host_rx: floods the tap each time the guest is ready to receive, then waits for the guest.
host_rx() {
	local size
	for size in 60 1514; do
		wait_line "^BENCH rx ready $size" 60 || return
		nsx python3 "$HOST_PY" send "$TAP" "$GUEST_MAC" "$size" "$SEND_S" >/dev/null
	done
	wait "$VM_PID"
	RUN_STATUS=$?
	VM_PID=""
	expect_pass
}

# run_limited LABEL NET_OPTS [VMM ARGS...]: one guest run with the limits in NET_OPTS. A short
# tap queue: frames queued when the sender stops still arrive at the limited rate.
run_limited() {
	local label=$1 opts=$2
	shift 2
	make_ns "" 256 || { lib_fail "cannot make namespace $NS"; return 1; }
	start_bg "$label" "$VMM" --kernel "$(guest_path virtio_net_bench)" --debug-exit \
		--console stdio --mem 256M --net "tap=$TAP,mac=$GUEST_MAC,$opts" \
		--append "tx_ms=${TX_MS:-1000} rx_idle_ms=1000" "$@"
}

run_limited "vmm tx-ops=5:10,rx-ops=5:10" "tx-ops=5:10,rx-ops=5:10"
host_rx
expect_rate tx 60 500
expect_rate tx 1514 500
expect_rate rx 60 500
expect_rate rx 1514 500

run_limited "vmm tx-bw=15140:10,rx-bw=15140:10" "tx-bw=15140:10,rx-bw=15140:10"
host_rx
expect_rate tx 60 25233 0
expect_rate tx 1514 1000
expect_rate rx 60 25233 0
expect_rate rx 1514 1000

# Changed at run time: 500/s for the 60-byte tx phase, then 200/s both ways.
sock="$LIB_TMP/api.sock"
TX_MS=2000 run_limited "vmm with PATCH /network-interfaces" "tx-ops=5:10,rx-ops=5:10" \
	--api-sock "$sock"
if wait_line "^tx 60-byte frames:" 60; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$sock" \
		-X PATCH -H 'Content-Type: application/json' -d '{"iface_id": "net0",
		"tx_rate_limiter": {"ops": {"size": 2, "refill_time": 10}},
		"rx_rate_limiter": {"ops": {"size": 2, "refill_time": 10}}}' \
		http://localhost/network-interfaces/net0)
	if [ "$code" = 204 ]; then lib_ok "PATCH /network-interfaces/net0: 204"; else
		lib_fail "PATCH: $code"
	fi
	host_rx
	expect_rate tx 60 500
	expect_rate tx 1514 200 50 130 # the first ms of it at 500/s, until the PATCH landed
	expect_rate rx 60 200
	expect_rate rx 1514 200
fi
finish
