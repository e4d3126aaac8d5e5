#!/usr/bin/env bash
# Snapshots of the display devices (virtio-gpu, virtio keyboard and tablet), headless:
#   gpu    tests/guests/virtio_gpu.c with wait=S draws the full picture, then waits; the VM is
#          paused there and snapshotted through the API, then ended with SIGTERM, which writes
#          its --screenshot (the picture without the box).
#          a) `vmm --restore DIR`: the guest draws only the box (a transfer and a flush of that
#             rectangle alone) and ends; the screenshot at exit must be the whole picture with
#             the box: the rest of the screen comes from the restored resource (its pixels), the
#             box from its restored backing, and the display was refreshed at the restore.
#          b) `vmm --api-sock`, PUT /snapshot/load with resume_vm false, SIGTERM: the screenshot
#             of the restored, never resumed VM must equal the one taken before (cmp).
#   input  tests/guests/virtio_input.c with events wait=S: the keyboard reads two of its six
#          injected events, selects ID_NAME in its config and waits; snapshot, SIGKILL, restore:
#          the guest must read the other four keyboard events and the tablet's seven, in order,
#          and find ID_NAME still selected. The restore reads the --input-script again (it is a
#          replayed option): its events must be replaced by the saved queue, or the keyboard
#          would see KEY_A again.
# labels: snapshot display api
# requires: kvm
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-240}
WAIT_S=${SNAP_DISPLAY_WAIT:-8} # how long the guests wait for the snapshot
sock="$LIB_TMP/api.sock"

check_png() {
	if python3 "$SOURCE_DIR/tests/integration/lib/display_png_check.py" "$@"; then
		lib_ok "screenshot $1 matches (${4:-with the box})"
	else
		lib_fail "screenshot $1 differs"
	fi
}

# guest_start LABEL GUEST PATTERN [VMM ARGS]: starts GUEST with the API on $sock and waits for
# PATTERN in its output; SNAP_PID, RUN_OUT, RUN_ERR as snap_start.
guest_start() {
	local label=$1 guest=$2 pattern=$3 kernel
	shift 3
	lib_new_run "$label"
	kernel=$(guest_path "$guest") || return 1
	rm -f "$sock"
	"$VMM" --kernel "$kernel" --debug-exit --console stdio --api-sock "$sock" --landlock-rules "$LIB_TMP:rw" "$@" \
		</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	SNAP_PID=$!
	SNAP_PIDS+=("$SNAP_PID")
	snap_wait_sock "$sock" "$SNAP_PID" || return 1
	for _ in $(seq $((RUN_TIMEOUT * 10))); do
		tr -d '\r' <"$RUN_OUT" | grep -q "$pattern" && return 0
		kill -0 "$SNAP_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# snapshot_in_wait DIR: pauses the guest (still in its wait) and snapshots it into DIR.
snapshot_in_wait() {
	local got
	if ! got=$(snap_take "$sock" "$1"); then
		lib_fail "$got"
		return 1
	fi
	if tr -d '\r' <"$RUN_OUT" | grep -qE '^(gpu pattern|keyboard:)'; then
		lib_fail "the guest ended its wait before the pause (a very loaded machine?)"
		return 1
	fi
	lib_ok "snapshot in the guest's wait: $(du -sh "$1" | cut -f1)"
}

# ---- gpu ----
W=64 H=40
shot="$LIB_TMP/shot.png"
dir="$LIB_TMP/snap-gpu"
echo "=== gpu ==="
if guest_start "vmm virtio_gpu (to be snapshotted)" virtio_gpu '^gpu waiting' --gpu \
	--screenshot "$shot" --append "width=$W height=$H wait=$WAIT_S" &&
	snapshot_in_wait "$dir"; then
	kill -TERM "$SNAP_PID"
	wait "$SNAP_PID"
	cp "$shot" "$LIB_TMP/before.png" 2>/dev/null
	check_png "$LIB_TMP/before.png" $W $H nobox

	rm -f "$shot"
	# the screenshot is outside the snapshot's folder: the operator allows the test's folder
	run_restore "vmm --restore (gpu)" --restore "$dir" --landlock-rules "$LIB_TMP:rw"
	expect_pass
	expect_output "^gpu pattern ${W}x$H drawn"
	expect_no_output '^gpu waiting' # went on, did not boot again
	check_png "$shot" $W $H

	rm -f "$shot"
	s="$LIB_TMP/load.sock"
	lib_new_run "PUT /snapshot/load, paused (gpu)"
	"$VMM" --api-sock "$s" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	pid=$!
	SNAP_PIDS+=("$pid")
	snap_wait_sock "$s" "$pid"
	got=$(snap_api "$s" PUT /snapshot/load \
		"{\"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\", \"resume_vm\": false}")
	[ "${got%% *}" = 204 ] && lib_ok "PUT /snapshot/load -> 204" || lib_fail "load: $got"
	kill -TERM "$pid"
	wait "$pid"
	if cmp "$LIB_TMP/before.png" "$shot"; then
		lib_ok "the restored screen is the one snapshotted"
	else
		lib_fail "the restored screen differs from the one snapshotted"
		lib_dump_output
	fi
else
	lib_fail "no gpu snapshot"
	lib_dump_output
	snap_kill "$SNAP_PID"
fi

# ---- input ----
script="$LIB_TMP/input.txt"
cat >"$script" <<'END'
key 30 1
key 30 0
key 42 1
abs 1000 2000
btn 0x110 1
btn 0x110 0
END
dir="$LIB_TMP/snap-input"
echo "=== input ==="
if guest_start "vmm virtio_input (to be snapshotted)" virtio_input '^input waiting' \
	--input-script "$script" --append "events wait=$WAIT_S" && snapshot_in_wait "$dir"; then
	snap_kill "$SNAP_PID"
	run_restore "vmm --restore (input)" --restore "$dir" --landlock-rules "$LIB_TMP:ro"
	expect_pass
	expect_output '^keyboard: 6 events as injected'
	expect_output '^tablet: 7 events as injected'
	expect_no_output '^input waiting'
else
	lib_fail "no input snapshot"
	lib_dump_output
	snap_kill "$SNAP_PID"
fi
finish
