# Boots run in an L1 Linux (tools/kvm-in-qemu: QEMU's TCG with nested SVM) on hosts whose KVM
# cannot run them: on kvm_pvm, Debian's stock kernel stops at an emulation failure before any
# driver. Sourced after lib.sh by the stock-kernel and firmware tests, which run their own script
# again inside L1 and check its results here once L1 has ended.

L1_PVM_WHY="this host's KVM is kvm_pvm, where Debian's stock kernel stops at an emulation failure"
L1_PVM_WHY+=" (cmpxchg16b, then its INT3 self-test) before any driver"

# l1_wanted [FORCE_DIRECT]: true when the boots must run in L1 (kvm_pvm, unless FORCE_DIRECT=1).
l1_wanted() { [ -e /sys/module/kvm_pvm ] && [ "${1:-0}" != 1 ]; }

# l1_require WHY: skips (77) with WHY unless tools/kvm-in-qemu can run here.
l1_require() {
	[ "$(id -u)" = 0 ] || skip "kvm_pvm" "$1; tools/kvm-in-qemu needs root"
	local t
	for t in "$QEMU" busybox cpio; do
		command -v "$t" >/dev/null || skip "kvm_pvm" "$1; tools/kvm-in-qemu needs $t"
	done
}

# l1_run OUT TIMEOUT FILTER RESET -- CMD...: runs CMD in an L1 that shares OUT read-write (not
# under /tmp: L1 mounts its own tmpfs there), its console kept in OUT/l1.console and the lines of
# its output that start with "in L1", "kvm-in-qemu" or the extended regex FILTER shown. L1's own
# kernel, on TCG's nested SVM, can fail (it panicked with "stack guard page was hit" inside a
# guest's KVM_RUN in some runs of the suite): then once more, after its last console lines, with
# the function RESET (if not "") called first to put the boots' files back. When L1 itself died
# every time the test is skipped (77), saying so; otherwise returns the last attempt's status.
# L1_ATTEMPTS (default 3; a stalled L1 is stopped within minutes, run.sh --stall) is how many runs at most. L1_CPU, when set, is L1's QEMU -cpu (run.sh --cpu; default EPYC,+svm,+npt); L1_VFIO=1 gives
# L1 an IOMMU and a device to pass through (run.sh --vfio-devices).
l1_run() {
	local out=$1 timeout=$2 filter=$3 reset=$4 attempt status=1 attempts=${L1_ATTEMPTS:-3}
	shift 4
	[ "${1:-}" = -- ] && shift
	for ((attempt = 1; attempt <= attempts; attempt++)); do
		"$SOURCE_DIR/tools/kvm-in-qemu/run.sh" --rw "$out" --timeout "$timeout" \
			${L1_CPU:+--cpu "$L1_CPU"} ${L1_VFIO:+--vfio-devices} --log "$out/l1.console" \
			-- "$@" 2>&1 | tee "$out/l1.out" |
			grep --line-buffered -E "^(in L1|kvm-in-qemu|$filter)"
		status=${PIPESTATUS[0]}
		[ "$status" = 0 ] && return 0
		echo "note: L1 (tools/kvm-in-qemu) ended with status $status, attempt $attempt;" \
			"its console's last lines:"
		grep -E 'panic|BUG|Oops|ERROR' "$out/l1.console" | head -5
		tail -5 "$out/l1.console"
		[ "$attempt" = "$attempts" ] || [ -z "$reset" ] || "$reset"
	done
	l1_crashed "$out" && skip "L1 crashed" "L1 itself failed every time, not the boots in it:" \
		"$(grep -m1 -oE "$L1_CRASH" "$out/l1.console") (QEMU's TCG under tools/kvm-in-qemu)"
	return "$status"
}

# What L1's console shows when L1 itself died: its kernel's panic (the boots' consoles are files
# of their own, never L1's), QEMU's abort under it, or run.sh's stall watch stopping an L1 whose
# kernel reported a CPU stuck for minutes.
L1_CRASH='Kernel panic - not syncing: [^\r]*|tcg_handle_interrupt: assertion failed[^\r]*|kvm-in-qemu: L1 stalled[^\r]*'

# l1_crashed OUT: true when L1 itself died in the last run: the command left no exit status and
# L1's console has the panic or abort (then the boots in it could not finish, whatever they do: a
# VMM in L1 is a user process there, and cannot bring L1's kernel down).
l1_crashed() {
	grep -q 'kvm-in-qemu: no exit status' "$1/l1.out" && grep -qE "$L1_CRASH" "$1/l1.console"
}

# console_unbroken FILE: the guest console FILE (carriage returns already taken out) with every
# kernel message that broke into another line taken out, so that line is whole again: a printk
# comes out on the console between two bytes of a user-space write ("ens2 10.0.2.15/[   69.2]
# SVM: kvm: Nested Paging enabled", newline, "24 ..."). Read user space's lines from it; a check
# of the kernel's own messages reads FILE as it came.
console_unbroken() {
	perl -0pe 's/(?<=[^\n])\[ *\d+\.\d+\] [^\n]*\n//g' "$1"
}

# l1_watch_stall LOG STALL SOCK PID [LIMIT]: run in the background beside a boot of our VMM in L1
# (process PID, API socket SOCK, console in LOG). When LOG stays still for LIMIT seconds (default
# 60; a stock kernel's whole boot takes 17-35 s in L1, and the longest silence of a boot that
# ended was 6 s), writes the vCPUs' exit counters to STALL twice, 5 s apart (do they move: the
# guest spins; or not: a vCPU stuck in KVM_RUN), and stops the boot. In L1 (QEMU's TCG with nested
# SVM) a boot's console now and then stops mid-line early in the kernel's boot while the same boot
# beside it or alone goes on; QEMU's boots there did so too (test_linux_stock.py, test_firmware_stock.py).
# VMMCTL must be set.
l1_watch_stall() {
	local log=$1 stall=$2 sock=$3 pid=$4 limit=${5:-60} size=-1 now still=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		now=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$now" != "$size" ]; then
			size=$now still=0
			continue
		fi
		still=$((still + 5))
		[ "$still" -ge "$limit" ] || continue
		{
			echo "console silent for $still s at $size bytes; the vCPUs' exits, then 5 s later:"
			"$VMMCTL" --sock "$sock" --timeout 10 vcpus
			sleep 5
			"$VMMCTL" --sock "$sock" --timeout 10 vcpus
		} >"$stall" 2>&1
		kill "$pid" 2>/dev/null
		return 0
	done
}

# l1_boot_again OUT NAME TRY: whether boot NAME (files OUT/NAME.*) of a try before TRY (2, 3...)
# ended in a triple fault (status 4), no end (124) or a stall (NAME.stall): L1's nested SVM under
# TCG, not the boot (l1_watch_stall). If so, sets its files aside for the next try (the first
# try's as NAME-first.*, shown by the checks; later ones removed) and returns 0.
l1_boot_again() {
	local out=$1 name=$2 try=$3 status f
	status=$(cat "$out/$name.status" 2>/dev/null)
	[ "$status" = 4 ] || [ "$status" = 124 ] || [ -f "$out/$name.stall" ] || return 1
	for f in log err status secs stall; do
		[ -f "$out/$name.$f" ] || continue
		if [ "$try" = 2 ]; then mv "$out/$name.$f" "$out/$name-first.$f"; else rm -f "$out/$name.$f"; fi
	done
	return 0
}
