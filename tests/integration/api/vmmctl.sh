#!/usr/bin/env bash
# vmmctl against a fake API server (tests/integration/lib/fake_api_server.py): every command
# sends the right method, path and body, prints what it got (tables, summaries, --json), and exits with
# the documented status: 0 ok, 1 API error (fault_message shown) or unusable answer, 2 usage
# error, 3 socket unreachable. Malformed, huge and missing answers never crash it. Needs no KVM;
# vmmctl_vmm.sh drives the real VMM.
# labels: api
# timeout: 300
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" # VMM, guest_path, lib_new_run, LIB_TMP
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vmmctl_lib.sh"

python3 "$SOURCE_DIR/tests/integration/lib/fake_api_server.py" "$sock" "$log" 2>"$tmp/server.err" &
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
ctl power-button
expect_exit 0
expect_requests 'PUT /actions {"action_type": "PowerButton"}'
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

echo "$oks checks passed, $fails failed"
[ "$fails" -eq 0 ]
