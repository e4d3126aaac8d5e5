#!/usr/bin/env bash
# The API socket's HTTP layer against malformed requests (issue 46), on a VMM started with
# --api-sock alone (no VM, so no KVM needed): each case of api_http_malformed.py gets exactly
# one status line and one JSON fault_message within a second, fault messages over 255 bytes
# come whole, and the VMM keeps answering.
# labels: api
# timeout: 60
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

sock="$LIB_TMP/api.sock"
"$VMM" --api-sock "$sock" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

if timeout 40 python3 "$SOURCE_DIR/tests/integration/lib/api_http_malformed.py" "$sock"; then
	lib_ok "api_http_malformed.py"
else
	lib_fail "api_http_malformed.py"
fi
if kill -0 "$vmm_pid" 2>/dev/null; then
	lib_ok "the VMM is still running"
else
	lib_fail "the VMM died: $(tail -3 "$LIB_TMP/err")"
fi
finish
