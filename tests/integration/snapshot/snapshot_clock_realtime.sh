#!/usr/bin/env bash
# PUT /snapshot/load's clock_realtime and `vmm --restore --clock-realtime` (issue 49;
# docs/snapshots.md, "The guest clock after a restore"). The snap_counter guest is snapshotted
# mid-run, then:
#   1. the snapshot as taken, 3 s later: when this host's KVM_GET_CLOCK stamped its kvmclock with
#      the wall time (SNAP_VM_CLOCK flags has KVM_CLOCK_REALTIME; kvm_pvm does), clock_realtime
#      loads it, kvmclock advanced by 3 s or more, and the guest ends with TEST PASS; when not (no
#      stable TSC master clock), the 400 of step 1b;
#   1b. the stamp removed from the section (a snapshot of a host without one): a 400 that says
#      the snapshot has no wall-clock stamp, and the same VMM then loads it without
#      clock_realtime to TEST PASS;
#   2. the snapshot's clock stamped 30 s ago (the section edited, the file's CRC fixed): loaded
#      paused with clock_realtime, the info line says kvmclock advanced by about 30 s, and a
#      second snapshot of the loaded VM holds a kvmclock 30 s or more past the first one's
#      (KVM's own reading); without clock_realtime it holds less; resumed, the guest ends with
#      TEST PASS;
#   3. `vmm --restore DIR --clock-realtime` the same way: the info line, TEST PASS.
# A host whose KVM lacks KVM_CLOCK_REALTIME (KVM_CAP_ADJUST_CLOCK, Linux < 5.16): the 400 that
# says so is checked, then the test exits 77.
# labels: snapshot api cli
# requires: kvm python3
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

require python3 curl
RUN_TIMEOUT=${RUN_TIMEOUT_SNAPSHOT:-300}
STEPS=${SNAP_STEPS:-200}
dir="$LIB_TMP/snap"
dir2="$LIB_TMP/snap2"
disk="$LIB_TMP/disk.img"
AGO=30

# clock_section STATE [stamp|unstamp SECONDS_AGO]: prints "FLAGS CLOCK" of SNAP_VM_CLOCK (tag 34,
# struct kvm_clock_data: clock u64, flags u32, pad u32, realtime u64, ...); "stamp" first rewrites
# it with KVM_CLOCK_REALTIME (4) and realtime = now - SECONDS_AGO, "unstamp" without the flag;
# either fixes the header's length and the trailer's CRC32 (vmm/snapshot/format/snap_format.h).
clock_section() {
	python3 - "$@" <<'EOF'
import struct, sys, time, zlib
path = sys.argv[1]
b = open(path, 'rb').read()
body, off, out = b[:-8], 24, bytearray(b[:24])
res = None
while off < len(body):
    tag, inst, ln = struct.unpack_from('<IIQ', body, off)
    sec = bytearray(body[off + 16:off + 16 + ln])
    pad = (8 - ln % 8) % 8
    off += 16 + ln + pad
    if tag == 34:
        if len(sys.argv) > 3 and sys.argv[2] == 'unstamp':
            struct.pack_into('<I', sec, 8, struct.unpack_from('<I', sec, 8)[0] & ~4)
        elif len(sys.argv) > 3:
            flags = struct.unpack_from('<I', sec, 8)[0] | 4
            struct.pack_into('<I', sec, 8, flags)
            struct.pack_into('<Q', sec, 16, time.time_ns() - int(sys.argv[3]) * 10**9)
        res = '%d %d' % (struct.unpack_from('<I', sec, 8)[0], struct.unpack_from('<Q', sec, 0)[0])
    out += struct.pack('<IIQ', tag, inst, len(sec)) + sec + b'\0' * pad
if res is None:
    sys.exit('no SNAP_VM_CLOCK section')
if len(sys.argv) > 3:
    struct.pack_into('<Q', out, 16, len(out) + 8)
    out += struct.pack('<II', zlib.crc32(bytes(out)) & 0xffffffff, 0x444e4553)
    open(path, 'wb').write(out)
print(res)
EOF
}

# start_vmm LABEL SOCK: an empty VMM waiting on SOCK; VMM_PID
start_vmm() {
	lib_new_run "$1"
	rm -f "$2"
	"$VMM" --api-sock "$2" --landlock-rules "$LIB_TMP:rw" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VMM_PID=$!
	SNAP_PIDS+=("$VMM_PID")
	snap_wait_sock "$2" "$VMM_PID"
}

# wait_pass: true when RUN_OUT shows TEST PASS within 120 s
wait_pass() {
	for _ in $(seq 1200); do
		grep -q "TEST PASS" "$RUN_OUT" && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "TEST PASS" "$RUN_OUT"
}

# advanced: the seconds of the info line "kvmclock advanced by S.mmm s" in RUN_ERR
advanced() { sed -n 's/.*kvmclock advanced by \([0-9]*\)\.[0-9]* s.*/\1/p' "$RUN_ERR" | head -n 1; }

load_body() { # load_body RESUME [EXTRA]
	echo "{\"snapshot_path\": \"$dir/state\", \"mem_file_path\": \"$dir/memory\", \"resume_vm\": $1$2}"
}

# ---- the snapshot ----
truncate -s 1M "$disk"
snap_start "snap_counter, to be snapshotted" "$LIB_TMP/a.sock" --mem 256M --disk "$disk" \
	--append "steps=$STEPS" || finish
snap_wait_progress "$RUN_OUT" "$SNAP_PID" 20 && snap_take "$LIB_TMP/a.sock" "$dir" &&
	lib_ok "snapshot taken" || {
	lib_fail "no snapshot"
	lib_dump_output
	finish
}
snap_kill "$SNAP_PID"
cp "$dir/state" "$LIB_TMP/state.orig"
read -r flags clock0 < <(clock_section "$dir/state")
echo "SNAP_VM_CLOCK: flags $flags, clock $clock0 ns"

# refused_then_plain SOCK: the load with clock_realtime is a 400 naming the missing stamp, the
# VMM waits on, and loads it without clock_realtime to TEST PASS
refused_then_plain() {
	[ "${got%% *}" = 400 ] && [[ "$got" == *"no wall-clock stamp"* ]] &&
		lib_ok "no stamp: ${got:0:200}" || lib_fail "load -> $got"
	kill -0 "$VMM_PID" 2>/dev/null && lib_ok "the VMM still waits" || lib_fail "the VMM ended"
	got=$(snap_api "$1" PUT /snapshot/load "$(load_body true)")
	[ "${got%% *}" = 204 ] && wait_pass && lib_ok "then loaded without clock_realtime: TEST PASS" ||
		lib_fail "load without clock_realtime -> $got"
}

# ---- 1. as taken ----
sleep 3
start_vmm "PUT /snapshot/load clock_realtime, the snapshot as taken" "$LIB_TMP/t.sock"
got=$(snap_api "$LIB_TMP/t.sock" PUT /snapshot/load "$(load_body true ', "clock_realtime": true')")
no_cap=false
if [[ "$got" == 400*"no KVM_CLOCK_REALTIME"* ]]; then
	lib_ok "this host's KVM cannot: ${got:0:200}"
	no_cap=true
elif ((flags & 4)); then
	s=$(advanced)
	[ "${got%% *}" = 204 ] && [ -n "$s" ] && [ "$s" -ge 3 ] && wait_pass &&
		lib_ok "stamped by this host: $(grep -o 'kvmclock advanced by .*' "$RUN_ERR"), TEST PASS" ||
		lib_fail "load -> $got, advanced '$s'"
else
	echo "note: this host's KVM gave no wall-clock stamp (no stable TSC master clock)"
	refused_then_plain "$LIB_TMP/t.sock"
fi
snap_kill "$VMM_PID"
if ((flags & 4)) && ! $no_cap; then
	clock_section "$dir/state" unstamp 0 >/dev/null
	start_vmm "PUT /snapshot/load clock_realtime, the stamp removed" "$LIB_TMP/u.sock"
	got=$(snap_api "$LIB_TMP/u.sock" PUT /snapshot/load \
		"$(load_body true ', "clock_realtime": true')")
	refused_then_plain "$LIB_TMP/u.sock"
	snap_kill "$VMM_PID"
	cp "$LIB_TMP/state.orig" "$dir/state"
fi
if $no_cap; then
	[ "$LIB_CHECKS_FAILED" -eq 0 ] || finish
	skip host "this host's KVM lacks KVM_CLOCK_REALTIME (Linux >= 5.16 has it): the refusal checked, the restore not"
fi

# ---- 2. stamped 30 s ago, over the API ----
# second_clock SOCK: snapshots the loaded (paused) VM into dir2, prints its kvmclock
second_clock() {
	rm -rf "$dir2"
	mkdir -p "$dir2"
	local got
	got=$(snap_api "$1" PUT /snapshot/create \
		"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$dir2/state\", \"mem_file_path\": \"$dir2/memory\"}")
	[ "${got%% *}" = 204 ] || {
		echo "snapshot/create: $got" >&2
		return 1
	}
	clock_section "$dir2/state" | cut -d' ' -f2
}

clock_section "$dir/state" stamp "$AGO" >/dev/null
start_vmm "PUT /snapshot/load clock_realtime, stamped ${AGO} s ago" "$LIB_TMP/s.sock"
got=$(snap_api "$LIB_TMP/s.sock" PUT /snapshot/load "$(load_body false ', "clock_realtime": true')")
s=$(advanced)
[ "${got%% *}" = 204 ] && [ -n "$s" ] && [ "$s" -ge "$AGO" ] && [ "$s" -lt $((AGO + 60)) ] &&
	lib_ok "loaded: $(grep -o 'kvmclock advanced by .*' "$RUN_ERR")" ||
	lib_fail "load -> $got; advanced '$s': $(cat "$RUN_ERR")"
c2=$(second_clock "$LIB_TMP/s.sock")
[ -n "$c2" ] && [ $((c2 - clock0)) -ge $((AGO * 1000000000)) ] &&
	lib_ok "KVM's kvmclock moved on by $(((c2 - clock0) / 1000000)) ms" ||
	lib_fail "kvmclock $c2, saved $clock0: not ${AGO} s later"
got=$(snap_api "$LIB_TMP/s.sock" PATCH /vm '{"state": "Resumed"}')
[ "${got%% *}" = 204 ] && wait_pass && lib_ok "resumed: TEST PASS" || lib_fail "resume -> $got"
snap_kill "$VMM_PID"

start_vmm "PUT /snapshot/load without clock_realtime, stamped" "$LIB_TMP/n.sock"
got=$(snap_api "$LIB_TMP/n.sock" PUT /snapshot/load "$(load_body false)")
c2=$(second_clock "$LIB_TMP/n.sock")
[ "${got%% *}" = 204 ] && [ -n "$c2" ] && [ $((c2 - clock0)) -lt $((AGO * 1000000000)) ] &&
	lib_ok "without it kvmclock resumes where it stopped (+$(((c2 - clock0) / 1000000)) ms)" ||
	lib_fail "load -> $got; kvmclock $c2, saved $clock0"
grep -q "kvmclock advanced" "$RUN_ERR" && lib_fail "advanced without clock_realtime" || true
snap_kill "$VMM_PID"

# ---- 3. vmm --restore --clock-realtime ----
run_restore "vmm --restore --clock-realtime" --restore "$dir" --clock-realtime \
	--landlock-rules "$LIB_TMP:rw"
expect_pass
s=$(advanced)
[ -n "$s" ] && [ "$s" -ge "$AGO" ] && lib_ok "$(grep -o 'kvmclock advanced by .*' "$RUN_ERR")" ||
	lib_fail "no advance line: $(cat "$RUN_ERR")"
finish
