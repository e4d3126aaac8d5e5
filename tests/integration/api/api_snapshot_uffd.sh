#!/usr/bin/env bash
# PUT /snapshot/load with Firecracker's mem_backend {"backend_type": "Uffd", "backend_path":
# SOCKET} on a VMM with no VM yet, which needs no KVM: a backend_path that is missing, not a
# socket, too long or absent, and an unknown backend_type, are each a 400 with a fault_message
# that says so; a socket where the example handler (vmm-uffd-handler) listens is taken, so the
# load goes on to the state file, whose error is the 400; the VMM keeps answering, not started,
# and the handler was never contacted (the state file is read before the memory is handed over).
# A state file that opens gets its memory handed to the handler (which ends with 0 when the VMM
# drops the half-built VM), and a stale socket is a 400 "refused the connection". The load
# itself with a handler is tests/integration/snapshot/snapshot_uffd.sh (needs KVM).
# labels: api snapshot
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

sock="$LIB_TMP/api.sock"
handler_sock="$LIB_TMP/uffd.sock"
HANDLER="$BUILD_DIR/vmm-uffd-handler"
[ -x "$HANDLER" ] || skip "not built" "$HANDLER (the vmm-uffd-handler target)"

"$VMM" --api-sock "$sock" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
handler_pid=
trap 'kill -9 $vmm_pid $handler_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"

. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

load() { # load BACKEND_TYPE PATH -> the body of PUT /snapshot/load
	echo "{\"snapshot_path\": \"$LIB_TMP/none/state\", \"mem_backend\": {\"backend_type\": \"$1\", \"backend_path\": \"$2\"}}"
}

want 400 PUT /snapshot/load "$(load Uffd "$handler_sock")" "no page-fault handler socket at $handler_sock"
truncate -s 64M "$LIB_TMP/memory"
want 400 PUT /snapshot/load "$(load Uffd "$LIB_TMP/memory")" "is not a Unix socket"
want 400 PUT /snapshot/load "$(load Uffd "$LIB_TMP/$(printf 'a%.0s' $(seq 120))")" "at most 107 bytes"
want 400 PUT /snapshot/load "$(load Hugetlbfs "$LIB_TMP/memory")" "backend_type must be File or Uffd"
want 400 PUT /snapshot/load "{\"snapshot_path\": \"$LIB_TMP/none/state\", \"mem_backend\": {\"backend_type\": \"Uffd\"}}" "backend_path"
want 400 PUT /snapshot/load "{\"snapshot_path\": \"$LIB_TMP/none/state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$handler_sock\"}, \"mem_file_path\": \"$LIB_TMP/memory\"}" "either mem_file_path or mem_backend"

"$HANDLER" --timeout 60 "$handler_sock" "$LIB_TMP/memory" 2>"$LIB_TMP/handler.err" &
handler_pid=$!
for _ in $(seq 100); do [ -S "$handler_sock" ] && break; sleep 0.1; done
want 400 PUT /snapshot/load "$(load Uffd "$handler_sock")" "$LIB_TMP/none/state"
want 200 GET / "" '"state":"Not started"'
if kill -0 "$handler_pid" 2>/dev/null && ! grep -q . "$LIB_TMP/handler.err"; then
	lib_ok "the handler still waits, never contacted"
else
	lib_fail "the handler: $(cat "$LIB_TMP/handler.err")"
fi

# A state file that opens (a configuration section only, as vmm/snapshot/vm_snapshot.c writes it): the load
# goes on to the memory, which is handed to the handler (the API thread's seccomp list and the
# watch thread's are used for real here), then to KVM, whose absence (or, where KVM works, the
# state's missing KVM sections) is the 400; the VM is torn down, the connection closed, and the handler ends with status 0.
python3 - "$LIB_TMP/state" <<'PY'
import json, struct, sys, zlib
cfg = json.dumps({"version": 1, "mem_size": 64 << 20, "vcpus": 1, "options": [["mem", "64M"]]}).encode()
sec = struct.pack("<IIQ", 1, 0, len(cfg)) + cfg + b"\0" * (-len(cfg) % 8)
head = b"VMMSNAP\0" + struct.pack("<IIQ", 1, 0, 24 + len(sec) + 8)
open(sys.argv[1], "wb").write(head + sec + struct.pack("<II", zlib.crc32(head + sec), 0x444E4553))
PY
state_load="{\"snapshot_path\": \"$LIB_TMP/state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$handler_sock\"}}"
want 400 PUT /snapshot/load "$state_load" '"fault_message"'
grep -q "served by the page-fault handler at $handler_sock" "$LIB_TMP/err" &&
	lib_ok "the memory was handed to the handler" || lib_fail "no hand-off: $(tail -n 3 "$LIB_TMP/err")"
for _ in $(seq 100); do kill -0 "$handler_pid" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$handler_pid" 2>/dev/null && wait "$handler_pid"; then
	lib_ok "the handler ended with 0: $(tail -n 1 "$LIB_TMP/handler.err")"
else
	lib_fail "the handler: $(cat "$LIB_TMP/handler.err")"
fi
want 200 GET / "" '"state":"Not started"'

# A stale socket: its handler is gone.
"$HANDLER" --timeout 60 "$handler_sock" "$LIB_TMP/memory" 2>"$LIB_TMP/handler.err" &
handler_pid=$!
for _ in $(seq 100); do [ -S "$handler_sock" ] && break; sleep 0.1; done
kill -9 "$handler_pid"
wait "$handler_pid" 2>/dev/null
want 400 PUT /snapshot/load "$state_load" "refused the connection"
kill -0 $vmm_pid && lib_ok "the VMM is still there" || lib_fail "the VMM is gone"
finish
