#!/usr/bin/env bash
# COM1's output into a named pipe and through a byte bucket (issue 49: Firecracker 1.17's
# PUT /serial, serial_out_path "a file or named pipe" and rate_limiter; here --console
# file:PATH,bw=..., the option the API's body becomes):
#   1. a FIFO a reader drains gets the guest's output, and the guest passes;
#   2. a FIFO nobody reads is opened without waiting for a reader and never holds up the VMM:
#      the guest passes and the VMM ends within its time;
#   3. a tiny bucket drops what it cannot pay for: the guest still passes (its TEST PASS line is
#      dropped, not delayed), and a guest left running shows the dropped bytes in the metrics'
#      uart.rate_limiter_dropped_bytes (GET /vmm/metrics) before it is stopped with SIGTERM.
# labels: guests api
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
command -v curl >/dev/null || skip "no curl" "the metrics are read with it"

fifo="$LIB_TMP/serial.fifo"
mkfifo "$fifo"

# 1. drained by a reader
cat "$fifo" >"$LIB_TMP/read" &
reader=$!
RUN_TIMEOUT=30 run_vmm hello --console "file:$fifo"
expect_status "$STATUS_PASS"
wait "$reader" # our end closed with the VMM: the reader sees EOF
if tr -d '\r' <"$LIB_TMP/read" | grep -q '^TEST PASS$'; then
	lib_ok "the reader of the FIFO got the guest's output"
else
	lib_fail "the FIFO's reader got: $(head -c 300 "$LIB_TMP/read")"
fi

# 2. nobody reads it
start=$SECONDS
RUN_TIMEOUT=30 run_vmm hello --console "file:$fifo"
expect_status "$STATUS_PASS"
if [ $((SECONDS - start)) -lt 20 ]; then
	lib_ok "a FIFO nobody reads did not hold up the VMM ($((SECONDS - start)) s)"
else
	lib_fail "a FIFO nobody reads: the run took $((SECONDS - start)) s"
fi

# 3. a bucket of 8 bytes a second, no burst
out="$LIB_TMP/serial.out"
RUN_TIMEOUT=30 run_vmm hello --console "file:$out,bw=8:1000"
expect_status "$STATUS_PASS"
size=$(stat -c %s "$out")
if [ "$size" -le 16 ] && ! grep -q 'TEST PASS' "$out"; then
	lib_ok "the bucket let $size bytes through, the rest was dropped"
else
	lib_fail "the bucket let $size bytes through: $(head -c 200 "$out")"
fi

sock="$LIB_TMP/api.sock"
kernel=$(guest_path halt) || finish
"$VMM" --kernel "$kernel" --append halt.irq=1 --mem 64M --console "file:$out,bw=4:1000" \
	--api-sock "$sock" </dev/null >"$LIB_TMP/halt.out" 2>"$LIB_TMP/halt.err" &
vmm_pid=$!
RUN_LABEL="vmm halt --console file:...,bw=4:1000"
dropped=0
for _ in $(seq 100); do
	if [ -S "$sock" ]; then
		dropped=$(curl -s --max-time 5 --unix-socket "$sock" http://localhost/vmm/metrics |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["uart"]["rate_limiter_dropped_bytes"])' 2>/dev/null)
		[ "${dropped:-0}" -gt 0 ] && break
	fi
	sleep 0.1
done
if [ "${dropped:-0}" -gt 0 ]; then
	lib_ok "uart.rate_limiter_dropped_bytes = $dropped while the guest runs"
else
	lib_fail "uart.rate_limiter_dropped_bytes stayed ${dropped:-absent}: $(tail -3 "$LIB_TMP/halt.err")"
fi
kill -TERM "$vmm_pid"
wait "$vmm_pid"
status=$?
if [ "$status" -eq 0 ] || [ "$status" -eq 143 ]; then
	lib_ok "the VMM ended on SIGTERM (status $status)"
else
	lib_fail "the VMM ended with status $status: $(tail -3 "$LIB_TMP/halt.err")"
fi
finish
