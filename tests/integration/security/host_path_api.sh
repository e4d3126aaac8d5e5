#!/usr/bin/env bash
# Paths named through the API of a VMM whose VM is not started (needs no KVM), opened by
# host_path_open() (docs/security.md, "Paths from outside"): a FIFO named as a snapshot's state
# or memory file is a 400 in under a second, the VMM keeps answering and SIGTERM ends it;
# /proc/self/mem is refused as a drive, as the log and as the metrics file; the log file is open
# write-only; a metrics FIFO without a reader is taken without blocking (as Firecracker does).
# labels: api
# timeout: 60
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

sock="$LIB_TMP/api.sock"
"$VMM" --api-sock "$sock" --console none </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

# want_fast STATUS METHOD PATH BODY REGEX: as want, and answered in under a second (curl gives up
# after 5 s: a hang fails this case, not the suite).
want_fast() {
	local start ms got
	start=$(date +%s%N)
	got=$(curl -s --max-time 5 --unix-socket "$sock" -X "$2" -H 'Content-Type: application/json' \
		--data-binary "$4" -w '\n%{http_code}' "http://localhost$3")
	ms=$((($(date +%s%N) - start) / 1000000))
	got="${got##*$'\n'} ${got%$'\n'*}"
	if [ "${got%% *}" = "$1" ] && grep -qE -- "$5" <<<"$got" && [ "$ms" -lt 1000 ]; then
		lib_ok "$2 $3 -> in $ms ms: ${got:0:200}"
	else
		lib_fail "$2 $3 ${4:0:120} -> in $ms ms (want < 1000): ${got:0:200} (want $1, /$5/)"
	fi
}

mkfifo "$LIB_TMP/state.fifo" "$LIB_TMP/mem.fifo"
want_fast 400 PUT /snapshot/load "{\"snapshot_path\": \"$LIB_TMP/state.fifo\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$LIB_TMP/mem.fifo\"}}" \
	"state.fifo: not a regular file \\(a FIFO\\)"
want 200 GET / "" '"state":"Not started"'
want_fast 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"/proc/self/mem\", \"is_root_device\": false}" \
	"disk /proc/self/mem: on /proc"
want_fast 400 PUT /boot-source "{\"kernel_image_path\": \"$LIB_TMP/state.fifo\"}" \
	"kernel .*state.fifo: not a regular file \\(a FIFO\\)"
want_fast 400 PUT /logger '{"log_path": "/proc/self/mem", "level": "Info"}' "log_path /proc/self/mem: on /proc"
want_fast 400 PUT /logger "{\"log_path\": \"$LIB_TMP/mem.fifo/x\"}" "log_path .*: Not a directory"
want_fast 400 PUT /metrics '{"metrics_path": "/proc/self/mem"}' "metrics file /proc/self/mem: on /proc"
want_fast 400 PUT /metrics '{"metrics_path": "/dev/null"}' "not a regular file or a FIFO \\(a character device\\)"

# The log file is open write-only (the logger used to open it read-write).
: >"$LIB_TMP/vmm.log"
want_fast 204 PUT /logger "{\"log_path\": \"$LIB_TMP/vmm.log\", \"level\": \"Info\"}" ""
mode=""
for fd in /proc/$vmm_pid/fd/*; do
	[ "$(readlink "$fd")" = "$LIB_TMP/vmm.log" ] || continue
	flags=$(sed -n 's/^flags:\s*//p' "/proc/$vmm_pid/fdinfo/${fd##*/}")
	mode=$((8#$flags & 3))
done
if [ "$mode" = 1 ]; then
	lib_ok "the log file is open write-only (O_WRONLY)"
else
	lib_fail "the log file's open mode is '${mode:-not open}' (want 1, O_WRONLY)"
fi
# A metrics FIFO with no reader: taken at once, never waited on.
want_fast 204 PUT /metrics "{\"metrics_path\": \"$LIB_TMP/mem.fifo\"}" ""
want 200 GET / "" '"state":"Not started"'

# SIGTERM ends it at once (no thread is stuck in an open()).
kill -TERM "$vmm_pid"
for _ in $(seq 50); do kill -0 "$vmm_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$vmm_pid" 2>/dev/null; then
	lib_fail "SIGTERM did not end the VMM within 5 s"
else
	lib_ok "SIGTERM ended the VMM"
fi
finish
