#!/usr/bin/env bash
# PUT /snapshot/load with Firecracker's mem_backend {"backend_type": "Uffd", "backend_path":
# SOCKET} on a VMM with no VM yet, which needs no KVM: a backend_path that is missing, not a
# socket, too long or absent, and an unknown backend_type, are each a 400 with a fault_message
# that says so; a socket where the example handler (vmm-uffd-handler) listens is taken, so the
# load goes on to the state file, whose error is the 400; the VMM keeps answering, not started,
# and the handler was never contacted (the state file is read before the memory is handed over).
# The load itself with a handler is tests/integration/snapshot_uffd.sh (needs KVM).
# labels: api snapshot
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sock="$LIB_TMP/api.sock"
handler_sock="$LIB_TMP/uffd.sock"
HANDLER="$BUILD_DIR/vmm-uffd-handler"
[ -x "$HANDLER" ] || {
	echo "SKIP: $HANDLER is not built"
	exit 77
}

"$VMM" --api-sock "$sock" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
handler_pid=
trap 'kill -9 $vmm_pid $handler_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"

. "$(dirname "${BASH_SOURCE[0]}")/api_lib.sh" # api, want

load() { # load BACKEND_TYPE PATH -> the body of PUT /snapshot/load
	echo "{\"snapshot_path\": \"$LIB_TMP/none/state\", \"mem_backend\": {\"backend_type\": \"$1\", \"backend_path\": \"$2\"}}"
}

want 400 PUT /snapshot/load "$(load Uffd "$handler_sock")" "no page-fault handler socket at $handler_sock"
truncate -s 1M "$LIB_TMP/memory"
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
kill "$handler_pid" 2>/dev/null
finish
