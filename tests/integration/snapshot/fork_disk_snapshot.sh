#!/usr/bin/env bash
# A disk snapshot at a live fork (docs/sandboxes.md, "Disks frozen at the fork"): the
# snap_counter guest writes a sector of its disk every few steps; PUT /vmm/fork with
# "disk_snapshots" freezes the disk at the pause: the parent goes on in a new qcow2 overlay over
# the file, and each of two children (started by `vmmctl fork`) in its own overlay over it. Once
# with a raw disk, once with a qcow2 one (its metadata must reach the file before the overlays
# read it; needs qemu-img). Checked each time:
#   - refusals with a 400 and nothing created: an overlay path that exists already, a read-only
#     drive;
#   - the parent's GET /vm/config shows its overlay;
#   - the frozen file does not change after the fork (the parent's writes go to its overlay),
#     every overlay took its guest's writes, and qemu-img finds each clean (when installed);
#   - the parent and both children end with TEST PASS and the uninterrupted run's SNAP-RESULT
#     (each rereads every sector it wrote: the ones before the fork through the frozen file).
# labels: snapshot
# requires: kvm
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

VMMCTL=${VMMCTL:-$BUILD_DIR/tools/vmmctl/vmmctl}
RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-300}
STEPS=${SNAP_STEPS:-400}
FORK_AT=$((STEPS / 4))
MEM=128M
[ -x "$VMMCTL" ] || {
	echo "SKIP: no vmmctl at $VMMCTL"
	exit 77
}
command -v jq >/dev/null || {
	echo "SKIP: no jq"
	exit 77
}

ro="$LIB_TMP/base.raw"
truncate -s 1M "$ro" "$LIB_TMP/ref.raw"
args="steps=$STEPS"
run_vmm snap_counter --mem "$MEM" --disk "$LIB_TMP/ref.raw" --append "$args"
expect_pass
want=$(snap_result "$RUN_OUT")
[ -n "$want" ] || {
	lib_fail "no SNAP-RESULT in the uninterrupted run"
	finish
}

# child N: its socket and its overlay of drive `data`, in $dir
child() {
	echo "{\"api_socket\": \"$dir/c$1.sock\", \"drive_overrides\": [{\"drive_id\": \"data\", \"path_on_host\": \"$dir/c$1.qcow2\"}]}"
}
body() { # DRIVE PARENT_PATH
	echo "{\"state_path\": \"$dir/state\", \"disk_snapshots\": [{\"drive_id\": \"$1\", \"parent_path\": \"$2\"}], \"children\": [$(child 0), $(child 1)]}"
}
wait_end() { # PID -> RUN_STATUS
	local deadline=$((SECONDS + RUN_TIMEOUT))
	while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	RUN_STATUS=$?
}

# fork_once FORMAT: the parent on a disk of FORMAT, forked into two children, the disk frozen.
fork_once() {
	local fmt=$1 disk sock got st frozen_sum pids parent_pid parent_out parent_err
	dir="$LIB_TMP/$fmt"
	mkdir -p "$dir"
	disk="$dir/disk.$fmt"
	sock="$dir/api.sock"
	if [ "$fmt" = raw ]; then
		truncate -s 1M "$disk"
	elif ! qemu-img create -q -f qcow2 "$disk" 1M; then
		lib_fail "qemu-img create"
		return
	fi
	snap_start "parent on $fmt" "$sock" --mem "$MEM" --mem-shared --disk "$disk,id=data" \
		--disk "$ro,ro,id=base" --append "$args" || {
		lib_fail "the VMM did not come up"
		return
	}
	parent_pid=$SNAP_PID parent_out=$RUN_OUT parent_err=$RUN_ERR
	snap_wait_progress "$parent_out" "$parent_pid" "$FORK_AT" || {
		lib_fail "the VM ended before SNAP-PROGRESS $FORK_AT"
		lib_dump_output
		return
	}
	touch "$dir/taken.qcow2"
	got=$(snap_api "$sock" PUT /vmm/fork "$(body data "$dir/taken.qcow2")")
	[ "${got%% *}" = 400 ] && [[ "$got" == *"taken.qcow2: File exists"* ]] &&
		lib_ok "an existing file: ${got:0:160}" || lib_fail "an existing file -> $got"
	got=$(snap_api "$sock" PUT /vmm/fork "$(body base "$dir/p.qcow2")")
	[ "${got%% *}" = 400 ] && [[ "$got" == *"read-only"* ]] &&
		lib_ok "a read-only drive: ${got:0:160}" || lib_fail "a read-only drive -> $got"
	[ ! -e "$dir/c0.qcow2" ] && [ ! -e "$dir/p.qcow2" ] && [ ! -e "$dir/state" ] &&
		lib_ok "nothing created by the refused requests" || lib_fail "a refused request left files"

	"$VMMCTL" --sock "$sock" --timeout 120 fork "$(body data "$dir/p.qcow2")" --vmm "$VMM" \
		--out "$dir" --vmm-arg --landlock-rules --vmm-arg "$LIB_TMP:rw" >"$dir/fork.json" \
		2>"$dir/fork.err"
	st=$?
	frozen_sum=$(sha256sum <"$disk")
	if [ "$st" -ne 0 ]; then
		lib_fail "vmmctl fork: status $st: $(cat "$dir/fork.err" "$dir/fork.json")"
		return
	fi
	lib_ok "vmmctl fork: 2 children"
	mapfile -t pids < <(jq -r '.children[].pid' "$dir/fork.json")
	SNAP_PIDS+=("${pids[@]}")
	got=$(snap_api "$sock" GET /vm/config)
	[[ "$got" == *"\"path_on_host\":\"$dir/p.qcow2\""* ]] &&
		lib_ok "GET /vm/config: the parent on its overlay" || lib_fail "GET /vm/config: ${got:0:400}"

	wait_end "$parent_pid"
	RUN_OUT=$parent_out RUN_ERR=$parent_err
	expect_pass
	[ "$(snap_result "$parent_out")" = "$want" ] && lib_ok "the parent: $want" ||
		lib_fail "the parent: '$(snap_result "$parent_out")', want '$want'"
	for i in 0 1; do
		while kill -0 "${pids[i]}" 2>/dev/null; do sleep 0.2; done
		out="$dir/child-$i.out"
		[ "$(snap_result "$out")" = "$want" ] && grep -q '^TEST PASS' "$out" &&
			lib_ok "child $i: TEST PASS, $want" ||
			lib_fail "child $i: '$(snap_result "$out")', want '$want'; $(tail -3 "$dir/child-$i.err")"
	done
	# an empty overlay is 4 clusters of 64 KiB: the guests' writes after the fork made them grow
	for f in p c0 c1; do
		size=$(stat -c %s "$dir/$f.qcow2")
		[ "$size" -gt 262144 ] && lib_ok "$f.qcow2 took the writes after the fork: $size bytes" ||
			lib_fail "$f.qcow2 is $size bytes: nothing written into it"
	done
	[ "$(sha256sum <"$disk")" = "$frozen_sum" ] && lib_ok "the frozen file did not change after the fork" ||
		lib_fail "the frozen file changed after the fork"
	if command -v qemu-img >/dev/null; then
		for f in p c0 c1; do
			qemu-img check -q "$dir/$f.qcow2" && lib_ok "qemu-img check $f.qcow2: clean" ||
				lib_fail "qemu-img check $f.qcow2"
		done
	fi
}

fork_once raw
if command -v qemu-img >/dev/null; then
	fork_once qcow2
else
	echo "note: no qemu-img: no qcow2 parent disk"
fi
finish
