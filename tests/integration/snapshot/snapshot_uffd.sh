#!/usr/bin/env bash
# Snapshot load with Firecracker's mem_backend Uffd through the example page-fault handler
# (tools/uffd-handler, vmm-uffd-handler), on the 256 MiB snap_counter guest of
# snapshot_restore.sh (its result does not depend on the snapshot):
#   1. an uninterrupted run: its SNAP-RESULT line and its disk file;
#   2. the same run paused at about a third of its steps, snapshotted, the VMM killed;
#   3. that snapshot loaded over the API (resume_vm) three times, each on a copy of the disk as
#      it was at the snapshot: mem_backend File, Uffd through the handler (lazy), Uffd through
#      `vmm-uffd-handler --eager`; each must end with TEST PASS, the same SNAP-RESULT and the
#      same disk file, and the handler with status 0 once the VMM is gone. The time from the
#      PUT to the guest's first line after it (restore to running) is printed for each, so File
#      and Uffd can be compared;
#   4. failures end the VM or the load with a message, never a hang: the handler killed right
#      after the load (the VMM ends within 30 s, "handler (pid N) exited"); a handler that takes the
#      userfaultfd and never reads it (the load is refused, or the VMM ends, within 60 s); a
#      stale socket with no handler (400, "refused the connection").
# labels: snapshot api
# requires: kvm python3
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-300}
STEPS=${SNAP_STEPS:-400}
SNAP_AT=$((STEPS * 35 / 100))
HANDLER="$BUILD_DIR/vmm-uffd-handler"
sock="$LIB_TMP/api.sock"
hsock="$LIB_TMP/uffd.sock"
dir="$LIB_TMP/snap"
disk="$LIB_TMP/disk.img"
ref="$LIB_TMP/ref.img"
[ -x "$HANDLER" ] || skip "not built" "$HANDLER (the vmm-uffd-handler target)"

# start_handler [OPTIONS]: vmm-uffd-handler on $hsock for the snapshot's memory; HANDLER_PID
start_handler() {
	rm -f "$hsock"
	"$HANDLER" --timeout 120 "$@" "$hsock" "$dir/memory" 2>"$LIB_TMP/handler.err" &
	HANDLER_PID=$!
	SNAP_PIDS+=("$HANDLER_PID")
	for _ in $(seq 100); do
		[ -S "$hsock" ] && return 0
		sleep 0.1
	done
	lib_fail "the handler made no socket: $(cat "$LIB_TMP/handler.err")"
	return 1
}

# start_loader: `vmm --api-sock` waiting for a load; LOAD_SOCK, LOAD_PID, RUN_OUT/RUN_ERR
start_loader() {
	lib_new_run "$1"
	LOAD_SOCK="$LIB_TMP/load.sock"
	rm -f "$LOAD_SOCK"
	"$VMM" --api-sock "$LOAD_SOCK" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	LOAD_PID=$!
	SNAP_PIDS+=("$LOAD_PID")
	snap_wait_sock "$LOAD_SOCK" "$LOAD_PID"
}

load_body() { # load_body BACKEND_JSON
	echo "{\"snapshot_path\": \"$dir/state\", \"mem_backend\": $1, \"resume_vm\": true}"
}

# wait_gone PID SECONDS: true when PID ended in time (its status in GONE_STATUS)
wait_gone() {
	for _ in $(seq $(($2 * 10))); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			GONE_STATUS=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# load_and_run LABEL BACKEND_JSON: loads the snapshot (on a fresh copy of its disk), times the
# restore to the guest's first line, runs to the end; RESTORE_MS and RUN_* set.
load_and_run() {
	local got t0 t1
	cp "$disk.at-snap" "$disk"
	RESTORE_MS=
	start_loader "$1" || {
		lib_fail "the VMM did not come up"
		RUN_STATUS=none
		return
	}
	t0=$(date +%s%N)
	got=$(snap_api "$LOAD_SOCK" PUT /snapshot/load "$(load_body "$2")")
	[ "${got%% *}" = 204 ] && lib_ok "PUT /snapshot/load -> 204" ||
		lib_fail "PUT /snapshot/load -> $got"
	for _ in $(seq 3000); do
		grep -q '^SNAP-' "$RUN_OUT" && break
		kill -0 "$LOAD_PID" 2>/dev/null || break
		sleep 0.01
	done
	t1=$(date +%s%N)
	grep -q '^SNAP-' "$RUN_OUT" && RESTORE_MS=$(((t1 - t0) / 1000000))
	if wait_gone "$LOAD_PID" "$RUN_TIMEOUT"; then
		RUN_STATUS=$GONE_STATUS
	else
		snap_kill "$LOAD_PID"
		RUN_STATUS=timeout
	fi
}

check_run() { # check_run WANT_RESULT
	local got
	expect_pass
	expect_no_output '^SNAP-START'
	got=$(snap_result "$RUN_OUT")
	[ "$got" = "$1" ] && lib_ok "the same result: $got" || lib_fail "restored: '$got', uninterrupted: '$1'"
	cmp "$ref" "$disk" && lib_ok "the disk file is the uninterrupted run's" ||
		lib_fail "the disk files differ"
}

check_handler_end() {
	if wait_gone "$HANDLER_PID" 30 && [ "$GONE_STATUS" = 0 ]; then
		lib_ok "the handler ended with 0: $(tail -n 1 "$LIB_TMP/handler.err")"
	else
		lib_fail "the handler: status ${GONE_STATUS:-still running}: $(cat "$LIB_TMP/handler.err")"
		kill -9 "$HANDLER_PID" 2>/dev/null
	fi
}

# ---- 1. and 2.: the reference run, the snapshot ----
args="ring=split steps=$STEPS"
truncate -s 1M "$ref"
run_vmm snap_counter --mem 256M --disk "$ref" --append "$args"
expect_pass
want=$(snap_result "$RUN_OUT")
[ -n "$want" ] || {
	lib_fail "no SNAP-RESULT in the uninterrupted run"
	finish
}
at=
for attempt in 1 2 3; do
	rm -rf "$dir" "$disk"
	truncate -s 1M "$disk"
	snap_start "vmm (attempt $attempt, to be snapshotted)" "$sock" --mem 256M --disk "$disk" \
		--append "$args" || break
	snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$SNAP_AT" && got=$(snap_take "$sock" "$dir") &&
		[ -z "$(snap_result "$RUN_OUT")" ] && at=$(snap_progress "$RUN_OUT")
	snap_kill "$SNAP_PID"
	[ -n "$at" ] && break
done
[ -n "$at" ] || {
	lib_fail "no snapshot before the guest's end in 3 attempts"
	lib_dump_output
	finish
}
cp "$disk" "$disk.at-snap"
lib_ok "snapshot after SNAP-PROGRESS $at of $STEPS: $(du -sh "$dir/memory" | cut -f1) of memory on disk"

# ---- 3. File, Uffd lazy, Uffd eager ----
load_and_run "load with File" "{\"backend_type\": \"File\", \"backend_path\": \"$dir/memory\"}"
check_run "$want"
file_ms=$RESTORE_MS

uffd="{\"backend_type\": \"Uffd\", \"backend_path\": \"$hsock\"}"
start_handler && {
	load_and_run "load with Uffd (lazy handler)" "$uffd"
	check_run "$want"
	check_handler_end
}
lazy_ms=$RESTORE_MS
start_handler --eager && {
	load_and_run "load with Uffd (eager handler)" "$uffd"
	check_run "$want"
	check_handler_end
}
eager_ms=$RESTORE_MS
echo "restore to running (PUT /snapshot/load to the guest's first line), 256 MiB guest:" \
	"File ${file_ms:-?} ms, Uffd lazy ${lazy_ms:-?} ms, Uffd eager ${eager_ms:-?} ms"

# ---- 4. failures: a message and an end, never a hang ----
cp "$disk.at-snap" "$disk"
start_handler && start_loader "the handler killed after the load" && {
	got=$(snap_api "$LOAD_SOCK" PUT /snapshot/load "$(load_body "$uffd")")
	kill -9 "$HANDLER_PID"
	if wait_gone "$LOAD_PID" 30; then
		[ "$GONE_STATUS" != 0 ] && lib_ok "the VMM ended (status $GONE_STATUS; the load said ${got:0:60})" ||
			lib_fail "the VMM ended with 0"
		grep -qE "handler \(pid [0-9]+\) exited|closed its socket" "$RUN_ERR" &&
			lib_ok "$(grep -m1 -E 'exited|closed its socket' "$RUN_ERR")" ||
			lib_fail "no message naming the handler: $(tail -n 3 "$RUN_ERR")"
	else
		lib_fail "the VMM still runs 30 s after its handler died"
		snap_kill "$LOAD_PID"
	fi
}

# A handler that takes the userfaultfd and never reads it.
rm -f "$hsock"
python3 - "$hsock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1] + ".tmp")
s.listen(1)
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
time.sleep(300)
PY
silent_pid=$!
SNAP_PIDS+=("$silent_pid")
for _ in $(seq 100); do [ -S "$hsock" ] && break; sleep 0.1; done
cp "$disk.at-snap" "$disk"
start_loader "a handler that never reads" && {
	got=$(snap_api "$LOAD_SOCK" PUT /snapshot/load "$(load_body "$uffd")")
	if [ "${got%% *}" = 400 ]; then
		[[ "$got" == *"page-fault handler"* || "$got" == *"not restored in time"* ]] &&
			lib_ok "the load is refused: ${got:0:200}" || lib_fail "the load: $got"
		snap_kill "$LOAD_PID"
	elif wait_gone "$LOAD_PID" 60; then
		grep -qE "has read no page fault|not restored in time" "$RUN_ERR" &&
			lib_ok "the VMM ended: $(grep -m1 -E 'has read no page fault|not restored' "$RUN_ERR")" ||
			lib_fail "no message: $(tail -n 3 "$RUN_ERR")"
	else
		lib_fail "the VMM still runs 60 s after a load its handler never serves ($got)"
		snap_kill "$LOAD_PID"
	fi
}
kill -9 "$silent_pid" 2>/dev/null

# A stale socket: its handler is gone.
start_handler && kill -9 "$HANDLER_PID" && wait "$HANDLER_PID" 2>/dev/null
start_loader "a stale handler socket" && {
	got=$(snap_api "$LOAD_SOCK" PUT /snapshot/load "$(load_body "$uffd")")
	[ "${got%% *}" = 400 ] && [[ "$got" == *"refused the connection"* ]] &&
		lib_ok "refused: ${got:0:200}" || lib_fail "a stale socket: $got"
	snap_kill "$LOAD_PID"
}
finish
