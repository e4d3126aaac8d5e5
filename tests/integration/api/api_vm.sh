#!/usr/bin/env bash
# The HTTP API with real clients (curl, Python's http.client, vmmctl) against the real VMM:
# a test guest configured and started entirely over the API (vmm --api-sock only), then paused
# while it reads its disk as fast as it can at queue depth 32 (the device's request counter
# stops, and moves again after the resume), metrics to a file, PATCH /drives, every bad-input
# case (tests/integration/lib/api_clients.py: malformed and oversized bodies, unknown paths and
# methods, wrong states, clients that vanish mid-request or say nothing, many at once), and a
# graceful stop whose deadline passes (the test guest ignores Ctrl-Alt-Del) ending with status 0.
# labels: api
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

sock="$LIB_TMP/api.sock"
disk="$LIB_TMP/disk.img"
disk2="$LIB_TMP/disk2.img"
metrics="$LIB_TMP/metrics.jsonl"
head -c 16M /dev/urandom >"$disk"
head -c 32M /dev/urandom >"$disk2"
kernel=$(guest_path blk_bench) || exit 1
VMMCTL=${VMMCTL:-${BUILD_DIR:-build}/tools/vmmctl/vmmctl}

"$VMM" --api-sock "$sock" --debug-exit --console stdio </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

# api METHOD PATH [BODY] -> prints "STATUS BODY"
api() {
	local out code
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} \
		-w '\n%{http_code}' "http://localhost$2")
	code=${out##*$'\n'}
	echo "$code ${out%$'\n'*}"
}

# want STATUS METHOD PATH [BODY]
want() {
	local expect=$1 got
	shift
	got=$(api "$@")
	if [ "${got%% *}" = "$expect" ]; then
		ok "$1 $2 -> ${got:0:160}"
	else
		lib_fail "$1 $2 ${3:-} -> $got (want $expect)"
	fi
}

counter() { # the disk's request counter
	api GET /vmm/devices | sed -n 's/.*"requests":\([0-9]*\).*/\1/p'
}

ok() {
	echo "ok: $*"
	LIB_CHECKS_OK=$((LIB_CHECKS_OK + 1))
}

want 200 GET /
want 400 PUT /actions '{"action_type": "InstanceStart"}'
want 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
want 204 PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"seconds=270 requests=100000000\"}"
want 204 PUT /drives/disk0 "{\"drive_id\": \"disk0\", \"path_on_host\": \"$disk\", \"is_root_device\": false, \"is_read_only\": true}"
want 204 PUT /metrics "{\"metrics_path\": \"$metrics\"}"
want 400 PUT /metrics "{\"metrics_path\": \"$metrics\"}"
want 200 GET /vm/config
want 204 PUT /actions '{"action_type": "InstanceStart"}'
want 400 PUT /actions '{"action_type": "InstanceStart"}'
want 400 PUT /boot-source "{\"kernel_image_path\": \"$kernel\"}"

# the guest reads: the counter moves
for _ in $(seq 200); do [ "$(counter)" -gt 1000 ] 2>/dev/null && break; sleep 0.1; done
[ "$(counter)" -gt 1000 ] || { lib_fail "the guest's requests never showed: $(api GET /vmm/devices)"; }

# pause with 32 requests in flight: nothing moves while paused
t0=$(date +%s%N)
want 204 PATCH /vm '{"state": "Paused"}'
t1=$(date +%s%N)
echo "pause took $(((t1 - t0) / 1000)) us (curl included)"
c1=$(counter)
sleep 1
c2=$(counter)
if [ "$c1" = "$c2" ]; then ok "paused, the counter stays at $c1"; else
	lib_fail "the counter moved while paused: $c1 -> $c2"
fi
want 200 GET /vmm/state
api GET / | grep -q '"state":"Paused"' || { lib_fail "GET / does not say Paused"; }
want 204 PATCH /vm '{"state": "Paused"}'
want 400 PUT /actions '{"action_type": "SendCtrlAltDel"}'
want 204 PATCH /vm '{"state": "Resumed"}'
sleep 1
c3=$(counter)
if [ "$c3" -gt "$c2" ]; then ok "resumed, the counter moves on ($c2 -> $c3)"; else
	lib_fail "nothing after the resume: $c2 -> $c3"
fi

# metrics: a line per flush, with the disk's counters
want 204 PUT /actions '{"action_type": "FlushMetrics"}'
if python3 -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])][-1]; assert d["devices"][0]["requests"] > 0 and d["api"]["requests"] > 10' "$metrics"; then
	ok "the metrics file has a JSON line with the device's requests"
else
	lib_fail "metrics file: $(cat "$metrics")"
fi

# PATCH /drives: another file behind the running disk; bad paths keep the old one
want 204 PATCH /drives/disk0 "{\"drive_id\": \"disk0\", \"path_on_host\": \"$disk2\"}"
want 400 PATCH /drives/disk0 '{"drive_id": "disk0", "path_on_host": "/nonexistent/x.img"}'
want 400 PATCH /drives/nope '{"drive_id": "nope", "path_on_host": "/x"}'
api GET /vm/config | grep -q "$disk2" || { lib_fail "/vm/config does not show the new path"; }

# bad input with a real client library, while the guest runs
if python3 "$(dirname "${BASH_SOURCE[0]}")/../lib/api_clients.py" "$sock"; then ok "api_clients.py"; else lib_fail "api_clients.py"; fi

# vmmctl against the real VMM
if [ -x "$VMMCTL" ]; then
	"$VMMCTL" --sock "$sock" info | sed 's/^/  vmmctl: /'
	"$VMMCTL" --sock "$sock" pause && "$VMMCTL" --sock "$sock" --json info | grep -q Paused &&
		"$VMMCTL" --sock "$sock" resume && ok "vmmctl pause/resume" ||
		{ lib_fail "vmmctl pause/resume"; }
	"$VMMCTL" --sock "$sock" devices | sed 's/^/  vmmctl: /'
	"$VMMCTL" --sock "$sock" raw GET /nope >/dev/null 2>&1
	[ $? -eq 1 ] && ok "vmmctl exit 1 on an API error" || { lib_fail "vmmctl status"; }
fi

kill -0 $vmm_pid 2>/dev/null || {
	lib_fail "the VMM died"
	cat "$LIB_TMP/err"
}

# graceful stop: this guest does not react to Ctrl-Alt-Del, the deadline stops it (status 0)
want 204 PUT /vmm/stop '{"timeout_ms": 1500}'
want 400 PATCH /vm '{"state": "Paused"}'
status=0
wait $vmm_pid || status=$?
trap 'rm -rf "$LIB_TMP"' EXIT
if [ "$status" -eq 0 ] && grep -q "did not stop in time" "$LIB_TMP/err"; then
	ok "the stop deadline ended the VM with status 0"
else
	lib_fail "stop -> status $status"
	cat "$LIB_TMP/err"
fi
[ -e "$sock" ] && { lib_fail "the socket file is left behind"; }
finish
