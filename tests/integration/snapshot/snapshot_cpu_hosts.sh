#!/usr/bin/env bash
# The refusal between two real hosts with different CPUs, and the template that makes the move
# possible (issue 50; docs/cpu.md): three L1 Linux VMs of tools/kvm-in-qemu, one after the other,
# with two QEMU CPU models, each with an emulated kvm_amd whose KVM_GET_SUPPORTED_CPUID follows
# its CPU:
#   host B (qemu64,+svm,+npt: no SSSE3, SSE4.1/4.2, POPCNT, MOVBE, AES, XSAVE, ...), first:
#     `vmm --cpu-template-dump`, the custom template of what a vCPU gets there;
#   host A (EPYC,+svm,+npt): the counting guest snapshotted mid-run, as is (`--check-cpu` says
#     ok), and again with the template made from B's dump (`--cpu-template-verify` says it
#     applies on A; `--check-cpu` ok);
#   host B again: the first snapshot is refused by `vmm --check-cpu` (exit 1) and `vmm --restore`
#     (exit 2, no guest output), both naming sse4_2; `--cpu-check off` gets past the check with
#     a warning, and then either the guest ends with TEST PASS (it uses none of those
#     instructions) or the vCPU state itself is refused by name (an XSAVE area this host cannot
#     hold). The templated snapshot is accepted: `--check-cpu` ok, `--restore` runs the guest
#     to TEST PASS with the check on.
# The checks run here once the L1s have ended. Needs root, QEMU, busybox and cpio (the
# tools/kvm-in-qemu requirements) and python3 (the template); ~2 minutes on a 2-core host.
# labels: slow snapshot
# requires: root qemu busybox cpio python3
# timeout: 1200
# resource: linux:2
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
HOST_A=${CPU_HOST_A:-EPYC,+svm,+npt}
HOST_B=${CPU_HOST_B:-qemu64,+svm,+npt}

# ---- in L1 ----

# host B, first: what a vCPU gets there (the snapshot's shape: one vCPU), as a custom template
inner_dump() {
	"$VMM" --cpu-template-dump >"$CPU_HOSTS_OUT/b-dump.json" 2>"$CPU_HOSTS_OUT/b-dump.err"
	echo $? >"$CPU_HOSTS_OUT/b-dump.status"
}

# progress PID N: snap_wait_progress with a deadline, so that a guest that stops making
# progress ends in a message rather than in L1's timeout
progress() {
	local end=$((SECONDS + 90))
	while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
		[ "$(snap_progress "$RUN_OUT")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "in L1: no SNAP-PROGRESS $2 within 90 s"
	return 1
}

# snap NAME STEPS [VMM ARGS]: the counting guest snapshotted mid-run into $CPU_HOSTS_OUT/NAME
# (with the disk it was taken with), then `vmm --check-cpu` on it into a-NAME-check.*
snap() {
	local name=$1 steps=$2 sock="$LIB_TMP/api.sock" disk="$LIB_TMP/disk.img" dir="$LIB_TMP/$1"
	shift 2
	rm -f "$disk"
	truncate -s 1M "$disk"
	snap_start "host A" "$sock" --mem 64M --disk "$disk" --append "steps=$steps" "$@" &&
		progress "$SNAP_PID" 20 && snap_take "$sock" "$dir" || {
		# what went wrong, on lines the caller's filter lets through
		tail -n 5 "$RUN_ERR" "$RUN_OUT" | sed "s/^/in L1 ($name): /"
		return 1
	}
	snap_kill "$SNAP_PID"
	cp "$disk" "$dir/disk.img"
	cp -r "$dir" "$CPU_HOSTS_OUT/$name"
	"$VMM" --check-cpu "$CPU_HOSTS_OUT/$name" >"$CPU_HOSTS_OUT/a-$name-check.out" 2>&1
	echo $? >"$CPU_HOSTS_OUT/a-$name-check.status"
}

# The template for the move, from the dumps of B ($1) and A ($2): in each register the check
# compares (docs/cpu.md, "The comparison"), the bits A's vCPU has and B's lacks cleared ("0"),
# the rest left as A's KVM gives them ("x"); a leaf B's KVM does not list counts as all clear
# there (here 0xD.1: XSAVEOPT, ... absent where there is no XSAVE). Not B's dump as it is: it
# also sets what B has and A lacks (0x80000008 EBX bit 26, SSB_NO, from B's older family), which
# A's own check then refuses in a snapshot taken there. No msr_modifiers: the dump's are the
# values of B's fresh vCPU (APIC base, PAT, ...), state and not features (the check compares MSR
# indexes, and a snapshot leaves out those the template's CPUID hides, e.g. TSC_AUX).
b_template() {
	python3 - "$1" "$2" <<-'PY'
		import json, sys
		b, a = (json.load(open(f)) for f in sys.argv[1:3])
		compared = {(0x1, 0): "ecx edx", (0x6, 0): "eax", (0x7, 0): "ebx ecx edx",
		            (0x7, 1): "eax", (0xD, 0): "eax edx", (0xD, 1): "eax",
		            (0x80000001, 0): "ecx edx", (0x80000007, 0): "edx", (0x80000008, 0): "ebx"}
		key = lambda l: (int(l["leaf"], 0), int(l["subleaf"], 0))
		def regs(dump):
		    return {key(l) + (m["register"],): int(m["bitmap"][2:], 2)
		            for l in dump["cpuid_modifiers"] for m in l["modifiers"]}
		ra, rb = regs(a), regs(b)
		out = []
		for l in a["cpuid_modifiers"]:
		    mods = []
		    for r in compared.get(key(l), "").split():
		        hide = ra[key(l) + (r,)] & ~rb.get(key(l) + (r,), 0)
		        if hide:
		            bits = "".join("0" if hide >> i & 1 else "x" for i in range(31, -1, -1))
		            mods.append({"register": r, "bitmap": "0b" + bits})
		    if mods:
		        out.append(dict(l, modifiers=mods))
		json.dump({"kvm_capabilities": [], "cpuid_modifiers": out, "msr_modifiers": []},
		          sys.stdout, indent=1)
	PY
}

# host A: the snapshot as is, then the template's (its verify first) into $CPU_HOSTS_OUT
inner_snap() {
	. "$SOURCE_DIR/tests/integration/lib/snapshot_lib.sh"
	local o=$CPU_HOSTS_OUT
	# steps=8000 (the most a 1 MiB disk takes): still running when it is paused (with 200 a fast
	# L1 finished the guest first, and the pause found no VMM)
	snap snap 8000 || return 1
	[ -s "$o/b-dump.json" ] || return 0
	"$VMM" --cpu-template-dump >"$LIB_TMP/a-dump.json" 2>"$o/a-dump.err" &&
		b_template "$o/b-dump.json" "$LIB_TMP/a-dump.json" >"$o/template.json" || return 1
	"$VMM" --cpu-template-file "$o/template.json" --cpu-template-verify >"$o/a-verify.out" 2>&1
	echo $? >"$o/a-verify.status"
	# fewer steps: the restore on B runs it to its end
	cp "$o/template.json" "$LIB_TMP/template.json"
	snap snap-t 3000 --cpu-template-file "$LIB_TMP/template.json"
}

# host B again: each command's output and status into $CPU_HOSTS_OUT/b-NAME.*
inner_restore() {
	local o=$CPU_HOSTS_OUT snap="$LIB_TMP/snap" t="$LIB_TMP/snap-t"
	# A restore gives the VM a new generation ID from getrandom(GRND_NONBLOCK), which fails
	# while the kernel's CSPRNG is not ready: on a just-booted L1 whose CPU has no RDRAND it is
	# not yet. Reading /dev/random waits for it (and makes the kernel gather jitter entropy).
	timeout 60 head -c 1 /dev/random >/dev/null
	cp -r "$o/snap" "$snap"
	"$VMM" --check-cpu "$snap" >"$o/b-check.out" 2>&1
	echo $? >"$o/b-check.status"
	timeout 60 "$VMM" --restore "$snap" --disk "$snap/disk.img" </dev/null >"$o/b-restore.out" \
		2>"$o/b-restore.err"
	echo $? >"$o/b-restore.status"
	timeout 150 "$VMM" --restore "$snap" --disk "$snap/disk.img" --cpu-check off </dev/null \
		>"$o/b-off.out" 2>"$o/b-off.err"
	echo $? >"$o/b-off.status"
	[ -s "$o/snap-t/state" ] || return 0
	cp -r "$o/snap-t" "$t"
	"$VMM" --check-cpu "$t" >"$o/b-t-check.out" 2>&1
	echo $? >"$o/b-t-check.status"
	timeout 150 "$VMM" --restore "$t" --disk "$t/disk.img" </dev/null >"$o/b-t-restore.out" \
		2>"$o/b-t-restore.err"
	echo $? >"$o/b-t-restore.status"
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

# l1 NAME CPU SECS: runs this script's inner_NAME in an L1 with CPU for at most SECS; true when
# it ended with 0
l1() {
	CPU_HOSTS_INNER=$1 "$SOURCE_DIR/tools/kvm-in-qemu/run.sh" --cpu "$2" --rw "$out" \
		--timeout "$3" --log "$out/l1-$1.console" -- bash "$SCRIPT" 2>&1 |
		grep --line-buffered -E '^(in L1|kvm-in-qemu)'
	local status=${PIPESTATUS[0]}
	[ "$status" = 0 ] && return 0
	echo "L1 ($1) ended with $status; its console's last lines:"
	tail -5 "$out/l1-$1.console"
	return 1
}

l1 dump "$HOST_B" 150 && [ "$(cat "$out/b-dump.status")" = 0 ] &&
	lib_ok "host B ($HOST_B): --cpu-template-dump: $(grep -c '"leaf"' "$out/b-dump.json") leaves" ||
	lib_fail "host B's --cpu-template-dump: $(cat "$out/b-dump.err" 2>/dev/null)"

l1 snap "$HOST_A" 400 && lib_ok "host A ($HOST_A): snapshotted" || lib_fail "host A made no snapshot"
[ -s "$out/snap/state" ] || finish
[ "$(cat "$out/a-snap-check.status")" = 0 ] && lib_ok "host A: $(cat "$out/a-snap-check.out")" ||
	lib_fail "host A's own check: $(cat "$out/a-snap-check.out")"
[ "$(cat "$out/a-verify.status" 2>/dev/null)" = 0 ] &&
	lib_ok "host A: the template from B's dump: $(cat "$out/a-verify.out")" ||
	lib_fail "host A: the template from B's dump: $(cat "$out/a-verify.out" 2>/dev/null)"
[ -s "$out/snap-t/state" ] && [ "$(cat "$out/a-snap-t-check.status")" = 0 ] &&
	lib_ok "host A: snapshotted with the template: $(cat "$out/a-snap-t-check.out")" ||
	lib_fail "host A: no snapshot with the template: $(cat "$out/a-snap-t-check.out" 2>/dev/null)"

l1 restore "$HOST_B" 400 || lib_fail "host B did not run the restores"
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
	lib_fail "host B --cpu-check off: status $(cat "$out/b-off.status"), $(tail -n 3 "$out/b-off.out" "$out/b-off.err")"
fi
[ "$(cat "$out/b-t-check.status" 2>/dev/null)" = 0 ] && grep -q '^ok:' "$out/b-t-check.out" &&
	lib_ok "host B: the template's snapshot: --check-cpu: $(cat "$out/b-t-check.out")" ||
	lib_fail "host B: the template's snapshot: --check-cpu: status $(cat "$out/b-t-check.status" 2>/dev/null), $(cat "$out/b-t-check.out" 2>/dev/null)"
[ "$(cat "$out/b-t-restore.status" 2>/dev/null)" = "$STATUS_PASS" ] && grep -q '^TEST PASS' "$out/b-t-restore.out" &&
	lib_ok "host B: the template's snapshot: --restore ran the guest to TEST PASS" ||
	lib_fail "host B: the template's snapshot: --restore: status $(cat "$out/b-t-restore.status" 2>/dev/null), $(tail -n 3 "$out/b-t-restore.out" "$out/b-t-restore.err" 2>/dev/null)"
finish
