#!/usr/bin/env bash
# One snapshot, many VMs: the snap_counter guest (tests/guests/snap_counter.c, disk=0) is
# snapshotted early in a long run; the original VM is resumed and must still end with the
# result of an uninterrupted run; then 20 `vmm --restore DIR` run at once from the same snapshot
# (each with its own stdout), and all 20 must end with TEST PASS and that same SNAP-RESULT.
# While they run, each clone's RSS, PSS and private memory are read from /proc/PID/smaps_rollup
# (and the share of the memory file's mapping from /proc/PID/smaps): the summed PSS must be
# clearly below the summed RSS, as the clones share the pages of the snapshot's memory file
# (and the VMM's code).
# labels: snapshot
# requires: kvm
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-600}
CLONES=${SNAP_CLONES:-20}
STEPS=${SNAP_STEPS:-1000}
SNAP_AT=$((STEPS / 10))
MEM=128M
args="disk=0 steps=$STEPS"
sock="$LIB_TMP/api.sock"
dir="$LIB_TMP/snap"

run_vmm snap_counter --mem "$MEM" --append "$args"
expect_pass
want=$(snap_result "$RUN_OUT")
[ -n "$want" ] || {
	lib_fail "no SNAP-RESULT in the uninterrupted run"
	finish
}
echo "uninterrupted: $want"

snap_start "original VM" "$sock" --mem "$MEM" --append "$args" || {
	lib_fail "the VMM did not come up"
	lib_dump_output
	finish
}
snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$SNAP_AT" || {
	lib_fail "the VM ended before SNAP-PROGRESS $SNAP_AT"
	lib_dump_output
	finish
}
if ! got=$(snap_take "$sock" "$dir"); then
	lib_fail "$got"
	snap_kill "$SNAP_PID"
	lib_dump_output
	finish
fi
at=$(snap_progress "$RUN_OUT")
lib_ok "snapshot after SNAP-PROGRESS $at of $STEPS ($(du -sh "$dir" | cut -f1) on disk)"
got=$(snap_api "$sock" PATCH /vm '{"state": "Resumed"}')
[ "${got%% *}" = 204 ] && lib_ok "resumed after the snapshot" || lib_fail "resume: $got"
for _ in $(seq $((RUN_TIMEOUT * 10))); do
	kill -0 "$SNAP_PID" 2>/dev/null || break
	sleep 0.1
done
kill -9 "$SNAP_PID" 2>/dev/null
wait "$SNAP_PID"
RUN_STATUS=$?
expect_pass
got=$(snap_result "$RUN_OUT")
[ "$got" = "$want" ] && lib_ok "the original went on to the same result" ||
	lib_fail "the original ended with '$got', want '$want'"

# ---- the clones ----
pids=()
for i in $(seq "$CLONES"); do
	"$VMM" --restore "$dir" </dev/null >"$LIB_TMP/clone$i.out" 2>"$LIB_TMP/clone$i.err" &
	pids[i]=$!
	SNAP_PIDS+=("$!")
done
echo "started $CLONES clones: ${pids[*]}"

# Sample once every clone has run some of its guest (a SNAP-PROGRESS past the snapshot's), or
# ended: each has mapped and touched what it is going to share by then.
for _ in $(seq $((RUN_TIMEOUT * 10))); do
	ready=0
	for i in $(seq "$CLONES"); do
		if ! kill -0 "${pids[i]}" 2>/dev/null ||
			[ "$(snap_progress "$LIB_TMP/clone$i.out")" -gt "$at" ]; then
			ready=$((ready + 1))
		fi
	done
	[ "$ready" -eq "$CLONES" ] && break
	sleep 0.2
done

# kB of FIELD in a smaps-style file
field() { awk -v f="$1:" '$1 == f { s += $2 } END { print s + 0 }' "$2"; }
# Rss and Pss (kB) of the mapping of FILE in /proc/PID/smaps: "RSS PSS"
file_mapping() {
	awk -v f="$2" '
		/^[0-9a-f]+-[0-9a-f]+ / { in_f = ($NF == f) }
		in_f && $1 == "Rss:" { r += $2 }
		in_f && $1 == "Pss:" { p += $2 }
		END { print r + 0, p + 0 }' "/proc/$1/smaps" 2>/dev/null
}
sum_rss=0 sum_pss=0 sampled=0 mem_rss=0 mem_pss=0
echo "clone    pid     RSS kB   PSS kB  private kB  memory file RSS/PSS kB"
for i in $(seq "$CLONES"); do
	pid=${pids[i]}
	cp "/proc/$pid/smaps_rollup" "$LIB_TMP/rollup" 2>/dev/null || continue
	kill -0 "$pid" 2>/dev/null || continue
	rss=$(field Rss "$LIB_TMP/rollup")
	pss=$(field Pss "$LIB_TMP/rollup")
	priv=$(($(field Private_Clean "$LIB_TMP/rollup") + $(field Private_Dirty "$LIB_TMP/rollup")))
	read -r mr mp <<<"$(file_mapping "$pid" "$dir/memory")"
	printf "%5d %6d %9d %8d %11d  %s/%s\n" "$i" "$pid" "$rss" "$pss" "$priv" "${mr:-0}" "${mp:-0}"
	sum_rss=$((sum_rss + rss))
	sum_pss=$((sum_pss + pss))
	mem_rss=$((mem_rss + ${mr:-0}))
	mem_pss=$((mem_pss + ${mp:-0}))
	sampled=$((sampled + 1))
done
echo "sampled $sampled clones: summed RSS $sum_rss kB, summed PSS $sum_pss kB;" \
	"memory file mappings: RSS $mem_rss kB, PSS $mem_pss kB"
RUN_LABEL="clones"
if [ "$sampled" -lt $((CLONES / 2)) ]; then
	lib_fail "only $sampled of $CLONES clones were still running when sampled"
elif [ $((sum_pss * 100)) -lt $((sum_rss * 60)) ]; then
	lib_ok "summed PSS ($sum_pss kB) is below 60% of the summed RSS ($sum_rss kB)"
else
	lib_fail "summed PSS $sum_pss kB is not clearly below the summed RSS $sum_rss kB"
fi
if [ "$mem_rss" -gt 0 ]; then
	if [ $((mem_pss * 2)) -lt "$mem_rss" ]; then
		lib_ok "the memory file's pages are shared (PSS $mem_pss kB of RSS $mem_rss kB)"
	else
		lib_fail "the memory file's pages are not shared (PSS $mem_pss kB of RSS $mem_rss kB)"
	fi
else
	echo "note: no mapping of $dir/memory in the clones (guest memory copied, not mapped)"
fi

# ---- every clone ends like the uninterrupted run ----
deadline=$((SECONDS + RUN_TIMEOUT))
for i in $(seq "$CLONES"); do
	pid=${pids[i]}
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	RUN_STATUS=$?
	RUN_LABEL="clone $i"
	RUN_OUT="$LIB_TMP/clone$i.out"
	RUN_ERR="$LIB_TMP/clone$i.err"
	expect_pass
	expect_no_output '^SNAP-START'
	got=$(snap_result "$RUN_OUT")
	[ "$got" = "$want" ] && lib_ok "$got" || lib_fail "'$got', want '$want'"
done
finish
