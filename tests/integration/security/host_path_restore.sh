#!/usr/bin/env bash
# A real snapshot whose files are swapped for hostile ones (docs/security.md, "Paths from
# outside"), and a drive swap to a FIFO (a 400 at once): `vmm --restore DIR` with DIR/memory a FIFO, and PUT /snapshot/load with the
# memory backend a FIFO, are refused at once (exit 2 / a 400, one line, under a second; a 5 s
# timeout fails the case, not the suite), where they used to block in open() for good; and a
# restore that fails while the VM is built (here: --kvm naming no device) says why once, whole
# (it used to print it twice, the second copy cut at 300 characters); a snapshot whose append is
# over the limit is a usage error before /dev/kvm.
# labels: snapshot api
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

sock="$LIB_TMP/api.sock"
dir="$LIB_TMP/snap"
truncate -s 4M "$LIB_TMP/disk.img"
snap_start "vmm (to be snapshotted)" "$sock" --mem 64M --disk "$LIB_TMP/disk.img,id=disk0" \
	--append "steps=8000" || {
	lib_fail "the VMM did not come up"
	lib_dump_output
	finish
}
# A drive swap (PATCH /drives) to a FIFO beside the disk: a 400 at once, the disk kept.
mkfifo "$LIB_TMP/swap.fifo"
start=$(date +%s%N)
got=$(snap_api "$sock" PATCH /drives/disk0 \
	"{\"drive_id\": \"disk0\", \"path_on_host\": \"$LIB_TMP/swap.fifo\"}")
ms=$((($(date +%s%N) - start) / 1000000))
if [ "${got%% *}" = 400 ] && grep -q 'swap.fifo: not a regular file or a block device (a FIFO)' <<<"$got" &&
	[ "$ms" -lt 1000 ]; then
	lib_ok "PATCH /drives to a FIFO -> 400 in $ms ms: $got"
else
	lib_fail "PATCH /drives to a FIFO -> in $ms ms: $got"
fi
snap_take "$sock" "$dir" && lib_ok "a snapshot in $dir" || lib_fail "no snapshot"
snap_kill "$SNAP_PID"

# restore_fast WANT_STATUS PATTERN ARGS...: one line on stderr matching PATTERN, the status, and
# (for status 2) under a second.
restore_fast() {
	local want=$1 pattern=$2 start ms err status
	shift 2
	start=$(date +%s%N)
	timeout 5 "$VMM" "$@" 2>"$LIB_TMP/restore.err" >/dev/null </dev/null
	status=$?
	err=$(grep -v '^vmm: info:' "$LIB_TMP/restore.err")
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$status" -eq "$want" ] && [ "$(grep -c . <<<"$err")" -eq 1 ] &&
		grep -qE -- "$pattern" <<<"$err" && { [ "$want" -ne 2 ] || [ "$ms" -lt 1000 ]; }; then
		lib_ok "vmm $* -> $status in $ms ms: $err"
	else
		lib_fail "vmm $* -> $status (want $want) in $ms ms, stderr (want one line /$pattern/): $err"
	fi
}

# DIR/memory a FIFO, the state the real one.
mkdir -p "$LIB_TMP/fifomem"
cp "$dir/state" "$LIB_TMP/fifomem/state"
mkfifo "$LIB_TMP/fifomem/memory"
restore_fast 2 "memory file .*fifomem/memory: not a regular file \\(a FIFO\\)" \
	--restore "$LIB_TMP/fifomem" --disk "$LIB_TMP/disk.img,id=disk0"
# A failure while the VM is built: once, whole (the probe's line ends with its fix).
restore_fast 1 "^vmm: error: kvm: unusable: .*; fix: .* pass the host's /dev/kvm in$" \
	--restore "$dir" --disk "$LIB_TMP/disk.img,id=disk0" --kvm "$LIB_TMP/no-kvm"

# A snapshot whose recorded append is over the limit (the state rewritten: its configuration
# section's append replaced, lengths and checksum made right again): a usage error before
# /dev/kvm (--kvm names no device: reaching KVM would say so instead).
mkdir -p "$LIB_TMP/longappend"
ln "$dir/memory" "$LIB_TMP/longappend/memory"
python3 - "$dir/state" "$LIB_TMP/longappend/state" <<'PY'
import json, struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
out, off, end, done = bytearray(b[:24]), 24, len(b) - 8, False
while off < end:
    tag, inst, n = struct.unpack_from('<IIQ', b, off)
    data = b[off + 16:off + 16 + n]
    try:
        j = json.loads(data)
        opts = j['options'] if isinstance(j, dict) else None
    except (ValueError, KeyError, UnicodeDecodeError):
        opts = None
    if opts is not None:
        opts = [o for o in opts if o[0] != 'append'] + [['append', 'a' * 70000]]
        j['options'] = opts
        data, done = json.dumps(j).encode(), True
    out += struct.pack('<IIQ', tag, inst, len(data)) + data + bytes(-len(data) % 8)
    off += 16 + n + (-n % 8)
struct.pack_into('<Q', out, 16, len(out) + 8)
out += struct.pack('<II', zlib.crc32(bytes(out)), 0x444e4553)
open(sys.argv[2], 'wb').write(out)
sys.exit(0 if done else 1)
PY
[ $? -eq 0 ] || lib_fail "no configuration section with options in $dir/state"
restore_fast 2 "command line is 70000 bytes; at most 65535" --restore "$LIB_TMP/longappend" \
	--disk "$LIB_TMP/disk.img,id=disk0" --kvm "$LIB_TMP/no-kvm"

# Over the API: the memory backend a FIFO. A socket of its own: the killed VMM's stale socket
# at $sock is there at once, and a request sent to it before the new VMM replaced it got no
# answer (curl's 000; the suite's run of 2026-11-27).
sock="$LIB_TMP/api2.sock"
"$VMM" --api-sock "$sock" --console none </dev/null >"$LIB_TMP/api.out" 2>"$LIB_TMP/api.err" &
api_pid=$!
SNAP_PIDS+=("$api_pid")
snap_wait_sock "$sock" "$api_pid" || lib_fail "the API VMM did not come up"
start=$(date +%s%N)
got=$(curl -s --max-time 5 --unix-socket "$sock" -X PUT -H 'Content-Type: application/json' \
	-d "{\"snapshot_path\": \"$dir/state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$LIB_TMP/fifomem/memory\"}, \"drive_overrides\": [{\"drive_id\": \"disk0\", \"path_on_host\": \"$LIB_TMP/disk.img\"}]}" \
	-w '\n%{http_code}' http://localhost/snapshot/load)
ms=$((($(date +%s%N) - start) / 1000000))
if [ "${got##*$'\n'}" = 400 ] && grep -q 'not a regular file (a FIFO)' <<<"$got" && [ "$ms" -lt 1000 ]; then
	lib_ok "PUT /snapshot/load with a FIFO memory file -> 400 in $ms ms: ${got%$'\n'*}"
else
	lib_fail "PUT /snapshot/load with a FIFO memory file -> in $ms ms: $got"
fi
got=$(snap_api "$sock" GET /)
[ "${got%% *}" = 200 ] && lib_ok "GET / still answers: $got" || lib_fail "GET / -> $got"
kill -TERM "$api_pid"
for _ in $(seq 50); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$api_pid" 2>/dev/null && lib_fail "SIGTERM did not end the VMM" || lib_ok "SIGTERM ended it"
finish
