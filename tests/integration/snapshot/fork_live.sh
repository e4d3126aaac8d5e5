#!/usr/bin/env bash
# Live fork (docs/sandboxes.md): the snap_counter guest (tests/guests/snap_counter.c, disk=0) runs
# with its RAM in a memfd (--mem-shared); part way through, `vmmctl fork` asks PUT /vmm/fork for
# FORK_CHILDREN children (10 by default) and starts each child's VMM and loads it. Checked:
#   - refusals with a 400 before anything is paused: a child's api_socket that is the parent's,
#     two children on one socket, count not matching children, a VM whose RAM is private;
#   - the parent goes on and ends with the result of an uninterrupted run; a second fork of it is
#     refused (its memfd holds the first fork's memory);
#   - every child starts where the fork was taken, not where the parent is by the time the child
#     maps the memory (the parent's writes after the fork do not leak into the children; a late
#     child loaded from the same state and memfd once the parent has run 60 steps further checks
#     it beyond doubt), and ends with TEST PASS and the uninterrupted run's SNAP-RESULT;
#   - printed, not asserted (targets are tools/bench's business): the parent's pause, the time
#     from the request to each child running, each child's private memory (smaps_rollup).
# labels: snapshot
# requires: kvm
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

VMMCTL=${VMMCTL:-$BUILD_DIR/tools/vmmctl/vmmctl}
RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-600}
CHILDREN=${FORK_CHILDREN:-10}
STEPS=${SNAP_STEPS:-1000}
FORK_AT=$((STEPS / 10))
MEM=128M
args="disk=0 steps=$STEPS"
sock="$LIB_TMP/api.sock"
dir="$LIB_TMP/fork"
mkdir -p "$dir"

[ -x "$VMMCTL" ] || {
	echo "SKIP: no vmmctl at $VMMCTL"
	exit 77
}

run_vmm snap_counter --mem "$MEM" --append "$args"
expect_pass
want=$(snap_result "$RUN_OUT")
[ -n "$want" ] || {
	lib_fail "no SNAP-RESULT in the uninterrupted run"
	finish
}
echo "uninterrupted: $want"

# children[i] of a body: its own API socket
body() { # N [SOCKET_OF_CHILD_0]
	local i kids=""
	for i in $(seq 0 $(($1 - 1))); do
		kids+="${kids:+,}{\"api_socket\": \"${2:-$dir/c$i.sock}\"}"
		[ -n "$2" ] && set -- "$1" "$dir/c$((i + 1)).sock"
	done
	echo "{\"state_path\": \"$dir/state\", \"children\": [$kids]}"
}
refused() { # LABEL SOCK BODY WORDS
	local got
	got=$(snap_api "$2" PUT /vmm/fork "$3")
	if [ "${got%% *}" = 400 ] && [[ $got == *"$4"* ]]; then
		lib_ok "$1: 400 (${got#* })"
	else
		lib_fail "$1: want a 400 saying '$4', got $got"
	fi
}

# ---- a VM with private RAM cannot be forked ----
snap_start "private RAM" "$LIB_TMP/private.sock" --mem "$MEM" --append "$args" || {
	lib_fail "the VMM did not come up"
	finish
}
private_pid=$SNAP_PID
refused "private RAM" "$LIB_TMP/private.sock" "$(body 1)" "--mem-shared"
snap_kill "$private_pid"

# ---- the parent ----
snap_start "parent" "$sock" --mem "$MEM" --mem-shared --append "$args" || {
	lib_fail "the VMM did not come up"
	lib_dump_output
	finish
}
parent_pid=$SNAP_PID
parent_out=$RUN_OUT parent_err=$RUN_ERR
snap_wait_progress "$parent_out" "$parent_pid" "$FORK_AT" || {
	lib_fail "the VM ended before SNAP-PROGRESS $FORK_AT"
	lib_dump_output
	finish
}
refused "child on the parent's socket" "$sock" "$(body 2 "$sock")" "is the parent's"
refused "two children on one socket" "$sock" \
	"{\"state_path\": \"$dir/state\", \"children\": [{\"api_socket\": \"$dir/x\"}, {\"api_socket\": \"$dir/x\"}]}" \
	"children[0]'s too"
refused "count" "$sock" "{\"state_path\": \"$dir/state\", \"count\": 3, \"children\": [{\"api_socket\": \"$dir/x\"}]}" \
	"count is 3"
[ ! -e "$dir/state" ] && lib_ok "nothing written by the refused requests" ||
	lib_fail "a refused request wrote $dir/state"

at=$(snap_progress "$parent_out")
"$VMMCTL" --sock "$sock" --timeout 120 fork "$(body "$CHILDREN")" --vmm "$VMM" --out "$dir" \
	--vmm-arg --landlock-rules --vmm-arg "$LIB_TMP:rw" >"$dir/fork.json" 2>"$dir/fork.err"
st=$?
parent_after=$(snap_progress "$parent_out")
cat "$dir/fork.err"
if [ "$st" -ne 0 ]; then
	lib_fail "vmmctl fork: status $st"
	cat "$dir/fork.json"
	finish
fi
lib_ok "vmmctl fork: $CHILDREN children (the parent was at SNAP-PROGRESS $at, $parent_after after)"
mapfile -t pids < <(jq -r '.children[].pid' "$dir/fork.json")
SNAP_PIDS+=("${pids[@]}")
echo "parent paused $(jq -r .parent_pause_us "$dir/fork.json") us; fork request" \
	"$(jq -r '.fork_request_ms | floor' "$dir/fork.json") ms"
echo "time from the request to each child running (ms):" \
	"$(jq -r '[.children[].running_ms | floor] | join(" ")' "$dir/fork.json")"
grep 'fork: state' "$parent_err"
refused "a second fork" "$sock" "$(body 1)" "forked before"

# ---- a late child: loaded once the parent has run well past the fork ----
snap_wait_progress "$parent_out" "$parent_pid" $((at + 60)) || lib_fail "the parent stopped"
late_at=$(snap_progress "$parent_out")
lib_new_run "late child"
late_out=$RUN_OUT
"$VMM" --api-sock "$dir/late.sock" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
late_pid=$!
SNAP_PIDS+=("$late_pid")
snap_wait_sock "$dir/late.sock" "$late_pid"
got=$(snap_api "$dir/late.sock" PUT /snapshot/load "{\"snapshot_path\": \"$dir/state\",
	\"mem_file_path\": \"$(jq -r .mem_file_path "$dir/fork.json")\", \"resume_vm\": true}")
[ "${got%% *}" = 204 ] && lib_ok "a late child loaded with the parent at SNAP-PROGRESS $late_at" ||
	lib_fail "late child: $got"

# ---- each child's private memory, once it runs ----
field() { awk -v f="$1:" '$1 == f { s += $2 } END { print s + 0 }' "$2"; }
sleep 1
echo "child   pid    RSS kB  PSS kB  private kB"
for i in $(seq 0 $((CHILDREN - 1))); do
	cp "/proc/${pids[i]}/smaps_rollup" "$LIB_TMP/rollup" 2>/dev/null || continue
	priv=$(($(field Private_Clean "$LIB_TMP/rollup") + $(field Private_Dirty "$LIB_TMP/rollup")))
	printf "%5d %6d %8d %7d %11d\n" "$i" "${pids[i]}" "$(field Rss "$LIB_TMP/rollup")" \
		"$(field Pss "$LIB_TMP/rollup")" "$priv"
done

# ---- the parent, every child and the late one end with the uninterrupted result ----
first_progress() { tr -d '\r' <"$1" | sed -n 's/^SNAP-PROGRESS \([0-9]*\)$/\1/p' | head -n 1; }
wait_end() { # PID -> RUN_STATUS
	local deadline=$((SECONDS + RUN_TIMEOUT))
	while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	RUN_STATUS=$?
}
wait_end "$parent_pid"
RUN_LABEL="parent" RUN_OUT=$parent_out RUN_ERR=$parent_err
expect_pass
got=$(snap_result "$parent_out")
[ "$got" = "$want" ] && lib_ok "the parent went on to the same result" ||
	lib_fail "the parent ended with '$got', want '$want'"
for i in $(seq 0 $((CHILDREN - 1))); do
	out="$dir/child-$i.out"
	# not our children (vmmctl's): their status is not ours to read, their output is
	deadline=$((SECONDS + RUN_TIMEOUT))
	while kill -0 "${pids[i]}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
	first=$(first_progress "$out")
	[ "$i" = 0 ] && first0=$first
	got=$(snap_result "$out")
	# one state for all: the same first line, the one the parent printed next after
	# the fork (between what it had printed before the request and one line past
	# what it had printed once the request returned: no timing assumed)
	if [ -n "$first" ] && [ "$first" = "$first0" ] && [ "$first" -gt "$at" ] &&
		[ "$first" -le $((parent_after + 10)) ]; then
		lib_ok "child $i: starts at SNAP-PROGRESS $first (the parent was at $at before the request, $parent_after after)"
	else
		lib_fail "child $i: first SNAP-PROGRESS '$first' (child 0: $first0); the parent was at $at before the request, $parent_after after"
	fi
	if [ "$got" = "$want" ] && grep -q '^TEST PASS' "$out"; then
		lib_ok "child $i: TEST PASS, $got"
	else
		lib_fail "child $i: '$got', want '$want' and TEST PASS"
		tail -5 "$dir/child-$i.err"
	fi
done
wait_end "$late_pid"
first=$(first_progress "$late_out")
[ -n "$first" ] && [ "$first" = "$first0" ] &&
	lib_ok "the late child starts at SNAP-PROGRESS $first as the others (the parent was at $late_at)" ||
	lib_fail "the late child starts at '$first', the others at $first0: it saw the parent's later memory"
got=$(snap_result "$late_out")
[ "$got" = "$want" ] && grep -q '^TEST PASS' "$late_out" && lib_ok "the late child: TEST PASS, $got" ||
	lib_fail "the late child: '$got', want '$want' and TEST PASS"
finish
