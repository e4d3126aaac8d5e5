#!/usr/bin/env bash
# virtio-vsock configured through the control plane: Firecracker's PUT /vsock before
# InstanceStart (vmm --api-sock only), and the "vsock" member of --config-file. Each time the
# freestanding vsock guest (tests/guests/virtio_vsock.c, small sizes) runs all its phases against
# the host helper (vsock_host.py): guest->host echo, several connections, credit, and a
# host-initiated CONNECT. GET /vm/config shows the vsock; PUT /vsock after start is refused.
# labels: api virtio
# requires: kvm
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

RUN_TIMEOUT=100
kernel=$(guest_path virtio_vsock) || finish
UDS="$LIB_TMP/v.sock"
sock="$LIB_TMP/api.sock"
GUEST_ARGS="transport=mmio echo=8192 conns=4 credit=16384 host=8192"

start_host() { # start_host TAG [ARG...]: the helper, ready to serve
	local tag=$1
	shift
	python3 "$SOURCE_DIR/tests/integration/lib/vsock_host.py" "$UDS" --timeout 90 --credit 16384 \
		--host 8192 "$@" >"$LIB_TMP/host-$tag.out" 2>&1 &
	host_pid=$!
	for _ in $(seq 50); do
		grep -q '^ready' "$LIB_TMP/host-$tag.out" 2>/dev/null && break
		sleep 0.2
	done
}

check_guest() { # check_guest TAG: the guest's phases and the helper's verdict
	expect_pass
	expect_output '^virtio-vsock at 0x[0-9a-f]+: guest CID 9, split ring'
	expect_output '^echo: 8192 bytes both ways ok'
	expect_output '^many: 4 connections ok'
	expect_output '^host: 8192 bytes from the host checked and echoed'
	if wait "$host_pid"; then
		lib_ok "host side: $(tr '\n' ';' <"$LIB_TMP/host-$1.out")"
	else
		lib_fail "host side failed: $(cat "$LIB_TMP/host-$1.out")"
	fi
}

# api METHOD PATH [BODY] -> prints "STATUS BODY"
api() {
	local out
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$1" \
		${3:+-H 'Content-Type: application/json' -d "$3"} -w '\n%{http_code}' \
		"http://localhost$2")
	echo "${out##*$'\n'} ${out%$'\n'*}"
}

want() { # want STATUS METHOD PATH [BODY]
	local expect=$1 got
	shift
	got=$(api "$@")
	if [ "${got%% *}" = "$expect" ]; then
		lib_ok "$1 $2 -> ${got:0:160}"
	else
		lib_fail "$1 $2 ${3:-} -> $got (want $expect)"
	fi
}

# 1. over the API; the helper connects to the guest's port 5000 (its last phase, which waits for
# it) only after the refused PUT below, so the VM is surely still running then
start_host api --go "$LIB_TMP/go"
lib_new_run "vmm --api-sock, PUT /vsock"
timeout "$RUN_TIMEOUT" "$VMM" --api-sock "$sock" --debug-exit --console stdio </dev/null \
	>"$RUN_OUT" 2>"$RUN_ERR" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
want 400 PUT /vsock "{\"guest_cid\": 2, \"uds_path\": \"$UDS\"}"
want 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
want 204 PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"$GUEST_ARGS\"}"
want 204 PUT /vsock "{\"vsock_id\": \"vsock0\", \"guest_cid\": 9, \"uds_path\": \"$UDS\"}"
cfg=$(api GET /vm/config)
case "$cfg" in
*"\"guest_cid\":9"*"\"uds_path\":\"$UDS\""*) lib_ok "GET /vm/config shows the vsock" ;;
*) lib_fail "GET /vm/config: $cfg" ;;
esac
want 204 PUT /actions '{"action_type": "InstanceStart"}'
want 400 PUT /vsock "{\"guest_cid\": 10, \"uds_path\": \"$UDS\"}"
touch "$LIB_TMP/go"
wait "$vmm_pid"
RUN_STATUS=$?
check_guest api

# 2. from a config file
start_host file
printf '%s\n' "{
  \"boot-source\": {\"kernel_image_path\": \"$kernel\", \"boot_args\": \"$GUEST_ARGS\"},
  \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128},
  \"vsock\": {\"guest_cid\": 9, \"uds_path\": \"$UDS\"}
}" >"$LIB_TMP/vm.json"
lib_new_run "vmm --config-file with a vsock"
timeout "$RUN_TIMEOUT" "$VMM" --config-file "$LIB_TMP/vm.json" --debug-exit --console stdio \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
check_guest file

# a bad vsock member names itself
printf '%s\n' "{\"boot-source\": {\"kernel_image_path\": \"$kernel\"},
  \"vsock\": {\"guest_cid\": 1, \"uds_path\": \"$UDS\"}}" >"$LIB_TMP/bad.json"
lib_new_run "vmm --config-file with a bad vsock"
"$VMM" --config-file "$LIB_TMP/bad.json" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
grep -q 'vsock: guest_cid' "$RUN_ERR" && lib_ok "says: $(head -1 "$RUN_ERR")" ||
	lib_fail "stderr: $(cat "$RUN_ERR")"
finish
