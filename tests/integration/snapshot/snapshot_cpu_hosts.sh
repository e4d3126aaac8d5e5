#!/usr/bin/env bash
# The refusal between two real hosts with different CPUs (issue 50; docs/cpu.md): two L1 Linux
# VMs of tools/kvm-in-qemu, one after the other, with different QEMU CPU models, each with an
# emulated kvm_amd whose KVM_GET_SUPPORTED_CPUID follows its CPU:
#   host A (EPYC,+svm,+npt): the counting guest snapshotted mid-run; `vmm --check-cpu` says ok;
#   host B (qemu64,+svm,+npt: no SSSE3, SSE4.1/4.2, POPCNT, MOVBE, AES, XSAVE, ...): the same
#     snapshot is refused by `vmm --check-cpu` (exit 1) and `vmm --restore` (exit 2, no guest
#     output), both naming sse4_2; `--cpu-check off` gets past the check with a warning, and
#     then either the guest ends with TEST PASS (it uses none of those instructions) or the
#     vCPU state itself is refused by name (an XSAVE area this host cannot hold).
# The checks run here once both L1s have ended. Needs root, QEMU, busybox and cpio (the
# tools/kvm-in-qemu requirements); ~2 minutes on a 2-core host.
# labels: slow snapshot
# requires: root qemu busybox cpio
# timeout: 900
# resource: linux:2
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
HOST_A=${CPU_HOST_A:-EPYC,+svm,+npt}
HOST_B=${CPU_HOST_B:-qemu64,+svm,+npt}

# ---- in L1 ----

# host A: the snapshot, into $CPU_HOSTS_OUT/snap (with the disk it was taken with)
inner_snap() {
	. "$SOURCE_DIR/tests/integration/lib/snapshot_lib.sh"
	local sock="$LIB_TMP/api.sock" disk="$LIB_TMP/disk.img"
	truncate -s 1M "$disk"
	# steps=8000 (the most a 1 MiB disk takes): still running when it is paused (with 200 a fast
	# L1 finished the guest first, and the pause found no VMM)
	snap_start "host A" "$sock" --mem 64M --disk "$disk" --append "steps=8000" &&
		snap_wait_progress "$RUN_OUT" "$SNAP_PID" 20 && snap_take "$sock" "$LIB_TMP/snap" || {
		# what went wrong, on lines the caller's filter lets through
		tail -n 5 "$RUN_ERR" "$RUN_OUT" | sed 's/^/in L1 (snap): /'
		return 1
	}
	snap_kill "$SNAP_PID"
	cp "$disk" "$LIB_TMP/snap/disk.img"
	cp -r "$LIB_TMP/snap" "$CPU_HOSTS_OUT/snap"
	"$VMM" --check-cpu "$CPU_HOSTS_OUT/snap" >"$CPU_HOSTS_OUT/a-check.out" 2>&1
	echo $? >"$CPU_HOSTS_OUT/a-check.status"
}

# host B: each command's output and status into $CPU_HOSTS_OUT/b-NAME.*
inner_restore() {
	local o=$CPU_HOSTS_OUT snap="$LIB_TMP/snap"
	cp -r "$o/snap" "$snap"
	"$VMM" --check-cpu "$snap" >"$o/b-check.out" 2>&1
	echo $? >"$o/b-check.status"
	timeout 120 "$VMM" --restore "$snap" --disk "$snap/disk.img" </dev/null >"$o/b-restore.out" \
		2>"$o/b-restore.err"
	echo $? >"$o/b-restore.status"
	timeout 300 "$VMM" --restore "$snap" --disk "$snap/disk.img" --cpu-check off </dev/null \
		>"$o/b-off.out" 2>"$o/b-off.err"
	echo $? >"$o/b-off.status"
}

if [ -n "${CPU_HOSTS_INNER:-}" ]; then
	echo "in L1 ($CPU_HOSTS_INNER): $(grep -m1 'model name' /proc/cpuinfo)"
	"inner_$CPU_HOSTS_INNER"
	exit $?
fi

# ---- here ----

[ -x "$SOURCE_DIR/tools/kvm-in-qemu/run.sh" ] || skip "missing tool" "no tools/kvm-in-qemu"
# Not under /tmp: L1 mounts its own tmpfs there, over the share.
out=$(mktemp -d "${BUILD_DIR:-$PWD}/snapshot_cpu_hosts.XXXXXX")
trap 'rm -rf "$out" "$LIB_TMP"' EXIT
export VMM GUESTS SOURCE_DIR CPU_HOSTS_OUT="$out"

# l1 NAME CPU: runs this script's inner_NAME in an L1 with CPU; true when it ended with 0
l1() {
	CPU_HOSTS_INNER=$1 "$SOURCE_DIR/tools/kvm-in-qemu/run.sh" --cpu "$2" --rw "$out" \
		--timeout 400 --log "$out/l1-$1.console" -- bash "$SCRIPT" 2>&1 |
		grep --line-buffered -E '^(in L1|kvm-in-qemu)'
	local status=${PIPESTATUS[0]}
	[ "$status" = 0 ] && return 0
	echo "L1 ($1) ended with $status; its console's last lines:"
	tail -5 "$out/l1-$1.console"
	return 1
}

l1 snap "$HOST_A" && lib_ok "host A ($HOST_A): snapshotted" || lib_fail "host A made no snapshot"
[ -s "$out/snap/state" ] || finish
[ "$(cat "$out/a-check.status")" = 0 ] && lib_ok "host A: $(cat "$out/a-check.out")" ||
	lib_fail "host A's own check: $(cat "$out/a-check.out")"

l1 restore "$HOST_B" || lib_fail "host B did not run the restores"
[ "$(cat "$out/b-check.status" 2>/dev/null)" = 1 ] && grep -q '^refused: .*sse4_2' "$out/b-check.out" &&
	lib_ok "host B ($HOST_B): --check-cpu: $(cat "$out/b-check.out")" ||
	lib_fail "host B --check-cpu: status $(cat "$out/b-check.status"), $(cat "$out/b-check.out")"
[ "$(cat "$out/b-restore.status" 2>/dev/null)" = 2 ] && grep -q 'cannot give: .*sse4_2' "$out/b-restore.err" &&
	lib_ok "host B: --restore refused (2): $(grep -m1 'cannot give' "$out/b-restore.err")" ||
	lib_fail "host B --restore: status $(cat "$out/b-restore.status"), $(cat "$out/b-restore.err")"
[ -s "$out/b-restore.out" ] && lib_fail "the refused restore printed guest output" ||
	lib_ok "no guest output"
grep -q 'warning: .*cannot give: .*sse4_2' "$out/b-off.err" &&
	lib_ok "host B: --cpu-check off: warned: $(grep -m1 'cannot give' "$out/b-off.err")" ||
	lib_fail "host B --cpu-check off: no warning: $(tail -3 "$out/b-off.err")"
# Past the check, the state itself may not fit this host (an XSAVE area of another size is
# refused by the vCPU's restore): either ends the run as it should.
if [ "$(cat "$out/b-off.status" 2>/dev/null)" = "$STATUS_PASS" ] && grep -q '^TEST PASS' "$out/b-off.out"; then
	lib_ok "host B: --cpu-check off: the guest ran to TEST PASS"
elif grep -q 'error: .*SNAP_VCPU' "$out/b-off.err"; then
	lib_ok "host B: --cpu-check off: past the check, the state refused: $(grep -m1 'error:' "$out/b-off.err")"
else
	lib_fail "host B --cpu-check off: status $(cat "$out/b-off.status"), $(tail -3 "$out/b-off.out" "$out/b-off.err")"
fi
finish
