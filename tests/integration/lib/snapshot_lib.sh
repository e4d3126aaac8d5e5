# Helpers of the snapshot tests (test_snapshot_restore.py, test_snapshot_clones.py); source after lib.sh.
#
#   snap_api SOCK METHOD PATH [BODY]  -> prints "STATUS BODY" (STATUS 000: no answer)
#   snap_wait_sock SOCK PID           waits until the API socket exists (or PID is gone)
#   snap_progress FILE                the last SNAP-PROGRESS number in FILE (0 if none)
#   snap_wait_progress FILE PID N     waits until FILE shows SNAP-PROGRESS >= N, or PID ends;
#                                     true when the progress came while PID still runs
#   snap_result FILE                  the SNAP-RESULT line of FILE (CRs dropped)
#   snap_start LABEL SOCK [VMM ARGS]  starts snap_counter on our VMM in the background with the
#                                     API on SOCK (--debug-exit, --console stdio); sets SNAP_PID
#                                     and, as run_vmm does, RUN_OUT / RUN_ERR / RUN_LABEL
#   snap_take SOCK DIR                pauses the VM and writes DIR/state and DIR/memory; true
#                                     when both answers were 204 (prints them otherwise)
#   snap_kill PID                     kill -9 and reap
#   run_restore LABEL [VMM ARGS]      runs `vmm ARGS` to its end (ARGS hold --restore DIR) like
#                                     run_vmm: RUN_STATUS, RUN_OUT, RUN_ERR, RUN_LABEL
#   expect_refused                    the last run ended with status 2, a message on stderr
#                                     ("vmm: ..." that is not an info line) and no guest output

SNAP_PIDS=()
trap 'for p in "${SNAP_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$LIB_TMP"' EXIT

snap_api() {
	local out code
	out=$(curl -s --max-time 120 --unix-socket "$1" -X "$2" \
		${4:+-H 'Content-Type: application/json' -d "$4"} -w '\n%{http_code}' \
		"http://localhost$3")
	code=${out##*$'\n'}
	echo "${code:-000} ${out%$'\n'*}"
}

snap_wait_sock() {
	local end=$((SECONDS + 60)) # seconds, not rounds: a round costs more on a slow host
	while [ "$SECONDS" -lt "$end" ]; do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

snap_progress() {
	local n
	n=$(tr -d '\r' <"$1" | sed -n 's/^SNAP-PROGRESS \([0-9]*\)$/\1/p' | tail -n 1)
	echo "${n:-0}"
}

snap_wait_progress() {
	while kill -0 "$2" 2>/dev/null; do
		[ "$(snap_progress "$1")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# The last result line; taken from anywhere in a line, as a migrated guest's console may start
# its destination output mid-line or another vCPU's bytes may come before it.
snap_result() {
	tr -d '\r' <"$1" | grep -oE 'SNAP-RESULT checksum=[0-9a-f]+ sectors=[0-9]+' | tail -n 1
}

snap_start() {
	local label=$1 sock=$2 kernel
	shift 2
	lib_new_run "$label"
	kernel=$(guest_path snap_counter) || return 1
	rm -f "$sock"
	"$VMM" --kernel "$kernel" --debug-exit --console stdio --api-sock "$sock" --landlock-rules "$LIB_TMP:rw" "$@" \
		</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	SNAP_PID=$!
	SNAP_PIDS+=("$SNAP_PID")
	# a VM the command line gives is built before the API answers (vmm/api/control.c)
	snap_wait_sock "$sock" "$SNAP_PID"
}

snap_take() {
	local sock=$1 dir=$2 got
	mkdir -p "$dir"
	got=$(snap_api "$sock" PATCH /vm '{"state": "Paused"}')
	if [ "${got%% *}" != 204 ]; then
		echo "pause: $got"
		return 1
	fi
	got=$(snap_api "$sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\"}")
	if [ "${got%% *}" != 204 ]; then
		echo "snapshot/create: $got"
		return 1
	fi
}

snap_kill() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

run_restore() {
	lib_new_run "$1"
	shift
	timeout -k 10 "$RUN_TIMEOUT" "$VMM" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	return 0
}

expect_refused() {
	expect_status 2
	if grep -v '^vmm: info:' "$RUN_ERR" | grep -q .; then
		lib_ok "a message: $(grep -v '^vmm: info:' "$RUN_ERR" | head -n 1)"
	else
		lib_fail "no message on stderr"
		lib_dump_output
	fi
	if [ -s "$RUN_OUT" ]; then
		lib_fail "the guest printed something"
		lib_dump_output
	else
		lib_ok "no guest output"
	fi
}
