#!/usr/bin/env bash
# vhost-user disks and NICs through the API and the config file, with no back-end and no KVM:
# a drive's "socket" and a NIC's "socket" are taken at PUT and shown by GET /vm/config as
# given, what such a device cannot honour is a 400 naming the field, and InstanceStart (or a
# config file) hands them to --disk / --net vhost-user=, whose check says the back-end's socket
# is missing before KVM is touched; a failed start takes the devices back (a second start says
# the same, not "socket already used").
# labels: api
# timeout: 60
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

kernel=$(guest_path hello) || finish
sock="$LIB_TMP/api.sock"
blk="$LIB_TMP/blk.sock" # never created: no back-end runs here
net="$LIB_TMP/net.sock"

"$VMM" --api-sock "$sock" --console stdio </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock (vhost-user)"

. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

want 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
want 204 PUT /boot-source "{\"kernel_image_path\": \"$kernel\"}"
# refused: both back-ends, none, and what the back-end decides or the VMM never sees
want 400 PUT /drives/v "{\"drive_id\": \"v\", \"path_on_host\": \"/d\", \"socket\": \"$blk\", \"is_root_device\": false}" 'exactly one of path_on_host'
want 400 PUT /drives/v '{"drive_id": "v", "is_root_device": false}' 'exactly one of path_on_host'
want 400 PUT /drives/v "{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": false, \"is_read_only\": true}" 'is_read_only true cannot be honoured with socket'
want 400 PUT /drives/v "{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": false, \"cache_type\": \"Unsafe\"}" 'cache_type cannot be honoured'
want 400 PUT /drives/v "{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": false, \"io_engine\": \"Sync\"}" 'io_engine cannot be honoured'
want 400 PUT /drives/v "{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": false, \"num_queues\": 17}" 'num-queues must be 1 to 16'
want 400 PUT /network-interfaces/n "{\"iface_id\": \"n\", \"socket\": \"$net\", \"mtu\": 1500}" 'mtu cannot be honoured'
want 400 PUT /network-interfaces/n "{\"iface_id\": \"n\", \"socket\": \"$net\", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 100}}}" 'rx_rate_limiter cannot be honoured'
# taken: the back-end may start after the PUT, so the socket is not looked at yet
want 204 PUT /drives/v "{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": true, \"num_queues\": 2}"
want 204 PUT /network-interfaces/n "{\"iface_id\": \"n\", \"vhost_user\": true, \"socket\": \"$net\", \"guest_mac\": \"02:00:00:00:00:01\"}"
want 400 PUT /drives/w "{\"drive_id\": \"w\", \"socket\": \"$blk\", \"is_root_device\": false}" 'uses that socket already'
want 400 PUT /mmds/config '{"network_interfaces": ["n"]}' 'vhost-user NIC: MMDS cannot answer'
want 200 GET /vm/config "" "\"drives\":\\[\\{\"drive_id\":\"v\",\"socket\":\"$blk\",\"is_root_device\":true,\"num_queues\":2\\}\\]"
want 200 GET /vm/config "" "\"network-interfaces\":\\[\\{\"iface_id\":\"n\",\"socket\":\"$net\",\"guest_mac\":\"02:00:00:00:00:01\"\\}\\]"
# InstanceStart: --disk vhost-user='s check, before KVM; twice, the same answer
for attempt in 1 2; do
	want 400 PUT /actions '{"action_type": "InstanceStart"}' "vhost-user=$blk: No such file or directory \\(start the vhost-user back-end first\\)"
done
want 200 GET / "" '"state":"Not started"'
kill "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null

# The config file: the same bodies, the same parser
cfg="$LIB_TMP/vm.json"
run_cfg() { # run_cfg JSON-DRIVES-AND-NICS: writes and runs a config file, expects status 2
	printf '{"boot-source": {"kernel_image_path": "%s"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}, %s}\n' \
		"$kernel" "$1" >"$cfg"
	lib_new_run "vmm --config-file (${1:0:60}...)"
	timeout 30 "$VMM" --config-file "$cfg" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	expect_status 2
}
says() {
	if grep -qE -- "$1" "$RUN_ERR"; then lib_ok "says: $(head -1 "$RUN_ERR")"; else
		lib_fail "stderr lacks /$1/: $(cat "$RUN_ERR")"
	fi
}
run_cfg "\"drives\": [{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": false}]"
says "--disk vhost-user=$blk: No such file or directory \\(start the vhost-user back-end first\\)"
touch "$LIB_TMP/plain"
run_cfg "\"network-interfaces\": [{\"iface_id\": \"n\", \"socket\": \"$LIB_TMP/plain\"}]"
says "--net vhost-user=$LIB_TMP/plain: not a socket"
run_cfg "\"drives\": [{\"drive_id\": \"v\", \"socket\": \"$blk\", \"is_root_device\": false, \"rate_limiter\": {}}]"
says "drives\\[0\\]: rate_limiter cannot be honoured with socket"
run_cfg "\"network-interfaces\": [{\"iface_id\": \"n\", \"socket\": \"$net\"}], \"mmds-config\": {\"network_interfaces\": [\"n\"]}"
says "mmds-config: .*vhost-user NIC"
finish
