#!/usr/bin/env bash
# Working-set restores (docs/snapshots.md, "Working-set restore") on the ws_touch guest (256 MiB;
# after each restore it writes 16 MiB and reads 16 MiB of the 32 MiB it filled, then prints
# WS-ANSWER with a checksum):
#   1. the guest snapshotted while it waits;
#   2. `vmm --restore DIR --working-set record`, the answer, then PUT /vmm/working-set stops the
#      recording: 200 with the path, the pages and "stopped_by": "request"; DIR/state.working-set
#      has the header, at least the 8192 pages the guest touched, and written ranges (`w`); a
#      second stop is a 400 saying the first one stopped it and what it wrote;
#   2b. PUT /snapshot/load "working_set": "record", "working_set_record_ms": 4000: the VMM stops
#      the recording itself (its info line), the file is rewritten with the touched pages, and
#      a stop request after it is a 400 saying the time limit stopped it and what it wrote;
#      "working_set_record_ms" without "record", or 0, is a 400;
#   2c. the same on the command line: `--working-set-ms 0` exits 2 saying why; `vmm --restore DIR
#      --working-set record --working-set-ms 3000` stops the recording itself and writes the file;
#   3. `vmm --restore DIR` loads it (the info line says how many pages) and the guest gives the
#      same answer; `--working-set off` does not load it;
#   4. PUT /snapshot/load with mem_backend Uffd, vmm-uffd-handler given the list (--working-set)
#      and not (lazy): the same answer, the pages loaded by the VMM's thread while the guest ran;
#   5. bad input: a working set of another snapshot (its CRC changed), one that does not parse:
#      `vmm --restore` refused with status 2 and the message, PUT /snapshot/load a 400 with it;
#      "working_set": "bogus" a 400; --working-set off restores despite the bad file.
# labels: snapshot api
# requires: kvm python3
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-120}
HANDLER="$BUILD_DIR/vmm-uffd-handler"
dir="$LIB_TMP/snap"
ws="$dir/state.working-set"
kernel=$(guest_path ws_touch) || finish

# start_vmm LABEL SOCK [ARGS]: vmm ARGS --api-sock SOCK in the background; VMM_PID
start_vmm() {
	lib_new_run "$1"
	local sock=$2
	shift 2
	rm -f "$sock"
	"$VMM" "$@" --api-sock "$sock" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" \
		2>"$RUN_ERR" &
	VMM_PID=$!
	SNAP_PIDS+=("$VMM_PID")
	snap_wait_sock "$sock" "$VMM_PID"
}

# wait_line PATTERN: true when RUN_OUT shows it within 60 s
wait_line() {
	for _ in $(seq 600); do
		grep -q "$1" "$RUN_OUT" && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$1" "$RUN_OUT"
}

answer() { tr -d '\r' <"$RUN_OUT" | grep -oE 'WS-ANSWER sum=[0-9a-f]+' | head -n 1; }

# ---- 1. the snapshot ----
start_vmm "ws_touch, to be snapshotted" "$LIB_TMP/a.sock" --kernel "$kernel" --debug-exit \
	--console stdio --mem 256M --append "touch=32M write=16M"
wait_line WS-READY && snap_take "$LIB_TMP/a.sock" "$dir" && lib_ok "snapshot taken" ||
	{
		lib_fail "no snapshot"
		lib_dump_output
		finish
	}
snap_kill "$VMM_PID"

# ---- 2. record ----
start_vmm "--restore --working-set record" "$LIB_TMP/r.sock" --restore "$dir" --working-set record
wait_line WS-ANSWER && want=$(answer) && lib_ok "answered: $want" || lib_fail "no answer"
got=$(snap_api "$LIB_TMP/r.sock" PUT /vmm/working-set '{"action": "stop"}')
[ "${got%% *}" = 200 ] && [[ "$got" == *"\"path\":\"$ws\""* ]] &&
	[[ "$got" == *'"stopped_by":"request"'* ]] && lib_ok "stopped: $got" ||
	lib_fail "PUT /vmm/working-set -> $got"
got=$(snap_api "$LIB_TMP/r.sock" PUT /vmm/working-set '{"action": "stop"}')
[ "${got%% *}" = 400 ] && [[ "$got" == *"already stopped by an earlier request: $ws holds"* ]] &&
	lib_ok "a second stop: $got" || lib_fail "a second stop -> $got"
snap_kill "$VMM_PID"
pages=$(sed -n 's/^pages \([0-9]*\)$/\1/p' "$ws")
[ "$(head -n 1 "$ws")" = "vmm-working-set 1" ] && [ "${pages:-0}" -ge 8192 ] &&
	grep -q '^mem_size 268435456$' "$ws" && lib_ok "the file: $pages pages, $(grep -c ' w$' "$ws") written ranges" ||
	lib_fail "the file: $(head -n 6 "$ws")"
grep -qE '^[0-9]+ [0-9]+ w$' "$ws" && lib_ok "written pages marked" || lib_fail "no written range"

# ---- 2b. record, stopped by its time limit ----
start_vmm "PUT /snapshot/load, record for 4000 ms" "$LIB_TMP/t.sock"
body="{\"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\", \"resume_vm\": true"
got=$(snap_api "$LIB_TMP/t.sock" PUT /snapshot/load "$body, \"working_set_record_ms\": 4000}")
[ "${got%% *}" = 400 ] && [[ "$got" == *'working_set_record_ms needs \"working_set\": \"record\"'* ]] &&
	lib_ok "a limit without record: ${got:0:100}" || lib_fail "a limit without record -> $got"
got=$(snap_api "$LIB_TMP/t.sock" PUT /snapshot/load \
	"$body, \"working_set\": \"record\", \"working_set_record_ms\": 0}")
[ "${got%% *}" = 400 ] && [[ "$got" == *"working_set_record_ms must be from 1 to"* ]] &&
	lib_ok "a limit of 0: ${got:0:100}" || lib_fail "a limit of 0 -> $got"
rm -f "$ws"
got=$(snap_api "$LIB_TMP/t.sock" PUT /snapshot/load \
	"$body, \"working_set\": \"record\", \"working_set_record_ms\": 4000}")
[ "${got%% *}" = 204 ] && wait_line WS-ANSWER && [ "$(answer)" = "$want" ] &&
	lib_ok "loaded, recording for 4000 ms: the same answer" || lib_fail "load -> $got"
for _ in $(seq 200); do
	grep -q "recording stopped by its time limit (4000 ms)" "$RUN_ERR" && break
	sleep 0.1
done
grep -q "recording stopped by its time limit (4000 ms)" "$RUN_ERR" && [ -f "$ws" ] &&
	lib_ok "the VMM stopped it: $(grep -o 'working set .*recorded' "$RUN_ERR")" ||
	lib_fail "no stop by the time limit: $(tail -3 "$RUN_ERR")"
got=$(snap_api "$LIB_TMP/t.sock" PUT /vmm/working-set '{"action": "stop"}')
[ "${got%% *}" = 400 ] && [[ "$got" == *"already stopped by its time limit (4000 ms)"* ]] &&
	[[ "$got" == *"$ws holds"* ]] && lib_ok "a stop after it: ${got:0:200}" ||
	lib_fail "a stop after the time limit -> $got"
snap_kill "$VMM_PID"
pages=$(sed -n 's/^pages \([0-9]*\)$/\1/p' "$ws")
[ "${pages:-0}" -ge 8192 ] && lib_ok "the time limit's file: $pages pages" ||
	lib_fail "the time limit's file: $(head -n 6 "$ws")"

# ---- 2c. the same time limit on the command line ----
lib_new_run "--working-set-ms 0"
"$VMM" --restore "$dir" --working-set record --working-set-ms 0 </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
[ "$RUN_STATUS" = 2 ] && grep -q -- "--working-set-ms 0: 1 to 3600000" "$RUN_ERR" &&
	lib_ok "refused: $(head -n 1 "$RUN_ERR")" || lib_fail "status $RUN_STATUS: $(head -n 3 "$RUN_ERR")"
rm -f "$ws"
start_vmm "--restore --working-set record --working-set-ms 3000" "$LIB_TMP/c.sock" \
	--restore "$dir" --working-set record --working-set-ms 3000
wait_line WS-ANSWER && [ "$(answer)" = "$want" ] && lib_ok "the same answer" ||
	lib_fail "answer '$(answer)', want '$want'"
for _ in $(seq 200); do
	grep -q "recording stopped by its time limit (3000 ms)" "$RUN_ERR" && break
	sleep 0.1
done
grep -q "recording stopped by its time limit (3000 ms)" "$RUN_ERR" && [ -f "$ws" ] &&
	lib_ok "the VMM stopped it: $(grep -o 'working set .*recorded' "$RUN_ERR")" ||
	lib_fail "no stop by the time limit: $(tail -3 "$RUN_ERR")"
snap_kill "$VMM_PID"
pages=$(sed -n 's/^pages \([0-9]*\)$/\1/p' "$ws")
[ "${pages:-0}" -ge 8192 ] && lib_ok "the command line's file: $pages pages" ||
	lib_fail "the command line's file: $(head -n 6 "$ws")"

# ---- 3. load ----
start_vmm "--restore (loads the working set)" "$LIB_TMP/l.sock" --restore "$dir"
wait_line WS-ANSWER && [ "$(answer)" = "$want" ] && lib_ok "the same answer" ||
	lib_fail "answer '$(answer)', want '$want'"
# the File backend's pages load on a thread while the guest runs: its line may follow the answer
for _ in $(seq 50); do grep -q "loaded in" "$RUN_ERR" && break; sleep 0.1; done
grep -q "working set $ws: $pages pages (.* MiB) loaded in" "$RUN_ERR" &&
	lib_ok "$(grep -o 'working set .*' "$RUN_ERR")" || lib_fail "no load line: $(cat "$RUN_ERR")"
snap_kill "$VMM_PID"
start_vmm "--restore --working-set off" "$LIB_TMP/o.sock" --restore "$dir" --working-set off
wait_line WS-ANSWER && [ "$(answer)" = "$want" ] && lib_ok "off: the same answer" ||
	lib_fail "off: answer '$(answer)'"
grep -q "loaded in" "$RUN_ERR" && lib_fail "off loaded the working set" || lib_ok "off: not loaded"
snap_kill "$VMM_PID"

# ---- 4. Uffd: the handler given the list too, and a lazy one (the VMM's loader drives it) ----
uffd_load() { # LABEL HANDLER-ARGS...
	local label=$1
	shift
	rm -f "$LIB_TMP/h.sock"
	"$HANDLER" --timeout 60 "$@" "$LIB_TMP/h.sock" "$dir/memory" 2>"$LIB_TMP/handler.err" &
	SNAP_PIDS+=($!)
	for _ in $(seq 100); do [ -S "$LIB_TMP/h.sock" ] && break; sleep 0.1; done
	start_vmm "PUT /snapshot/load, Uffd, $label" "$LIB_TMP/u.sock"
	got=$(snap_api "$LIB_TMP/u.sock" PUT /snapshot/load "{\"snapshot_path\": \"$dir/state\",
		\"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$LIB_TMP/h.sock\"},
		\"resume_vm\": true}")
	[ "${got%% *}" = 204 ] && wait_line WS-ANSWER && [ "$(answer)" = "$want" ] &&
		lib_ok "the same answer" || lib_fail "$got, answer '$(answer)'"
	# the pages load on a thread while the guest runs, the handler serving its reads
	for _ in $(seq 50); do grep -q "loaded in" "$RUN_ERR" && break; sleep 0.1; done
	grep -q "working set $ws: $pages pages (.* MiB) loaded in .* (while the vCPUs ran)" "$RUN_ERR" &&
		lib_ok "$(grep -o 'working set .*' "$RUN_ERR")" || lib_fail "no load line: $(cat "$RUN_ERR")"
	snap_kill "$VMM_PID"
}
if [ -x "$HANDLER" ]; then
	uffd_load "the handler has the list" --working-set "$ws"
	uffd_load "a lazy handler"
else
	echo "note: $HANDLER not built: no Uffd load"
fi

# ---- 5. bad input ----
cp "$ws" "$LIB_TMP/ws.good"
sed -i 's/^state_crc32 .*/state_crc32 0x00000001/' "$ws"
run_restore "a working set of another snapshot" --restore "$dir"
expect_refused
grep -q "working set $ws does not match this snapshot" "$RUN_ERR" && lib_ok "named" ||
	lib_fail "message: $(cat "$RUN_ERR")"
start_vmm "PUT /snapshot/load, a mismatched working set" "$LIB_TMP/m.sock"
body="{\"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\", \"resume_vm\": true"
got=$(snap_api "$LIB_TMP/m.sock" PUT /snapshot/load "$body}")
[ "${got%% *}" = 400 ] && [[ "$got" == *"does not match this snapshot"* ]] &&
	lib_ok "400: ${got:0:160}" || lib_fail "load -> $got"
got=$(snap_api "$LIB_TMP/m.sock" PUT /snapshot/load "$body, \"working_set\": \"bogus\"}")
[ "${got%% *}" = 400 ] && [[ "$got" == *"working_set must be load, off or record"* ]] &&
	lib_ok "bogus: ${got:0:100}" || lib_fail "bogus -> $got"
got=$(snap_api "$LIB_TMP/m.sock" PUT /snapshot/load "$body, \"working_set\": \"off\"}")
[ "${got%% *}" = 204 ] && wait_line WS-ANSWER && lib_ok "off despite the bad file: loaded" ||
	lib_fail "off -> $got"
snap_kill "$VMM_PID"
printf 'vmm-working-set 1\nmem_size 268435456\n' >"$ws"
run_restore "a working set that does not parse" --restore "$dir"
expect_refused
grep -q "working set $ws: line 3: expected \`state_crc32 NUMBER\`" "$RUN_ERR" && lib_ok "named the line" ||
	lib_fail "message: $(cat "$RUN_ERR")"
finish
