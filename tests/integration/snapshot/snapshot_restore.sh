#!/usr/bin/env bash
# Snapshot and restore, proved by a guest whose result does not depend on them
# (tests/guests/snap_counter.c: a checksum computed in ring 3, a sector written and read back
# by interrupt every 4 steps, a periodic LAPIC timer, with cpus=2 the AP counting in ring 3 too).
# For each variant {mmio split ring, mmio packed ring, pci split ring (MSI-X), 2 vCPUs}:
#   1. an uninterrupted run: its SNAP-RESULT line and its disk file;
#   2. the same run on a fresh disk, paused at about a third of its steps (PATCH /vm),
#      snapshotted (PUT /snapshot/create) and killed with SIGKILL;
#   3. `vmm --restore DIR --disk PATH` (the disk is outside the snapshot's folder: the operator
#      gives it; the packed-ring variant: `vmm --api-sock` then PUT /snapshot/load, whose VMM has
#      --landlock-rules for the test's folder, of a VM with a user-mode NIC (--net user: its
#      libslirp must be loaded before the broker that builds the VM is confined))
#      must end with TEST PASS, the SAME SNAP-RESULT, without booting again (no SNAP-START), and
#      leave a disk file identical to the uninterrupted run's (cmp).
# QEMU runs the guest once too: its result is the one every one-CPU run must give.
# Also: a snapshot of a running (not paused) VM is refused with 400; and bad snapshots (the state
# file truncated at several lengths, one flipped byte, its format version changed, the memory
# file too short or too long, the disk file missing, no such directory) each end `vmm --restore`
# with status 2, a message on stderr and no guest output at all; over the API a bad snapshot is
# refused with 400 and the same VMM then loads the good one.
# labels: snapshot api
# requires: kvm
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-300}
STEPS=${SNAP_STEPS:-400}
SNAP_AT=$((STEPS * 35 / 100)) # the SNAP-PROGRESS after which the VM is paused
DISK_SIZE=1M
sock="$LIB_TMP/api.sock"

# snapshot_variant NAME HOW VMM_OPTS GUEST_ARGS: HOW is cli (vmm --restore) or api (snapshot/load)
snapshot_variant() {
	local name=$1 how=$2 opts=($3) args="$4 steps=$STEPS" ref="$LIB_TMP/ref-$1.img"
	local disk="$LIB_TMP/snap-$1.img" dir="$LIB_TMP/snap-$1" want got at="" attempt

	echo "=== $name: $* ==="
	rm -f "$ref"
	truncate -s "$DISK_SIZE" "$ref"
	run_vmm snap_counter "${opts[@]}" --disk "$ref" --append "$args"
	expect_pass
	want=$(snap_result "$RUN_OUT")
	[ -n "$want" ] || {
		lib_fail "no SNAP-RESULT in the uninterrupted run"
		return
	}
	echo "uninterrupted: $want"
	if [ -n "$QEMU_RESULT" ] && [[ "$args" != *cpus=* ]]; then
		[ "$want" = "$QEMU_RESULT" ] && lib_ok "QEMU's result too" ||
			lib_fail "QEMU's result differs: $QEMU_RESULT"
	fi

	# The snapshot run. Should the pause come after the guest's end (a very loaded machine),
	# try again: what is tested is the restore, not how fast the pause comes.
	for attempt in 1 2 3; do
		rm -rf "$dir" "$disk"
		truncate -s "$DISK_SIZE" "$disk"
		snap_start "vmm $name (attempt $attempt, to be snapshotted)" "$sock" --mem 256M \
			"${opts[@]}" --disk "$disk" --append "$args" || {
			lib_fail "the VMM did not come up"
			lib_dump_output
			return
		}
		if [ "$name" = mmio-split ] && [ "$attempt" = 1 ]; then
			snap_wait_progress "$RUN_OUT" "$SNAP_PID" 10
			got=$(snap_api "$sock" PUT /snapshot/create \
				"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$LIB_TMP/running/state\", \"mem_file_path\": \"$LIB_TMP/running/memory\"}")
			if [ "${got%% *}" = 400 ] && [[ "$got" == *fault_message* ]]; then
				lib_ok "a snapshot of a running VM is refused: $got"
			else
				lib_fail "a snapshot of a running VM: $got (want 400 with a fault_message)"
			fi
		fi
		if ! snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$SNAP_AT"; then
			wait "$SNAP_PID"
			RUN_STATUS=$?
			if [ -n "$(snap_result "$RUN_OUT")" ]; then
				echo "the guest ended before the pause; again"
				continue
			fi
			lib_fail "the VMM ended before SNAP-PROGRESS $SNAP_AT"
			lib_dump_output
			return
		fi
		if ! got=$(snap_take "$sock" "$dir"); then
			lib_fail "$got"
			snap_kill "$SNAP_PID"
			lib_dump_output
			return
		fi
		snap_kill "$SNAP_PID"
		if [ -n "$(snap_result "$RUN_OUT")" ]; then
			echo "the guest ended before the pause; again"
			continue
		fi
		at=$(snap_progress "$RUN_OUT")
		break
	done
	if [ -z "$at" ]; then
		lib_fail "no snapshot before the guest's end in 3 attempts"
		return
	fi
	lib_ok "snapshot after SNAP-PROGRESS $at of $STEPS: $(du -sh "$dir" | cut -f1) ($(ls "$dir" | tr '\n' ' '))"
	if [ "$name" = mmio-split ]; then # for the bad-snapshot cases
		cp -r "$dir" "$LIB_TMP/good"
		echo "$want" >"$LIB_TMP/good.result"
	fi

	if [ "$how" = api ]; then
		restore_over_api "restore $name over the API" "$dir"
	elif [ "$name" = smp ]; then
		run_restore "vmm --restore $name --api-sock" --restore "$dir" --api-sock "$LIB_TMP/r.sock" \
			--disk "$disk"
	else # the disk lives outside the snapshot's folder: the operator gives it
		run_restore "vmm --restore $name" --restore "$dir" --disk "$disk"
	fi
	expect_pass
	expect_no_output '^SNAP-START' # went on, did not boot again
	got=$(snap_result "$RUN_OUT")
	if [ "$got" = "$want" ]; then
		lib_ok "the same result: $got"
	else
		lib_fail "restored: '$got', uninterrupted: '$want'"
	fi
	if cmp "$ref" "$disk"; then
		lib_ok "the disk file is the uninterrupted run's"
	else
		lib_fail "the disk files differ"
	fi
}

# restore_over_api LABEL DIR [BAD_DIR]: `vmm --api-sock`, PUT /snapshot/load with resume_vm, then
# the VM runs to its end; sets RUN_* like run_restore. With BAD_DIR, a load of that one first
# must be refused (400, a fault_message) and leave the VMM waiting, not started.
restore_over_api() {
	local s="$LIB_TMP/load.sock" pid got
	lib_new_run "$1"
	rm -f "$s"
	"$VMM" --api-sock "$s" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	pid=$!
	SNAP_PIDS+=("$pid")
	if ! snap_wait_sock "$s" "$pid"; then
		lib_fail "the VMM did not come up"
		RUN_STATUS=none
		return
	fi
	if [ -n "${3:-}" ]; then
		got=$(snap_api "$s" PUT /snapshot/load \
			"{\"snapshot_path\": \"$3/state\", \"mem_file_path\": \"$3/memory\", \"resume_vm\": true}")
		if [ "${got%% *}" = 400 ] && [[ "$got" == *fault_message* ]]; then
			lib_ok "a bad snapshot is refused: $got"
		else
			lib_fail "PUT /snapshot/load of a bad snapshot -> $got (want 400)"
		fi
		got=$(snap_api "$s" GET /)
		[[ "$got" == *'"Not started"'* ]] && lib_ok "still not started" ||
			lib_fail "after a refused load: $got"
	fi
	got=$(snap_api "$s" PUT /snapshot/load \
		"{\"snapshot_path\": \"$2/state\", \"mem_file_path\": \"$2/memory\", \"resume_vm\": true}")
	if [ "${got%% *}" = 204 ]; then
		lib_ok "PUT /snapshot/load -> 204"
	else
		lib_fail "PUT /snapshot/load -> $got"
	fi
	for _ in $(seq $((RUN_TIMEOUT * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	RUN_STATUS=$?
}

# The same guest on QEMU (q35, virtio-blk-pci) gives the result every one-CPU variant must
# give (the checksum does not depend on the transport or the ring).
QEMU_RESULT=""
if have_qemu; then
	truncate -s "$DISK_SIZE" "$LIB_TMP/qemu.img"
	QEMU_MACHINE=q35 run_qemu snap_counter -drive "id=d0,file=$LIB_TMP/qemu.img,format=raw,if=none" \
		-device virtio-blk-pci,drive=d0,disable-legacy=on -append "transport=pci steps=$STEPS"
	expect_pass
	QEMU_RESULT=$(snap_result "$RUN_OUT")
	echo "QEMU: $QEMU_RESULT"
fi

snapshot_variant mmio-split cli "" "ring=split"
snapshot_variant mmio-packed api "--net user" "ring=packed"
snapshot_variant pci-msix cli "--transport pci" "transport=pci ring=split"
snapshot_variant smp cli "--cpus 2" "cpus=2"

# ---- a Diff snapshot: Full at ~18%, the guest runs on, Diff at ~35% onto a copy of the Full's
# memory file; restored from the Diff it must give the same result and disk (a page the VMM
# wrote but did not mark, a used ring or a sector read, would break it) ----
diff_variant() {
	local full="$LIB_TMP/diff-full" d="$LIB_TMP/diff" disk="$LIB_TMP/diff.img" got
	local want
	want=$(cat "$LIB_TMP/good.result" 2>/dev/null)
	[ -n "$want" ] || return
	echo "=== diff: Full, then Diff onto a copy ==="
	truncate -s "$DISK_SIZE" "$disk"
	snap_start "vmm diff (to be snapshotted twice)" "$sock" --mem 256M --track-dirty-pages \
		--disk "$disk" --append "ring=split steps=$STEPS" || {
		lib_fail "the VMM did not come up"
		return
	}
	snap_wait_progress "$RUN_OUT" "$SNAP_PID" $((SNAP_AT / 2)) &&
		got=$(snap_take "$sock" "$full") || {
		lib_fail "no Full snapshot: $got"
		snap_kill "$SNAP_PID"
		return
	}
	got=$(snap_api "$sock" PATCH /vm '{"state": "Resumed"}')
	snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$SNAP_AT" || {
		lib_fail "the guest ended before the Diff"
		snap_kill "$SNAP_PID"
		return
	}
	snap_api "$sock" PATCH /vm '{"state": "Paused"}' >/dev/null
	mkdir -p "$d"
	cp --sparse=always "$full/memory" "$d/memory"
	got=$(snap_api "$sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$d/state\", \"mem_file_path\": \"$d/memory\"}")
	snap_kill "$SNAP_PID"
	[ "${got%% *}" = 204 ] && lib_ok "Diff snapshot after SNAP-PROGRESS $(snap_progress "$RUN_OUT")" ||
		{
			lib_fail "Diff snapshot: $got"
			return
		}
	cmp -s "$full/memory" "$d/memory" && lib_fail "the Diff wrote nothing"
	run_restore "vmm --restore (the Diff)" --restore "$d" --disk "$disk"
	expect_pass
	[ "$(snap_result "$RUN_OUT")" = "$want" ] && lib_ok "the Diff restore gives the same result" ||
		lib_fail "the Diff restore gives $(snap_result "$RUN_OUT"), want $want"
	cmp -s "$disk" "$LIB_TMP/ref-mmio-split.img" && lib_ok "the same disk" ||
		lib_fail "the disk differs from the uninterrupted run's"
}
diff_variant

# ---- bad snapshots: each restore ends with status 2, a message, and no guest output ----
good="$LIB_TMP/good"
bad="$LIB_TMP/bad"
# the bad cases' disk, given by the operator (vmm/snapshot/restore_paths.h)
run_restore_bad() {
	local label=$1
	shift
	run_restore "$label" "$@" --disk "$LIB_TMP/snap-mmio-split.img"
}
# fresh_bad: a copy of the good snapshot to spoil
fresh_bad() {
	rm -rf "$bad"
	cp -r "$good" "$bad"
}
# flip FILE OFFSET: one bit of one byte
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 0x10)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

if [ -f "$good/state" ] && [ -f "$good/memory" ]; then
	state_size=$(stat -c %s "$good/state")
	mem_size=$(stat -c %s "$good/memory")
	echo "=== bad snapshots (state $state_size bytes, memory $mem_size bytes) ==="
	for len in 0 7 11 64 $((state_size / 2)) $((state_size - 1)); do
		fresh_bad
		truncate -s "$len" "$bad/state"
		run_restore_bad "state truncated to $len bytes" --restore "$bad"
		expect_refused
	done
	for off in 16 $((state_size / 2)) $((state_size - 1)); do
		fresh_bad
		flip "$bad/state" "$off"
		cmp -s "$good/state" "$bad/state" && lib_fail "flip did not change the file"
		run_restore_bad "state byte $off flipped" --restore "$bad"
		expect_refused
	done
	fresh_bad
	version=$(od -An -tu4 -j8 -N4 "$bad/state" | tr -d ' ')
	v=$((version + 1))
	printf "\\$(printf %03o $((v & 255)))\\$(printf %03o $(((v >> 8) & 255)))\\$(printf %03o $(((v >> 16) & 255)))\\$(printf %03o $(((v >> 24) & 255)))" |
		dd of="$bad/state" bs=1 seek=8 conv=notrunc status=none
	run_restore_bad "format version $version -> $v" --restore "$bad"
	expect_refused
	fresh_bad
	truncate -s $((mem_size - 4096)) "$bad/memory"
	run_restore_bad "memory file 4 KiB short" --restore "$bad"
	expect_refused
	fresh_bad
	truncate -s $((mem_size + 4096)) "$bad/memory"
	run_restore_bad "memory file 4 KiB too long" --restore "$bad"
	expect_refused
	fresh_bad
	rm -f "$bad/memory"
	run_restore_bad "memory file missing" --restore "$bad"
	expect_refused
	fresh_bad
	mv "$LIB_TMP/snap-mmio-split.img" "$LIB_TMP/away.img"
	run_restore_bad "disk file missing" --restore "$bad"
	expect_refused
	mv "$LIB_TMP/away.img" "$LIB_TMP/snap-mmio-split.img"
	run_restore_bad "no such directory" --restore "$LIB_TMP/nonexistent"
	expect_refused
	# the untouched copy still restores (the cases above failed for their own reason); its disk
	# holds the end of the run already, and the guest writes the same sectors again
	fresh_bad
	run_restore_bad "the good snapshot again" --restore "$bad"
	expect_pass
	# over the API: a bad snapshot refused, then the good one loads in the same VMM
	fresh_bad
	truncate -s $((state_size / 2)) "$bad/state"
	restore_over_api "bad, then good snapshot over the API" "$good" "$bad"
	expect_pass
	expect_no_output '^SNAP-START'
	[ "$(snap_result "$RUN_OUT")" = "$(snap_result "$LIB_TMP/good.result")" ] &&
		lib_ok "the same result" || lib_fail "result: $(snap_result "$RUN_OUT")"
else
	lib_fail "no good snapshot to spoil"
fi
finish
