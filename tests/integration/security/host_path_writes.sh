#!/usr/bin/env bash
# Files the VMM writes whole go only over a regular file or nothing (docs/security.md, "Paths
# from outside", rule 7), and stop signals end it with its cleanup done:
#  - PUT /snapshot/create naming a FIFO, a Unix socket (another VMM's API socket) or a
#    character device (mknod c 1 3 inside this test's own folder, as root; never /dev/null) as
#    snapshot_path or mem_file_path: 400 naming the path and its kind, the node unchanged, no
#    PATH.tmp and no memory file left (before: 204, and a regular file replaced the node);
#  - a create whose state file cannot be made (a missing folder) leaves no memory file (before:
#    the 64 MiB memory file stayed);
#  - --screenshot at a FIFO is refused at start (status 2);
#  - SIGTERM twice in quick succession removes the API socket (before: killed by the second, the
#    socket left in 5 of 6 runs);
#  - SIGTERM during a PUT /snapshot/load whose page-fault handler accepts and never serves ends
#    the VMM within 2 s (before: only when the 10 s stall watch fired).
# labels: security snapshot api
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"
require kvm

d="$LIB_TMP/w"
mkdir -p "$d"
sock="$LIB_TMP/api.sock"

# kind_of PATH: what stat says it is, with a device's numbers
kind_of() { stat -c '%F %t:%T %i' "$1" 2>/dev/null || echo missing; }

# node_server PATH: a Unix socket listening at PATH (as another VMM's API socket would); its pid
node_server() {
	python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
time.sleep(600)' "$1" &
	SNAP_PIDS+=($!)
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.05; done
}

snap_start "snap_counter, paused, for refused creates" "$sock" --mem 64M \
	--append "disk=0 steps=100000" ||
	{ lib_fail "the VMM did not come up"; finish; }
got=$(snap_api "$sock" PATCH /vm '{"state": "Paused"}')
[ "${got%% *}" = 204 ] || lib_fail "pause: $got"

mkfifo "$d/fifo"
node_server "$d/other.sock"
nodes=("$d/fifo:a FIFO" "$d/other.sock:a socket")
if [ "$(id -u)" = 0 ] && mknod "$d/null" c 1 3 2>/dev/null; then
	nodes+=("$d/null:a character device")
else
	echo "note: not root (or mknod refused): the character device case is skipped"
fi

for entry in "${nodes[@]}"; do
	node=${entry%%:*} kind=${entry#*:}
	for field in snapshot_path mem_file_path; do
		before=$(kind_of "$node")
		if [ "$field" = snapshot_path ]; then
			body="{\"snapshot_path\": \"$node\", \"mem_file_path\": \"$d/memory\"}"
		else
			body="{\"snapshot_path\": \"$d/state\", \"mem_file_path\": \"$node\"}"
		fi
		got=$(snap_api "$sock" PUT /snapshot/create "$body")
		if [ "${got%% *}" = 400 ] && grep -qF "$field $node: $kind, which a written file never replaces" <<<"$got"; then
			lib_ok "$field = $kind -> ${got:0:170}"
		else
			lib_fail "$field = $kind -> $got (want 400 naming the path and '$kind')"
		fi
		[ "$(kind_of "$node")" = "$before" ] && lib_ok "$node unchanged ($before)" ||
			lib_fail "$node changed: $before -> $(kind_of "$node")"
		left=$(ls "$d" | grep -vxE 'fifo|other.sock|null' | tr '\n' ' ')
		[ -z "$left" ] && lib_ok "nothing left in the folder" || lib_fail "left behind: $left"
		rm -f "$d/memory" "$d/state"
	done
done

# A create whose state file cannot be made: nothing written, no memory file left.
got=$(snap_api "$sock" PUT /snapshot/create "{\"snapshot_path\": \"$d/nodir/state\", \"mem_file_path\": \"$d/memory\"}")
[ "${got%% *}" = 400 ] && lib_ok "state in a missing folder -> ${got:0:160}" ||
	lib_fail "state in a missing folder -> $got (want 400)"
[ ! -e "$d/memory" ] && [ ! -e "$d/memory.tmp" ] && lib_ok "the failed create left no memory file" ||
	lib_fail "the failed create left: $(ls -l "$d" | grep memory)"
# And a good one still works afterwards, over a regular file too.
echo old >"$d/memory"
got=$(snap_api "$sock" PUT /snapshot/create "{\"snapshot_path\": \"$d/state\", \"mem_file_path\": \"$d/memory\"}")
[ "${got%% *}" = 204 ] && [ "$(stat -c %s "$d/memory")" -gt 4096 ] &&
	lib_ok "a create over a regular file -> 204" || lib_fail "a good create -> $got"
[ "$(kind_of "$d/fifo")" != missing ] || lib_fail "the FIFO went"
mkdir -p "$LIB_TMP/snap" && mv "$d/state" "$d/memory" "$LIB_TMP/snap/"

# Two stop signals in quick succession: the second one must not skip the cleanup.
kill -TERM "$SNAP_PID"
kill -TERM "$SNAP_PID"
wait "$SNAP_PID"
st=$?
[ ! -e "$sock" ] && lib_ok "SIGTERM twice: status $st, API socket removed" ||
	lib_fail "SIGTERM twice: status $st, the API socket was left behind"

kernel=$(guest_path halt) || finish
for i in 1 2 3 4 5; do
	rm -f "$sock"
	"$VMM" --kernel "$kernel" --console none --append "halt.irq=1" --api-sock "$sock" \
		</dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
	pid=$!
	SNAP_PIDS+=("$pid")
	snap_wait_sock "$sock" "$pid"
	sig=(TERM INT HUP TERM TERM)
	kill -TERM "$pid"
	kill -"${sig[$((i - 1))]}" "$pid"
	timeout 10 tail -s 0.05 --pid="$pid" -f /dev/null
	wait "$pid"
	st=$?
	[ ! -e "$sock" ] && lib_ok "run $i: SIGTERM then SIG${sig[$((i - 1))]}: status $st, socket removed" ||
		lib_fail "run $i: SIGTERM then SIG${sig[$((i - 1))]}: status $st, socket left: $(tail -n 2 "$LIB_TMP/err")"
done

# --screenshot at a FIFO: refused before the VM runs.
lib_new_run "--screenshot at a FIFO"
timeout -k 5 20 "$VMM" --kernel "$(guest_path hello)" --debug-exit --console none --gpu \
	--screenshot "$d/fifo" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
grep -qF -- "--screenshot $d/fifo: a FIFO, which a written file never replaces" "$RUN_ERR" &&
	lib_ok "$(head -n 1 "$RUN_ERR")" || lib_fail "no message naming the FIFO: $(head -n 2 "$RUN_ERR")"
[ -p "$d/fifo" ] && lib_ok "the FIFO is still a FIFO" || lib_fail "the FIFO went"

# SIGTERM during a load whose page-fault handler accepts and never answers.
uffd="$LIB_TMP/uffd.sock"
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c=s.accept()[0]; time.sleep(600)' "$uffd" &
SNAP_PIDS+=($!)
for _ in $(seq 50); do [ -S "$uffd" ] && break; sleep 0.05; done
rm -f "$sock"
lib_new_run "load with a silent page-fault handler, then SIGTERM"
"$VMM" --api-sock "$sock" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
pid=$!
SNAP_PIDS+=("$pid")
snap_wait_sock "$sock" "$pid"
snap_api "$sock" PUT /snapshot/load "{\"snapshot_path\": \"$LIB_TMP/snap/state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$uffd\"}}" >"$LIB_TMP/load.out" &
for _ in $(seq 100); do grep -q 'served by the page-fault handler' "$RUN_ERR" && break; sleep 0.05; done
sleep 0.5 # the restore waits for a page
t0=$(date +%s%N)
kill -TERM "$pid"
timeout 10 tail -s 0.05 --pid="$pid" -f /dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$pid"
st=$?
[ "$ms" -lt 2000 ] && lib_ok "ended $ms ms after SIGTERM, status $st" ||
	lib_fail "ended $ms ms after SIGTERM (want < 2000), status $st: $(tail -n 3 "$RUN_ERR")"
[ ! -e "$sock" ] && lib_ok "API socket removed" || lib_fail "API socket left"
sleep 0.2
lib_ok "the load's answer: $(head -c 200 "$LIB_TMP/load.out"); log: $(grep -o 'snapshot memory: .*' "$RUN_ERR" | tail -n 1)"
finish
