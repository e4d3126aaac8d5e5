#!/usr/bin/env bash
# vmmctl, in two parts:
# 1. against a fake API server (tests/integration/fake_api_server.py): every command sends the
#    right method, path and body, prints what it got (tables, summaries, --json), and exits with
#    the documented status: 0 ok, 1 API error (fault_message shown) or unusable answer, 2 usage
#    error, 3 socket unreachable. Malformed, huge and missing answers never crash it.
# 2. against the real VMM (vmm --api-sock): the snap_counter test guest configured and started
#    by vmmctl alone (machine, boot source, a drive with a rate limit, a balloon, a vsock); then
#    the drive's rate limits patched and removed, the balloon's target and statistics interval
#    changed, the VM paused and saved by snapshot-create, and the snapshot loaded into a second
#    VMM by snapshot-load --resume. Each effect is checked in the VMM's own answers (config,
#    --json config, balloon, balloon-stats, info), its files and sockets and the guest's output.
# labels: api
# timeout: 300
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # VMM, guest_path, lib_new_run, LIB_TMP
VMMCTL="${VMMCTL:-$BUILD_DIR/tools/vmmctl/vmmctl}"
tmp="$LIB_TMP"
sock="$tmp/api.sock"
log="$tmp/requests.log"
server_pid=""
vmm_pids=()
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	for p in "${vmm_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
oks=0
ok() {
	echo "ok: $LABEL: $*"
	oks=$((oks + 1))
}
bad() {
	echo "FAIL: $LABEL: $*"
	fails=$((fails + 1))
}

if [ ! -x "$VMMCTL" ]; then
	echo "FAIL: no vmmctl at $VMMCTL"
	exit 1
fi

python3 "$SOURCE_DIR/tests/integration/fake_api_server.py" "$sock" "$log" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 600); do
	[ -S "$sock" ] && break
	sleep 0.1
done
if [ ! -S "$sock" ]; then
	echo "FAIL: the fake API server did not come up"
	cat "$tmp/server.err"
	exit 1
fi

# ctl ARGS...: runs vmmctl on $ctl_sock (the fake server's, then a real VMM's) with a fresh
# request log; sets STATUS, OUT, ERR.
ctl_sock="$sock"
ctl() {
	LABEL="vmmctl $*"
	: >"$log"
	timeout 120 "$VMMCTL" --sock "$ctl_sock" "$@" >"$tmp/out" 2>"$tmp/err"
	STATUS=$?
	OUT=$(cat "$tmp/out")
	ERR=$(cat "$tmp/err")
}

expect_exit() {
	if [ "$STATUS" -eq "$1" ]; then
		ok "status $1"
	else
		bad "status $STATUS, want $1; stdout: $OUT; stderr: $ERR"
	fi
}

expect_out() {
	if grep -qE -- "$1" <<<"$OUT"; then ok "stdout has /$1/"; else bad "stdout lacks /$1/: $OUT"; fi
}

expect_err() {
	if grep -qE -- "$1" <<<"$ERR"; then ok "stderr has /$1/"; else bad "stderr lacks /$1/: $ERR"; fi
}

# expect_requests 'METHOD PATH BODY' ...: exactly these requests reached the server, in order
# (BODY is JSON compared as data, or "null" for none).
expect_requests() {
	local got
	if got=$(python3 - "$log" "$@" <<'PY'
import json, sys
log, want = sys.argv[1], sys.argv[2:]
got = [json.loads(l) for l in open(log)]
if len(got) != len(want):
    print("%d requests, want %d: %s" % (len(got), len(want), got)); sys.exit(1)
for g, w in zip(got, want):
    m, p, b = w.split(" ", 2)
    if (g["method"], g["path"], g["body"]) != (m, p, json.loads(b)):
        print("got %s %s %s, want %s" % (g["method"], g["path"], json.dumps(g["body"]), w))
        sys.exit(1)
PY
	); then
		ok "sent $*"
	else
		bad "$got"
	fi
}

mode() {
	curl -s --unix-socket "$sock" -X PUT -d "{\"mode\": \"$1\"}" http://localhost/test/mode
}

# --- global options and usage errors (2), never touching the socket --------------------------
LABEL="vmmctl --version"
out=$("$VMMCTL" --version)
[ $? -eq 0 ] && [ "$out" = "vmmctl 0.1.0" ] && ok "prints '$out'" || bad "prints '$out'"
LABEL="vmmctl --help"
out=$("$VMMCTL" --help)
[ $? -eq 0 ] && grep -q '^Usage: vmmctl' <<<"$out" && grep -q 'put-drive ID PATH' <<<"$out" &&
	ok "full usage" || bad "usage: $out"
for cmd in 'put-vsock CID UDS_PATH' 'put-balloon MIB' 'patch-balloon MIB' 'balloon-stats' \
	'patch-balloon-stats S' 'patch-drive ID \[PATH\] \[--bw LIMIT\] \[--ops LIMIT\]' \
	'patch-net ID \[--rx-bw LIMIT\]' 'snapshot-create SNAPSHOT MEM' 'snapshot-load SNAPSHOT MEM' \
	'SIZE:REFILL_MS\[:BURST\]'; do
	grep -q -- "^  $cmd" <<<"$out" && ok "usage has '$cmd'" || bad "usage lacks '$cmd'"
done

for args in "" "frobnicate" "put-drive rootfs" "put-drive bad/id /img" "stop --timeout-ms x" \
	"stop --timeout-ms 3600001" \
	"put-machine-config --vcpus 2" "put-machine-config --vcpus 0 --mem-mib 64" \
	"pause extra" "raw GET nopath" "raw BREW /" "raw PUT /actions {not-json" \
	"put-drive rootfs /img --bogus" "--timeout 0 info" "--bogus info" \
	"put-vsock 2 /tmp/v.sock" "put-vsock 3" "put-balloon lots" "put-balloon 8 --stats-interval 1d" \
	"patch-balloon -1" "patch-balloon-stats 0" "balloon 1" "patch-drive rootfs" \
	"patch-drive rootfs --bw 2M" "patch-drive rootfs --ops 0:1000" "patch-drive rootfs --bw 1:0" \
	"patch-drive rootfs --bw 2X:1000" "patch-net eth0" "patch-net eth0 --rx-bw 1:1:1:1" \
	"put-net eth0 tap0 --tx-ops x" "snapshot-create s m --type Half" "snapshot-load s" \
	"snapshot-load s m --net net0" "snapshot-load s m --net net0,bogus=1"; do
	# shellcheck disable=SC2086
	ctl $args
	expect_exit 2
	expect_err "^vmmctl: .+"
	expect_requests
done
LABEL="vmmctl without a socket"
VMM_API_SOCK="" "$VMMCTL" info 2>"$tmp/err" >/dev/null
s=$?
[ $s -eq 2 ] && grep -q 'VMM_API_SOCK' "$tmp/err" && ok "status 2, names VMM_API_SOCK" ||
	bad "status $s: $(cat "$tmp/err")"

# --- socket unreachable (3) ------------------------------------------------------------------
LABEL="vmmctl on a missing socket"
"$VMMCTL" --sock "$tmp/nothere.sock" info 2>"$tmp/err" >/dev/null
s=$?
[ $s -eq 3 ] && grep -q "$tmp/nothere.sock: No such file" "$tmp/err" &&
	ok "status 3: $(cat "$tmp/err")" || bad "status $s: $(cat "$tmp/err")"
LABEL="vmmctl on a file that is not a socket"
"$VMMCTL" --sock "$log" pause 2>"$tmp/err" >/dev/null
s=$?
[ $s -eq 3 ] && grep -q "not a socket" "$tmp/err" && ok "status 3: $(cat "$tmp/err")" ||
	bad "status $s: $(cat "$tmp/err")"
LABEL="vmmctl on a socket nobody listens on"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/dead.sock"
VMM_API_SOCK="$tmp/dead.sock" "$VMMCTL" info 2>"$tmp/err" >/dev/null
s=$?
[ $s -eq 3 ] && grep -q "Connection refused" "$tmp/err" && ok "status 3: $(cat "$tmp/err")" ||
	bad "status $s: $(cat "$tmp/err")"

# --- configuring before start ----------------------------------------------------------------
ctl info
expect_exit 0
expect_out '^state: +Not started'
expect_out '^app: +vmm 0\.1\.0'
expect_out '^uptime: +12\.345 s'
expect_requests 'GET / null' 'GET /vmm/state null'

ctl put-machine-config --vcpus 2 --mem-mib 512
expect_exit 0
expect_requests 'PUT /machine-config {"vcpu_count": 2, "mem_size_mib": 512, "smt": false}'
ctl put-machine-config --mem-mib=128 --vcpus=1 --smt
expect_exit 0
expect_requests 'PUT /machine-config {"vcpu_count": 1, "mem_size_mib": 128, "smt": true}'
ctl put-boot-source /k/bzImage --initrd /k/initrd.img --args "console=ttyS0 quiet"
expect_exit 0
expect_requests 'PUT /boot-source {"kernel_image_path": "/k/bzImage", "initrd_path": "/k/initrd.img", "boot_args": "console=ttyS0 quiet"}'
ctl put-boot-source /k/vmlinux
expect_exit 0
expect_requests 'PUT /boot-source {"kernel_image_path": "/k/vmlinux"}'
ctl put-drive rootfs "/img/my root.ext4" --root --ro
expect_exit 0
expect_requests 'PUT /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/my root.ext4", "is_root_device": true, "is_read_only": true}'
ctl put-drive data /img/data.img
expect_exit 0
expect_requests 'PUT /drives/data {"drive_id": "data", "path_on_host": "/img/data.img", "is_root_device": false, "is_read_only": false}'
ctl put-net eth0 tap0 --mac 52:54:00:ab:cd:ef
expect_exit 0
expect_requests 'PUT /network-interfaces/eth0 {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "52:54:00:ab:cd:ef"}'
ctl put-net eth1 tap1
expect_exit 0
expect_requests 'PUT /network-interfaces/eth1 {"iface_id": "eth1", "host_dev_name": "tap1"}'
ctl set-metrics /tmp/metrics.json
expect_exit 0
expect_requests 'PUT /metrics {"metrics_path": "/tmp/metrics.json"}'

# API errors (1): the fault_message and the HTTP code on stderr, nothing on stdout
ctl pause
expect_exit 1
expect_err '^vmmctl: the microVM is not running \(HTTP 400\)$'
expect_requests 'PATCH /vm {"state": "Paused"}'
ctl patch-drive rootfs /img/other.ext4
expect_exit 1
expect_err 'not supported before starting the microVM\. \(HTTP 400\)'
expect_requests 'PATCH /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/other.ext4"}'

ctl config
expect_exit 0
expect_out '^machine: +1 vCPUs, 128 MiB, smt yes'
expect_out '^kernel: +/k/vmlinux'
expect_out '^  rootfs +/img/my root\.ext4 \(root\) \(read-only\)'
expect_out '^  eth0 +tap0 mac 52:54:00:12:34:56'
expect_requests 'GET /vm/config null'

# --- lifecycle ---------------------------------------------------------------------------------
ctl start
expect_exit 0
expect_requests 'PUT /actions {"action_type": "InstanceStart"}'
ctl start
expect_exit 1
expect_err 'not supported after starting the microVM\. \(HTTP 400\)'
ctl put-drive late /img/late.img
expect_exit 1
expect_err 'after starting'
ctl patch-drive rootfs /img/other.ext4
expect_exit 0
expect_requests 'PATCH /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/other.ext4"}'
ctl patch-drive rootfs /img/third.ext4 --bw 2M:1000:512K --ops 0
expect_exit 0
expect_requests 'PATCH /drives/rootfs {"drive_id": "rootfs", "path_on_host": "/img/third.ext4", "rate_limiter": {"bandwidth": {"size": 2097152, "refill_time": 1000, "one_time_burst": 524288}, "ops": {"size": 0, "refill_time": 0}}}'
ctl pause
expect_exit 0
expect_requests 'PATCH /vm {"state": "Paused"}'
ctl info
expect_exit 0
expect_out '^state: +Paused'
expect_out '^paused: +yes'
ctl --json info
expect_exit 0
expect_out '"instance": \{'
expect_out '"paused": true'
ctl resume
expect_exit 0
expect_requests 'PATCH /vm {"state": "Resumed"}'
ctl ctrl-alt-del
expect_exit 0
expect_requests 'PUT /actions {"action_type": "SendCtrlAltDel"}'
ctl flush-metrics
expect_exit 0
expect_requests 'PUT /actions {"action_type": "FlushMetrics"}'

ctl devices
expect_exit 0
expect_out '^DEVICE +ID TRANSPORT +requests +bytes +errors +stalls +kicks +interrupts'
expect_out '^virtio-blk0 +2 mmio +1234 +5046272 +0 +3 +900 +870$'
expect_out '^virtio-net0 +1 pci +77 '
expect_requests 'GET /vmm/devices null'
ctl --json devices
expect_exit 0
if python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d[0]["bytes"] == 5046272' <<<"$OUT"; then
	ok "--json devices is the API's JSON"
else
	bad "--json devices: $OUT"
fi
ctl vcpus
expect_exit 0
expect_out '^VCPU +io +mmio +hlt +total'
expect_out '^0 +4242 +17 +3 +4262$'
expect_out '^1 +5 +6 +7 +18$'
expect_requests 'GET /vmm/vcpus null'
ctl metrics
expect_exit 0
expect_out '^api: +42 requests, 2 errors'
expect_out '^timestamp: +1700000000000 ms'
expect_out '^virtio-blk0 +2 mmio'
expect_out '^0 +4242 +17 +3 +4262$'
expect_requests 'GET /vmm/metrics null'
ctl --json metrics
expect_exit 0
if python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["api"]["requests"] == 42' <<<"$OUT"; then
	ok "--json metrics is the metrics document"
else
	bad "--json metrics: $OUT"
fi

# raw: any method and path; the answer as it came
ctl raw GET /machine-config
expect_exit 0
expect_out '"mem_size_mib": 128'
expect_requests 'GET /machine-config null'
ctl raw put /actions '{"action_type": "FlushMetrics"}'
expect_exit 0
expect_requests 'PUT /actions {"action_type": "FlushMetrics"}'
ctl raw GET /no/such/path
expect_exit 1
expect_err '^vmmctl: unknown path /no/such/path \(HTTP 404\)$'
ctl raw DELETE /actions
expect_exit 1
expect_err '\(HTTP 405\)$'
expect_requests 'DELETE /actions null'

ctl stop
expect_exit 0
expect_requests 'PUT /vmm/stop {"timeout_ms": 10000}'
ctl stop --timeout-ms 2500
expect_exit 0
expect_requests 'PUT /vmm/stop {"timeout_ms": 2500}'
ctl info
expect_out '^state: +Stopping'

# --- answers vmmctl cannot use: status 1 (3 when nothing comes), a message, no crash ---------
mode badjson
ctl info
expect_exit 1
expect_err 'malformed JSON'
mode wrongshape
ctl devices
expect_exit 1
expect_err 'not shaped as expected'
ctl vcpus
expect_exit 1
ctl config
expect_exit 1
mode huge
ctl metrics
expect_exit 1
expect_err 'larger than 1048576 bytes'
mode endless
ctl devices
expect_exit 1
expect_err 'larger than 1048576 bytes'
mode garbage
ctl info
expect_exit 1
expect_err 'malformed answer'
mode plain404
ctl pause
expect_exit 1
expect_err 'no fault_message in the answer: nothing here \(HTTP 404\)'
mode close
ctl info
expect_exit 3
expect_err 'no answer'
mode hang
ctl --timeout 2 info
expect_exit 3
expect_err 'no answer within 2 s'
mode normal
ctl raw GET /
expect_exit 0

# --- $VMM_API_SOCK ---------------------------------------------------------------------------
LABEL="VMM_API_SOCK=... vmmctl info"
: >"$log"
out=$(VMM_API_SOCK="$sock" "$VMMCTL" info)
s=$?
[ $s -eq 0 ] && grep -q '^id: *vmm' <<<"$out" && ok "status 0, summary printed" || bad "status $s: $out"

if ! kill -0 "$server_pid" 2>/dev/null; then
	LABEL="fake server"
	bad "died: $(cat "$tmp/server.err")"
fi

# ============ part 2: the real VMM ============================================================
# start_vmm SOCK [VMM ARGS...]: a VMM in the background with its API on SOCK (its console in
# RUN_OUT, stderr in RUN_ERR); sets VMM_PID; false when the socket never came.
start_vmm() {
	local api=$1
	shift
	lib_new_run "vmm --api-sock $*"
	rm -f "$api"
	"$VMM" --api-sock "$api" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VMM_PID=$!
	vmm_pids+=("$VMM_PID")
	for _ in $(seq 600); do
		[ -S "$api" ] && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# wait_output REGEX: until the guest of VMM_PID printed a line matching REGEX (or it ended).
wait_output() {
	for _ in $(seq 600); do
		tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1" && return 0
		kill -0 "$VMM_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# expect_json EXPR: the last answer (OUT, vmmctl --json) satisfies the Python expression on d.
expect_json() {
	if python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); sys.exit(not eval(sys.argv[1]))' \
		"$1" <<<"$OUT" 2>"$tmp/py.err"; then
		ok "answer has $1"
	else
		bad "answer lacks $1: $OUT $(cat "$tmp/py.err")"
	fi
}

expect_file() { # PATH: exists and is not empty
	[ -s "$1" ] && ok "$1 written ($(stat -c %s "$1") bytes)" || bad "no $1"
}

vm1="$tmp/vm1.sock"
vm2="$tmp/vm2.sock"
data="$tmp/data.img"
uds="$tmp/vsock.sock"
snap="$tmp/snap"
truncate -s 1M "$data"
mkdir -p "$snap"
# snap_counter: a test guest that computes in ring 3 and prints SNAP-PROGRESS as it goes; with
# this many steps it runs until stopped, and without its disk it leaves the drive alone.
kernel=$(guest_path snap_counter) || kernel=""
if [ -n "$kernel" ] && start_vmm "$vm1" --debug-exit --console stdio; then
	ctl_sock="$vm1"
	ctl put-machine-config --vcpus 1 --mem-mib 128
	expect_exit 0
	ctl put-boot-source "$kernel" --args "steps=1000000000 disk=0"
	expect_exit 0
	ctl put-drive data "$data" --ops 1000:1000
	expect_exit 0
	ctl put-balloon 16 --deflate-on-oom --stats-interval 1
	expect_exit 0
	ctl put-vsock 3 "$uds"
	expect_exit 0
	ctl balloon
	expect_exit 0
	expect_out '^target: +16 MiB$'
	expect_out '^statistics: +every 1 s$'
	expect_out '^deflate-on-oom: +yes$'
	ctl config
	expect_exit 0
	expect_out "^  data +$data ops=1000:1000\$"
	expect_out "^vsock: +cid 3, $uds\$"
	expect_out '^balloon: +16 MiB, deflate-on-oom yes, statistics every 1 s'
	ctl patch-balloon 32
	expect_exit 1
	expect_err 'not supported before starting'
	ctl start
	expect_exit 0
	LABEL="vmm started by vmmctl"
	wait_output '^SNAP-PROGRESS' && ok "the guest runs" || bad "no guest output: $(tail -n 5 "$RUN_ERR")"
	[ -S "$uds" ] && ok "the vsock device listens on $uds" || bad "no vsock socket $uds"

	# drive rate limits: set on the running drive, shown by GET /vm/config, then removed
	ctl patch-drive data --bw 2M:1000:1M --ops 500:1000
	expect_exit 0
	ctl --json config
	expect_json 'd["drives"][0]["rate_limiter"] == {"bandwidth": {"size": 2097152, "one_time_burst": 1048576, "refill_time": 1000}, "ops": {"size": 500, "one_time_burst": 0, "refill_time": 1000}}'
	ctl config
	expect_out "^  data +$data bw=2M:1000:1M ops=500:1000\$"
	ctl patch-drive data --ops 700:1000 # the bandwidth limit stays as it is
	expect_exit 0
	ctl config
	expect_out "^  data +$data bw=2M:1000:1M ops=700:1000\$"
	ctl patch-drive data --bw 2X:1000
	expect_exit 2
	ctl patch-drive nope --ops 1:1
	expect_exit 1
	expect_err 'no drive with id `nope` \(HTTP 404\)'
	ctl patch-drive data --bw 0 --ops 0
	expect_exit 0
	ctl --json config
	expect_json '"rate_limiter" not in d["drives"][0] and d["drives"][0]["drive_id"] == "data"'
	ctl patch-net nope --rx-bw 1M:1000
	expect_exit 1
	expect_err 'no network interface with id `nope` \(HTTP 404\)'

	# the balloon: a new target (this guest has no balloon driver: actual stays 0) and interval
	ctl patch-balloon 32
	expect_exit 0
	ctl --json balloon
	expect_json 'd["amount_mib"] == 32 and d["actual_mib"] == 0 and d["deflate_on_oom"]'
	ctl patch-balloon 4096
	expect_exit 1
	expect_err 'more than the guest'
	ctl patch-balloon-stats 5
	expect_exit 0
	ctl balloon
	expect_out '^target: +32 MiB$'
	expect_out '^actual: +0 MiB$'
	expect_out '^statistics: +every 5 s$'
	ctl balloon-stats
	expect_exit 0
	expect_out '^target: +32\.0 MiB \(8192 pages\)$'
	expect_out '^actual: +0\.0 MiB \(0 pages\)$'

	# limits as they are at the snapshot (not as at start: ops=1000:1000), for the load below
	ctl patch-drive data --ops 300:1000
	expect_exit 0

	# a snapshot: refused while running, written once paused
	ctl snapshot-create "$snap/state" "$snap/memory"
	expect_exit 1
	expect_err 'pause it first'
	ctl pause
	expect_exit 0
	ctl snapshot-create "$snap/state" "$snap/memory" --type Diff
	expect_exit 1
	expect_err 'dirty-page tracking'
	ctl snapshot-create "$snap/state" "$snap/memory"
	expect_exit 0
	expect_file "$snap/state"
	LABEL="snapshot-create"
	[ "$(stat -c %s "$snap/memory")" -eq $((128 << 20)) ] && ok "the memory file holds 128 MiB" ||
		bad "memory file: $(ls -l "$snap/memory" 2>&1)"
	kill -9 "$VMM_PID"
	wait "$VMM_PID" 2>/dev/null
else
	LABEL="vmm --api-sock"
	bad "no VMM to configure: $(tail -n 5 "$RUN_ERR" 2>/dev/null)"
fi

# snapshot-load into a second VMM that waits for its configuration
rm -f "$uds"
if [ -s "$snap/state" ] && start_vmm "$vm2" --debug-exit --console stdio; then
	ctl_sock="$vm2"
	ctl balloon
	expect_exit 1
	expect_err 'No balloon device configured'
	ctl snapshot-load "$snap/state" "$snap/nothere"
	expect_exit 1
	expect_err 'nothere'
	ctl info
	expect_out '^state: +Not started$'
	ctl snapshot-load "$snap/state" "$snap/memory" --resume
	expect_exit 0
	ctl info
	expect_out '^state: +Running$'
	ctl balloon
	expect_out '^target: +32 MiB$'
	expect_out '^statistics: +every 5 s$'
	# the configuration is the snapshotted VM's: the drive's id, its limits and the balloon
	# as they were at the snapshot (PATCHes included), and the drive can be patched by its id
	ctl config
	expect_out "^  data +$data ops=300:1000\$"
	expect_out "^vsock: +cid 3, $uds\$"
	expect_out '^balloon: +32 MiB, deflate-on-oom yes, statistics every 5 s'
	ctl patch-drive data --bw 1M:1000
	expect_exit 0
	ctl --json config
	expect_json 'd["drives"][0]["drive_id"] == "data" and d["drives"][0]["rate_limiter"]["bandwidth"]["size"] == 1048576 and d["drives"][0]["rate_limiter"]["ops"]["size"] == 300'
	LABEL="vmm after snapshot-load --resume"
	wait_output '^SNAP-PROGRESS' && ok "the restored guest runs on" || bad "no guest output"
	[ -S "$uds" ] && ok "the restored vsock device listens on $uds" || bad "no vsock socket $uds"
	ctl stop --timeout-ms 500 # the guest ignores Ctrl-Alt-Del: the deadline stops it
	expect_exit 0
	wait "$VMM_PID"
	s=$?
	LABEL="vmm after vmmctl stop"
	[ $s -eq 0 ] && ok "ended with status 0" || bad "status $s: $(tail -n 5 "$RUN_ERR")"
else
	LABEL="snapshot-load"
	bad "no snapshot or no second VMM: $(tail -n 5 "$RUN_ERR" 2>/dev/null)"
fi

fails=$((fails + LIB_CHECKS_FAILED)) # guest_path's
echo "$oks checks passed, $fails failed"
[ "$fails" -eq 0 ]
