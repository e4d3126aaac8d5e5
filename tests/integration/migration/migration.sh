#!/usr/bin/env bash
# Live migration (docs/migration.md) of the 256 MiB snap_counter guest between two VMMs on this
# host, over the API:
#   1. an uninterrupted run: its SNAP-RESULT line and its disk file;
#   2. a destination `vmm --api-sock` told to wait (PUT /vmm/receive-migration on a Unix
#      socket), the same run started on a source and, at about a third of its steps, sent there
#      (PUT /vmm/send-migration); GET /vmm/migration polled until "completed": the source ends
#      with 0, the destination finishes the run with TEST PASS, the same SNAP-RESULT and the same
#      disk file; rounds, bytes and downtime printed;
#   3. a destination that is killed mid-way: the source's guest finishes its run as if nothing
#      happened, and GET /vmm/migration says "failed" with a reason.
#   4. a local migration (guest RAM handed over as a memfd) of a --mem-shared source to a
#      destination started with `vmm --migrate-from unix:M` (the command line's way): the same
#      result on the destination, the source ends with 0, "pages": 0 in the progress;
#   5. a cancel right after the start (max_downtime_ms 1, so pre-copy goes on for rounds): the
#      source's guest finishes its run, GET /vmm/migration says "cancelled", and the
#      destination exits 1 with the reason;
#   6. step 2 again on a packed ring over virtio-pci with MSI-X and 2 vCPUs, the guest dirtying
#      memory all along (dirty=16, see below): rounds of dirty pages, and the destination's
#      result (which folds in every dirtied page's last word) is the uninterrupted run's. On
#      kvm_pvm a guest cannot dirty memory faster than a Unix socket copies it (each first write
#      after a read of the dirty log faults into the emulated host: ~27000 pages/s against
#      ~100000 sent); hence step 7:
#   7. step 6's run again (its reference result reused: no extra uninterrupted run), over a link
#      capped below the guest's dirtying (max_bandwidth_bytes_per_s 32 MiB/s, max_downtime_ms
#      100) with max_rounds 3:
#      pre-copy ends at the round limit (the source says "4 rounds (max_rounds reached)"), the
#      migration completes, and the destination's result is the uninterrupted run's; a PATCH
#      /drives during its pre-copy is refused (400: a live migration is running).
# Runs in tools/kvm-in-qemu (the fault cases that need no VM are migration_faults.sh, which runs
# everywhere).
# labels: snapshot api migration
# requires: kvm
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-300}
STEPS=${SNAP_STEPS:-400}
AT=$((STEPS * 35 / 100))
src_sock="$LIB_TMP/src.sock"
dst_sock="$LIB_TMP/dst.sock"
mig="$LIB_TMP/mig.sock"
disk="$LIB_TMP/disk.img"
ref="$LIB_TMP/ref.img"
args="ring=split steps=$STEPS"

# start_destination: `vmm --api-sock` on $dst_sock told to wait on $mig; DST_PID, DST_OUT,
# RECV_PID (the PUT, which answers once the VM arrived), RECV_ANSWER (its file)
start_destination() {
	DST_OUT="$LIB_TMP/dst.out"
	rm -f "$dst_sock" "$mig"
	"$VMM" --api-sock "$dst_sock" --landlock-rules "$LIB_TMP:rw" </dev/null >"$DST_OUT" \
		2>"$LIB_TMP/dst.err" &
	DST_PID=$!
	SNAP_PIDS+=("$DST_PID")
	snap_wait_sock "$dst_sock" "$DST_PID" || return 1
	RECV_ANSWER="$LIB_TMP/recv.answer"
	snap_api "$dst_sock" PUT /vmm/receive-migration "{\"receiver_url\": \"unix:$mig\"}" \
		>"$RECV_ANSWER" &
	RECV_PID=$!
	for _ in $(seq 100); do
		[ -S "$mig" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_migration SOCK: polls GET /vmm/migration until it is over; MIG_DOC, the last answer. A
# completed migration ends the source VMM ($SNAP_PID), often before a poll sees "completed": then
# MIG_DOC is its last log line ("completed: N rounds, N pages, ...", from $RUN_ERR).
wait_migration() {
	MIG_DOCS=
	for _ in $(seq 1200); do
		MIG_DOC=$(snap_api "$1" GET /vmm/migration)
		MIG_DOCS+="$MIG_DOC"$'\n'
		# MIG_PATCH (a PATCH /drives/drive0 body): tried once while pre-copy runs
		if [ -n "$MIG_PATCH" ] && [ -z "$MIG_PATCHED" ] && [[ $MIG_DOC == *'"precopy"'* ]]; then
			MIG_PATCHED=$(snap_api "$1" PATCH /drives/drive0 "$MIG_PATCH")
		fi
		case $MIG_DOC in
		*'"completed"'*)
			# the paused copy left here is stale: resuming it must be refused
			MIG_RESUMED=$(snap_api "$1" PATCH /vm '{"state": "Resumed"}')
			return 0
			;;
		*'"failed"'* | *'"cancelled"'*) return 0 ;;
		esac
		if ! kill -0 "$SNAP_PID" 2>/dev/null; then
			MIG_DOC="(ended) $(grep -o 'migration completed: .*' "$RUN_ERR" | sed 's/^migration //')"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# migrate_mid_run LABEL SEND_EXTRA VMM_OPTION... : the uninterrupted run of the counting guest
# with $args and VMM_OPTIONs (its SNAP-RESULT is $want, its disk $ref), then migrate_again.
migrate_mid_run() {
	local label=$1
	truncate -s 0 "$ref" && truncate -s 1M "$ref"
	run_vmm snap_counter --mem 256M "${@:3}" --disk "$ref" --append "$args"
	expect_pass
	want=$(snap_result "$RUN_OUT")
	[ -n "$want" ] || {
		lib_fail "$label: no SNAP-RESULT in the uninterrupted run"
		return 1
	}
	migrate_again "$@"
}

# check_pause_times LABEL SOURCE_ERR DESTINATION_ERR: the source logged when it paused and the
# destination when the guest ran again (what tools/bench migrate measures the pause with), in
# that order on this host's CLOCK_MONOTONIC.
check_pause_times() {
	local paused runs
	paused=$(grep -o 'paused at [0-9]* us' "$2" | grep -o '[0-9][0-9]*')
	runs=$(grep -o 'the guest runs here from [0-9]* us' "$3" | grep -o '[0-9][0-9]*')
	if [ -n "$paused" ] && [ -n "$runs" ] && [ "$runs" -ge "$paused" ]; then
		lib_ok "$1: paused at $paused us, running again at $runs us: $(((runs - paused) / 1000)) ms"
	else
		lib_fail "$1: no pause then resume in the logs (source '$paused', destination '$runs')"
	fi
}

# migrate_again LABEL SEND_EXTRA VMM_OPTION... : the run of $args and VMM_OPTIONs whose
# uninterrupted result is $want (disk $ref), migrated at step $AT to a `vmm --api-sock`
# destination (PUT /vmm/send-migration with SEND_EXTRA added to its body): completed, the source
# ends with 0, the destination finishes with the same result, TEST PASS and the same disk file.
# MIG_DOC is the last progress document (or the source's last log line), MIG_DOCS every one.
migrate_again() {
	local label=$1 extra=$2 got
	shift 2
	start_destination || {
		lib_fail "$label: the destination did not come up: $(cat "$LIB_TMP/dst.err")"
		return 1
	}
	truncate -s 0 "$disk" && truncate -s 1M "$disk"
	snap_start "source ($label)" "$src_sock" --mem 256M "$@" --disk "$disk" --append "$args" ||
		return 1
	snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$AT" ||
		lib_fail "$label: the source never got to step $AT"
	got=$(snap_api "$src_sock" PUT /vmm/send-migration "{\"destination_url\": \"unix:$mig\"$extra}")
	[ "${got%% *}" = 204 ] && lib_ok "$label: PUT /vmm/send-migration -> 204" ||
		lib_fail "$label: PUT /vmm/send-migration -> $got"
	MIG_RESUMED=
	wait_migration "$src_sock" || lib_fail "$label: the migration never ended"
	case $MIG_DOC in
	*'"completed"'* | *'completed: '*) lib_ok "$label: completed: ${MIG_DOC#* }" ;;
	*) lib_fail "$label: not completed: $MIG_DOC" ;;
	esac
	case $MIG_RESUMED in
	'') ;; # the source ended before a poll saw "completed"
	400*) lib_ok "$label: the source refuses to resume its copy once completed" ;;
	000*) lib_ok "$label: the source had ended when it was asked to resume" ;;
	*) lib_fail "$label: a resume of the completed source answered: $MIG_RESUMED" ;;
	esac
	wait "$RECV_PID"
	grep -q '^204' "$RECV_ANSWER" && lib_ok "$label: the destination took the VM" ||
		lib_fail "$label: PUT /vmm/receive-migration -> $(cat "$RECV_ANSWER")"
	wait "$SNAP_PID"
	[ $? = 0 ] && lib_ok "$label: the source ended with 0" ||
		lib_fail "$label: the source did not end with 0"
	for _ in $(seq $((RUN_TIMEOUT * 10))); do
		kill -0 "$DST_PID" 2>/dev/null || break
		sleep 0.1
	done
	snap_kill "$DST_PID"
	check_pause_times "$label" "$RUN_ERR" "$LIB_TMP/dst.err"
	got=$(snap_result "$DST_OUT")
	if [ "$got" = "$want" ]; then
		lib_ok "$label: the same result on the destination: $got"
	else
		lib_fail "$label: destination: '$got', uninterrupted: '$want'"
		echo "the destination's last console lines and log:"
		tail -n 5 "$DST_OUT"
		tail -n 15 "$LIB_TMP/dst.err"
	fi
	grep -q 'TEST PASS' "$DST_OUT" && lib_ok "$label: TEST PASS on the destination" ||
		lib_fail "$label: no TEST PASS on the destination"
	cmp "$ref" "$disk" && lib_ok "$label: the disk file is the uninterrupted run's" ||
		lib_fail "$label: the disk files differ"
}

# ---- 1-2. the reference and the migration mid-run: split ring, virtio-mmio, 1 vCPU ----
migrate_mid_run "split, mmio" "" || finish

# ---- 3. a destination killed mid-way: the source runs on ----
start_destination || finish
truncate -s 1M "$disk"
snap_start "source (its destination dies)" "$src_sock" --mem 256M --disk "$disk" \
	--append "$args" || finish
snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$AT"
snap_api "$src_sock" PUT /vmm/send-migration "{\"destination_url\": \"unix:$mig\"}" >/dev/null
snap_kill "$DST_PID"
wait_migration "$src_sock"
case $MIG_DOC in
*'"failed"'*)
	lib_ok "the source says failed: ${MIG_DOC#* }"
	wait "$SNAP_PID"
	got=$(snap_result "$RUN_OUT")
	[ "$got" = "$want" ] && lib_ok "the source finished its run: $got" ||
		lib_fail "source: '$got', uninterrupted: '$want'"
	;;
*'"completed"'* | *'completed: '*) lib_ok "it completed before the kill (nothing to check)" ;;
*) lib_fail "GET /vmm/migration: $MIG_DOC" ;;
esac

# start_cli_destination: `vmm --migrate-from unix:$mig`; DST_PID, DST_OUT, DST_ERR
start_cli_destination() {
	DST_OUT="$LIB_TMP/dst-cli.out"
	DST_ERR="$LIB_TMP/dst-cli.err"
	rm -f "$mig"
	# the source names its disk in $LIB_TMP: the destination's command line allows it
	"$VMM" --migrate-from "unix:$mig" --landlock-rules "$LIB_TMP:rw" </dev/null >"$DST_OUT" \
		2>"$DST_ERR" &
	DST_PID=$!
	SNAP_PIDS+=("$DST_PID")
	snap_wait_sock "$mig" "$DST_PID"
}

# ---- 4. local migration to vmm --migrate-from ----
start_cli_destination || {
	lib_fail "vmm --migrate-from did not come up: $(cat "$DST_ERR")"
	finish
}
truncate -s 1M "$disk"
snap_start "source (local)" "$src_sock" --mem 256M --mem-shared --disk "$disk" \
	--append "$args" || finish
snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$AT" || lib_fail "the source never got to step $AT"
got=$(snap_api "$src_sock" PUT /vmm/send-migration \
	"{\"destination_url\": \"unix:$mig\", \"local\": true}")
[ "${got%% *}" = 204 ] && lib_ok "local send-migration -> 204" ||
	lib_fail "local send-migration -> $got"
wait_migration "$src_sock" || lib_fail "the local migration never ended"
case $MIG_DOC in
*'"completed"'*'"pages":0'* | *'"completed"'*'"pages": 0'* | *'completed: '*' 0 pages,'*)
	lib_ok "completed, no page copied: ${MIG_DOC#* }"
	;;
*) lib_fail "local: $MIG_DOC" ;;
esac
wait "$SNAP_PID"
[ $? = 0 ] && lib_ok "the source ended with 0" || lib_fail "the source did not end with 0"
wait "$DST_PID"
st=$?
[ $st = "$STATUS_PASS" ] && lib_ok "the destination's guest passed (status $st)" || {
	# once in two runs on kvm_pvm (2026-11-24) the guest failed here: what it said
	lib_fail "destination status $st: $(tail -5 "$DST_ERR")"
	echo "---- the destination guest's console (last 10 lines)"
	tail -10 "$DST_OUT"
}
got=$(snap_result "$DST_OUT")
[ "$got" = "$want" ] && lib_ok "the same result after a local migration: $got" ||
	lib_fail "local destination: '$got', uninterrupted: '$want'"
cmp "$ref" "$disk" && lib_ok "the disk file is the uninterrupted run's" ||
	lib_fail "the disk files differ after the local migration"

# ---- 5. cancel: the source runs on ----
start_cli_destination || finish
truncate -s 1M "$disk"
snap_start "source (cancelled)" "$src_sock" --mem 256M --disk "$disk" --append "$args" || finish
snap_wait_progress "$RUN_OUT" "$SNAP_PID" "$AT"
snap_api "$src_sock" PUT /vmm/send-migration \
	"{\"destination_url\": \"unix:$mig\", \"max_downtime_ms\": 1}" >/dev/null
got=$(snap_api "$src_sock" PUT /vmm/migration/cancel '{}')
wait_migration "$src_sock"
case $MIG_DOC in
*'"cancelled"'*)
	lib_ok "cancelled: ${MIG_DOC#* }"
	wait "$SNAP_PID"
	got=$(snap_result "$RUN_OUT")
	[ "$got" = "$want" ] && lib_ok "the source finished its run: $got" ||
		lib_fail "source after cancel: '$got', uninterrupted: '$want'"
	wait "$DST_PID"
	st=$?
	[ $st = 1 ] && lib_ok "the destination exits 1" || lib_fail "destination status $st"
	;;
*'"completed"'* | *'completed: '*) lib_ok "it completed before the cancel (nothing to check)" ;;
*) lib_fail "after cancel ($got): $MIG_DOC" ;;
esac

# ---- 6. packed ring, virtio-pci with MSI-X, 2 vCPUs, the guest dirtying memory all along: 16
# MiB rewritten for 20 ms each step, and one page in 256 of the next 16 MiB each step (most of
# them written once, mid-run: a write the dirty log lost would leave that page stale on the
# destination, and the result folds in every page's last word). max_downtime_ms 1 keeps
# pre-copy going for rounds of dirty pages. ----
args="ring=packed transport=pci cpus=2 dirty=16 dirty_ticks=2 steps=$STEPS"
migrate_mid_run "packed, pci, 2 vCPUs, dirtying" ', "max_downtime_ms": 1' \
	--transport pci --cpus 2 || finish
rounds=$(grep -oE '"rounds": ?[0-9]+|completed: [0-9]+ rounds' <<<"$MIG_DOC" | grep -oE '[0-9]+')
[ "${rounds:-0}" -ge 2 ] && lib_ok "pre-copy sent rounds of dirty pages ($rounds rounds)" ||
	lib_fail "pre-copy ended after ${rounds:-?} rounds: no dirty pages were sent: $MIG_DOC"

# ---- 7. the round limit: step 6's run (its uninterrupted result is $want) migrated over a link
# capped at 32 MiB/s, which this guest outpaces (it rewrites 16 MiB every step, a step every ~70 ms
# here), with max_rounds 3 and max_downtime_ms 100: every round finds the 16 MiB
# dirty again (0.5 s at the cap), so pre-copy ends at the limit, not within the budget. The source's
# last word says so (3 rounds while the guest ran, then the final round: "4 rounds (max_rounds
# reached)"), and the destination's result is the uninterrupted run's. A GET seen while pre-copy
# ran shows the limits in effect and the capped bandwidth. With the pacing taken out this step
# fails (tried 2026-11-25: the socket took 20 MB/s on a loaded host, pre-copy ended within the
# budget after 3 rounds, and the bandwidth check saw 2.4 times the cap). ----
max_rounds=3
cap=$((32 << 20))
# the capped pre-copy takes seconds: start it at step 10 % (not 35 %), and cap at 32 MiB/s (at
# 8 MiB/s it took 9.5 s, and a guest on an idle host ended its run on the source first)
AT=$((STEPS * 10 / 100))
# and a configuration change meanwhile is refused (the destination has built the VM from the
# configuration the migration began with)
MIG_PATCH='{"drive_id": "drive0", "rate_limiter": {"ops": {"size": 1000, "refill_time": 1000}}}'
migrate_again "capped at 32 MiB/s, max_rounds $max_rounds" \
	", \"max_rounds\": $max_rounds, \"max_bandwidth_bytes_per_s\": $cap, \"max_downtime_ms\": 100" \
	--transport pci --cpus 2 || finish
case $MIG_DOC in
*"completed: $((max_rounds + 1)) rounds (max_rounds reached)"* | \
	*'"rounds":'"$((max_rounds + 1)),"*'"round_limit_reached":true'*)
	lib_ok "pre-copy ended at the round limit: $MIG_DOC"
	;;
*) lib_fail "pre-copy did not end at the round limit ($max_rounds rounds, then the final): $MIG_DOC" ;;
esac
case $MIG_PATCHED in
"400 "*"live migration of this VM is running"*) lib_ok "PATCH /drives during pre-copy: $MIG_PATCHED" ;;
*) lib_fail "PATCH /drives during pre-copy was not refused: ${MIG_PATCHED:-(no pre-copy seen)}" ;;
esac
MIG_PATCH=
doc=$(grep '"state":"precopy"' <<<"$MIG_DOCS" | grep -E '"rounds":[12],' | tail -n 1)
bw=$(grep -oE '"bandwidth_bytes_per_s":[0-9]+' <<<"$doc" | grep -oE '[0-9]+$')
expected=$(grep -oE '"expected_downtime_ms":[0-9]+' <<<"$doc" | grep -oE '[0-9]+$')
case $doc in
*"\"max_rounds\":$max_rounds,"*"\"max_bandwidth_bytes_per_s\":$cap"*) ;;
*) lib_fail "GET /vmm/migration during pre-copy lacks the limits: ${doc:-(none seen)}" ;;
esac
# loose bounds: the measured bandwidth is the capped one (a round's bytes over its time, a busy
# host only lowers it), the pages left would take far longer than the 100 ms budget
if [ -n "$bw" ] && [ "$bw" -le $((cap * 5 / 4)) ] && [ "$bw" -ge $((cap / 10)) ] &&
	[ "${expected:-0}" -gt 100 ]; then
	lib_ok "during pre-copy: $bw bytes/s (cap $cap), expected downtime $expected ms"
else
	lib_fail "during pre-copy: bandwidth ${bw:-?} (cap $cap), expected downtime ${expected:-?}: $doc"
fi
finish
