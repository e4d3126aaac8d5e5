#!/usr/bin/env bash
# A snapshot or a migration never lands on a CPU that lacks a feature the guest saw (issue 50;
# docs/cpu.md). The snap_counter guest is snapshotted mid-run (PUT /snapshot/create), then:
#   1. `vmm --check-cpu DIR` on this host: exit 0, "ok: ...";
#   2. the same on a fake lesser host (VMM_TEST_HOST_CPU_HIDE=sse2,lm, test-only: the host's
#      KVM_GET_SUPPORTED_CPUID less those): exit 1, "refused: ..." naming sse2 and lm;
#   3. `vmm --restore DIR` there: exit 2, one message naming them, no guest output; over the API
#      (PUT /snapshot/load) a 400 naming them, the VMM still waiting;
#   4. with --cpu-check off: a warning naming them, and the guest ends with TEST PASS and the
#      snapshot's SNAP-RESULT of an unchecked restore;
#   4b. the VM restored and snapshotted again: its model is still what the guest first saw
#      (checked here and on the lesser host the same way);
#   5. the state file's CPU model edited to claim avx512_4fmaps (Xeon Phi only; the file's
#      checksum fixed): refused naming it, with no environment variable;
#   6. the CPU model section removed (a snapshot of an older vmm): --check-cpu says "unknown"
#      (exit 0) and the restore warns and runs to TEST PASS;
#   7. a live migration to a destination on the fake lesser host: the destination refuses at
#      the stream's start naming the features, the source's migration fails with that reason,
#      and its guest runs on to TEST PASS.
# labels: snapshot migration cli
# requires: kvm
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

require python3 curl
RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-300}
STEPS=${SNAP_STEPS:-200}
sock="$LIB_TMP/api.sock"
dir="$LIB_TMP/snap"
disk="$LIB_TMP/disk.img"
args="steps=$STEPS"
HIDE=sse2,lm

# edit_model STATE MODE: rewrites the state file's SNAP_CPU_MODEL (tag 4) section: "claim" sets
# leaf 7.0 EDX bit 3 (avx512_4fmaps) in it, "drop" removes the section; then fixes the header's
# length and the trailer's CRC32 (vmm/snapshot/format/snap_format.h).
edit_model() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys, zlib
path, mode = sys.argv[1], sys.argv[2]
b = open(path, 'rb').read()
body, off, out = b[:-8], 24, bytearray(b[:24])
found = False
while off < len(body):
    tag, inst, ln = struct.unpack_from('<IIQ', body, off)
    sec = bytearray(body[off + 16:off + 16 + ln])
    pad = (8 - ln % 8) % 8
    off += 16 + ln + pad
    if tag == 4:
        found = True
        if mode == 'drop':
            continue
        nent = struct.unpack_from('<I', sec, 4)[0]
        for i in range(nent):
            e = 16 + 32 * i
            fn, idx = struct.unpack_from('<II', sec, e)
            if fn == 7 and idx == 0:
                edx = struct.unpack_from('<I', sec, e + 24)[0] | (1 << 3)
                struct.pack_into('<I', sec, e + 24, edx)
    out += struct.pack('<IIQ', tag, inst, len(sec)) + sec + b'\0' * pad
if not found:
    sys.exit('no CPU model section')
struct.pack_into('<Q', out, 16, len(out) + 8)
out += struct.pack('<II', zlib.crc32(bytes(out)) & 0xffffffff, 0x444e4553)
open(path, 'wb').write(out)
EOF
}

# names_all FILE WORD...: every WORD appears in FILE's refusal line
names_all() {
	local f=$1 w
	shift
	for w in "$@"; do
		grep -q "cannot give: .*\b$w\b" "$f" || return 1
	done
}

# ---- the snapshot ----
truncate -s 1M "$disk"
snap_start "vmm (to be snapshotted)" "$sock" --mem 256M --disk "$disk" --append "$args" ||
	lib_fail "the VMM did not come up"
snap_wait_progress "$RUN_OUT" "$SNAP_PID" 30 || lib_fail "the guest never got to step 30"
snap_take "$sock" "$dir" && lib_ok "snapshotted at step $(snap_progress "$RUN_OUT")" ||
	lib_fail "no snapshot"
snap_kill "$SNAP_PID"
cp "$disk" "$LIB_TMP/disk.snap" # each restore that runs starts from the snapshot's disk
[ -s "$dir/state" ] || {
	lib_dump_output
	finish
}

# ---- 1, 2. vmm --check-cpu ----
run_restore "check-cpu here" --check-cpu "$dir"
expect_status 0
grep -q '^ok: ' "$RUN_OUT" && lib_ok "$(cat "$RUN_OUT")" || lib_fail "no ok: $(cat "$RUN_OUT" "$RUN_ERR")"

VMM_TEST_HOST_CPU_HIDE=$HIDE run_restore "check-cpu on a lesser host" --check-cpu "$dir"
expect_status 1
grep -q '^refused: ' "$RUN_OUT" && names_all "$RUN_OUT" sse2 lm && lib_ok "$(cat "$RUN_OUT")" ||
	lib_fail "no refusal naming sse2 and lm: $(cat "$RUN_OUT" "$RUN_ERR")"

# ---- 3. the restore there: refused ----
VMM_TEST_HOST_CPU_HIDE=$HIDE run_restore "restore on a lesser host" --restore "$dir" --disk "$disk"
expect_refused
names_all "$RUN_ERR" sse2 lm && grep -q -- '--cpu-check off' "$RUN_ERR" &&
	lib_ok "named: $(grep -m1 'cannot give' "$RUN_ERR")" ||
	lib_fail "the refusal does not name sse2 and lm: $(cat "$RUN_ERR")"

# ---- 3b. over the API there: a 400 naming them, and the VMM still waits ----
rm -f "$sock"
VMM_TEST_HOST_CPU_HIDE=$HIDE "$VMM" --api-sock "$sock" --landlock-rules "$LIB_TMP:rw" \
	</dev/null >"$LIB_TMP/api.out" 2>"$LIB_TMP/api.err" &
api=$!
SNAP_PIDS+=("$api")
snap_wait_sock "$sock" "$api"
got=$(snap_api "$sock" PUT /snapshot/load \
	"{\"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\", \"resume_vm\": true}")
[ "${got%% *}" = 400 ] && [[ $got == *fault_message*sse2* ]] &&
	lib_ok "PUT /snapshot/load: $got" || lib_fail "PUT /snapshot/load -> $got (want 400 naming sse2)"
got=$(snap_api "$sock" GET /)
[[ $got == *'"Not started"'* ]] && lib_ok "still not started" || lib_fail "after the refusal: $got"
snap_kill "$api"

# ---- 4. accepted with --cpu-check off ----
cp "$LIB_TMP/disk.snap" "$disk"
VMM_TEST_HOST_CPU_HIDE=$HIDE run_restore "restore with --cpu-check off" --restore "$dir" \
	--disk "$disk" --cpu-check off
expect_pass
grep -q 'warn.*cannot give: .*sse2' "$RUN_ERR" && lib_ok "warned: $(grep -m1 'cannot give' "$RUN_ERR")" ||
	lib_fail "no warning naming sse2: $(cat "$RUN_ERR")"
[ -n "$(snap_result "$RUN_OUT")" ] && lib_ok "$(snap_result "$RUN_OUT")" || lib_fail "no SNAP-RESULT"

# ---- 4b. a restored VM snapshotted again carries the model it was restored from ----
cp "$LIB_TMP/disk.snap" "$disk"
lib_new_run "restored, to be snapshotted again"
rm -f "$sock"
"$VMM" --restore "$dir" --disk "$disk" --api-sock "$sock" --landlock-rules "$LIB_TMP:rw" \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
SNAP_PID=$!
SNAP_PIDS+=("$SNAP_PID")
snap_wait_sock "$sock" "$SNAP_PID"
snap_take "$sock" "$LIB_TMP/again" && lib_ok "snapshotted again" || lib_fail "no second snapshot"
snap_kill "$SNAP_PID"
run_restore "check-cpu of the second snapshot" --check-cpu "$LIB_TMP/again"
expect_status 0
VMM_TEST_HOST_CPU_HIDE=$HIDE run_restore "check-cpu of the second snapshot, lesser host" \
	--check-cpu "$LIB_TMP/again"
expect_status 1
names_all "$RUN_OUT" sse2 lm && lib_ok "$(cat "$RUN_OUT")" || lib_fail "$(cat "$RUN_OUT" "$RUN_ERR")"

# ---- 5. a model edited to claim a feature no host here has ----
cp -r "$dir" "$LIB_TMP/claim"
edit_model "$LIB_TMP/claim/state" claim || lib_fail "cannot edit the CPU model"
run_restore "restore of a model claiming avx512_4fmaps" --restore "$LIB_TMP/claim" --disk "$disk"
expect_refused
names_all "$RUN_ERR" avx512_4fmaps && lib_ok "named: $(grep -m1 'cannot give' "$RUN_ERR")" ||
	lib_fail "avx512_4fmaps not named: $(cat "$RUN_ERR")"

# ---- 6. no model (an older vmm's snapshot): warned, restored ----
cp -r "$dir" "$LIB_TMP/old"
edit_model "$LIB_TMP/old/state" drop || lib_fail "cannot drop the CPU model"
run_restore "check-cpu of an old snapshot" --check-cpu "$LIB_TMP/old"
expect_status 0
grep -q '^unknown: ' "$RUN_OUT" && lib_ok "$(cat "$RUN_OUT")" || lib_fail "not unknown: $(cat "$RUN_OUT" "$RUN_ERR")"
cp "$LIB_TMP/disk.snap" "$disk"
run_restore "restore of an old snapshot" --restore "$LIB_TMP/old" --disk "$disk"
expect_pass
grep -q 'carries no CPU model' "$RUN_ERR" && lib_ok "warned: $(grep -m1 'no CPU model' "$RUN_ERR")" ||
	lib_fail "no warning: $(cat "$RUN_ERR")"

# ---- 7. a migration to a lesser host: refused at the stream's start ----
mig="$LIB_TMP/mig.sock"
dst_err="$LIB_TMP/dst.err"
VMM_TEST_HOST_CPU_HIDE=$HIDE "$VMM" --migrate-from "unix:$mig" --landlock-rules "$LIB_TMP:rw" \
	</dev/null >/dev/null 2>"$dst_err" &
dst=$!
SNAP_PIDS+=("$dst")
snap_wait_sock "$mig" "$dst"
truncate -s 0 "$disk" && truncate -s 1M "$disk"
snap_start "source of the migration" "$sock" --mem 256M --disk "$disk" --append "$args" ||
	lib_fail "the source did not come up"
snap_wait_progress "$RUN_OUT" "$SNAP_PID" 10 || lib_fail "the source never got to step 10"
got=$(snap_api "$sock" PUT /vmm/send-migration "{\"destination_url\": \"unix:$mig\"}")
[ "${got%% *}" = 204 ] && lib_ok "send-migration -> 204" || lib_fail "send-migration -> $got"
doc=
for _ in $(seq 300); do
	doc=$(snap_api "$sock" GET /vmm/migration)
	[[ $doc == *'"failed"'* ]] && break
	sleep 0.1
done
[[ $doc == *'"failed"'* ]] && [[ $doc == *sse2* ]] && lib_ok "the source says: $doc" ||
	lib_fail "GET /vmm/migration: $doc"
wait "$dst"
status=$?
[ "$status" = 1 ] && names_all "$dst_err" sse2 lm && lib_ok "destination exit 1: $(grep -m1 'cannot give' "$dst_err")" ||
	lib_fail "destination: status $status, $(cat "$dst_err")"
grep -q 'migration stream: this host cannot run' "$dst_err" || lib_fail "not refused at HELLO: $(cat "$dst_err")"
wait "$SNAP_PID"
RUN_STATUS=$?
expect_pass
finish
