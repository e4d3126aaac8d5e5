#!/usr/bin/env bash
# Disk rate limiters (virtio/core/rate_limiter.h) as the guest measures them: the blk_bench
# guest times 4 KiB random reads with the TSC and prints "BENCH blk_randread qd=N iops=I ...".
#   ops=5:10   (5 requests per 10 ms = 500/s, a 5-request bucket)      -> about 500 iops
#   bw=20K:10  (20 KiB per 10 ms = 2000 KiB/s, i.e. 500 4 KiB reads/s) -> about 500 iops
#   PATCH /drives rate_limiter on a running VM, between the qd=1 and the qd=32 run: 500 -> 200/s
# Bounds are asymmetric for a loaded 2-core machine: a limiter must never let more through than
# asked (+10% for the bucket's first fill and timer slack), and a slow host may deliver less
# (>= 50%). QEMU's throttling.iops-total=500 runs as the peer, reported, not asserted.
# labels: integration
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

disk="$LIB_TMP/rl.img"
head -c 16M /dev/urandom >"$disk"
args="seconds=3 requests=100000000"

# The iops of the run at depth $1 in $RUN_OUT.
iops_of() {
	tr -d '\r' <"$RUN_OUT" | sed -n "s/^BENCH blk_randread qd=$1 iops=\([0-9]*\) .*/\1/p"
}

# expect_rate LABEL QD MIN MAX
expect_rate() {
	local got
	got=$(iops_of "$2")
	echo "  [$1] asked ${5:-?} iops, delivered ${got:-none} iops (qd=$2)"
	if [ -n "$got" ] && [ "$got" -ge "$3" ] && [ "$got" -le "$4" ]; then
		lib_ok "$1: $got iops in [$3, $4]"
	else
		lib_fail "$1: ${got:-no} iops, want [$3, $4]"
		lib_dump_output
	fi
}

run_vmm blk_bench --disk "$disk,ro,ops=5:10" --append "$args qd=32"
expect_pass
expect_rate "ops=5:10" 32 250 550 500

run_vmm blk_bench --disk "$disk,ro,bw=20K:10" --append "$args qd=32"
expect_pass
expect_rate "bw=20K:10" 32 250 550 500

# Changed at run time: the qd=1 run at 500/s, then PATCH to 200/s before the qd=32 run ends.
sock="$LIB_TMP/api.sock"
lib_new_run "vmm blk_bench with PATCH /drives"
timeout "$RUN_TIMEOUT" "$VMM" --kernel "$(guest_path blk_bench)" --debug-exit --console stdio \
	--mem 256M --disk "$disk,ro,ops=5:10" --api-sock "$sock" --append "$args" \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
vm=$!
for _ in $(seq 600); do
	grep -q "^BENCH blk_randread qd=1 " "$RUN_OUT" 2>/dev/null && break
	kill -0 $vm 2>/dev/null || break
	sleep 0.1
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$sock" -X PATCH \
	-H 'Content-Type: application/json' -d '{"drive_id": "drive0", "rate_limiter":
	{"ops": {"size": 2, "refill_time": 10}}}' http://localhost/drives/drive0)
wait $vm
RUN_STATUS=$?
if [ "$code" = 204 ]; then lib_ok "PATCH /drives rate_limiter: 204"; else lib_fail "PATCH: $code"; fi
expect_pass
expect_rate "before PATCH (ops=5:10)" 1 250 550 500
expect_rate "after PATCH (ops=2:10)" 32 100 260 200

if have_qemu; then
	QEMU_MACHINE=microvm,acpi=off run_qemu blk_bench -global virtio-mmio.force-legacy=false \
		-drive "id=d0,file=$disk,format=raw,if=none,readonly=on,throttling.iops-total=500" \
		-device virtio-blk-device,drive=d0 -append "$args qd=32"
	expect_pass
	echo "  [qemu throttling.iops-total=500] delivered $(iops_of 32) iops (not asserted)"
fi
finish
