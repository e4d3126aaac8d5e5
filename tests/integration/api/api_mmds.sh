#!/usr/bin/env bash
# MMDS through the API of a VMM whose VM is not started (needs no KVM): PUT, PATCH (RFC 7396
# merge, null removes) and GET /mmds, PATCH before any PUT, the 400 of a body over the
# 51200-byte API limit (Firecracker's answer), and PUT /mmds/config with its refusals (no or unknown interface ids, an
# address outside link-local, a bad version, unknown fields), each a 400 with a fault_message
# (the NIC they name needs a tap, made where root can); and --mmds-size-limit.
# requires: curl
# labels: api
# timeout: 60
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

sock="$LIB_TMP/api.sock"
"$VMM" --api-sock "$sock" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"

. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

want 200 GET /mmds "" '^200 \{\}$'
want 400 PATCH /mmds '{"a": 1}' 'not initialized'
want 204 PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-1", "gone": "x"}}}'
want 204 PATCH /mmds '{"latest": {"meta-data": {"ami-id": "ami-2", "gone": null}}, "n": 1}'
want 200 GET /mmds "" '^200 \{"latest":\{"meta-data":\{"ami-id":"ami-2"\}\},"n":1\}$'

# a document one byte over the default limit: {"k":"vvv..."} of 51201 bytes
big="$LIB_TMP/big.json"
python3 -c 'import sys; sys.stdout.write("{\"k\":\"" + "v" * (51201 - 8) + "\"}")' >"$big"
want 400 PUT /mmds "@$big" '^400 \{"error":"Request payload with size 51201 is larger than the limit of 51200 allowed by server\.\\nAll previous unanswered requests will be dropped\."\}$'
want 200 GET /mmds "" '"ami-2"'

want 400 PUT /mmds/config '{"network_interfaces": ["eth0"]}' 'does not correspond'
want 400 PUT /mmds/config '{"network_interfaces": []}' 'is empty'
want 400 PUT /mmds/config '{"version": "V2"}' 'network_interfaces'
want 400 PUT /mmds/config '{"network_interfaces": ["eth0"], "bogus": 1}' 'bogus'
# The NIC's tap must exist at PUT (as in Firecracker): made here where root and ip(8) can.
want 400 PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap-mmds-none"}' 'no such network interface'
tap="tmmds$$"
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null &&
	ip tuntap add dev "$tap" mode tap 2>/dev/null; then
	trap 'kill -9 $vmm_pid 2>/dev/null; ip link del "$tap" 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
	want 204 PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$tap\"}"
	want 400 PUT /mmds/config '{"network_interfaces": ["eth0"], "ipv4_address": "10.0.0.1"}' 'link local'
	want 400 PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V3"}' 'version'
	want 204 PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V2", "ipv4_address": "169.254.170.2", "imds_compat": false}'
	want 200 GET /vm/config "" '"mmds-config":\{"version":"V2","network_interfaces":\["eth0"\],"ipv4_address":"169.254.170.2","imds_compat":false\}'
else
	echo "note: no tap could be made (root and ip(8)): PUT /mmds/config with a NIC left out"
fi
want 400 DELETE /mmds "" 'Invalid request method'

# --mmds-size-limit: Firecracker's flag, here 20 bytes
kill -9 $vmm_pid 2>/dev/null
wait $vmm_pid 2>/dev/null
rm -f "$sock"
"$VMM" --api-sock "$sock" --mmds-size-limit 20 </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
want 204 PUT /mmds '{"k": "0123456789ab"}' # 21 bytes
want 413 PUT /mmds '{"k": "0123456789abc"}' "doesn't fit"
want 200 GET /mmds "" '"0123456789ab"'

# --http-api-max-payload-size: Firecracker's flag; the store's limit follows it
restart() {
	kill -9 $vmm_pid 2>/dev/null
	wait $vmm_pid 2>/dev/null
	rm -f "$sock"
	"$VMM" --api-sock "$sock" "$@" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
	vmm_pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
}
restart --http-api-max-payload-size 60000
want 204 PUT /mmds "@$big"
want 200 GET /mmds "" '"k":"vvvv'
restart --http-api-max-payload-size 60000 --mmds-size-limit 51200
want 413 PUT /mmds "@$big" "doesn't fit"
restart --http-api-max-payload-size 21
want 204 PUT /mmds '{"k": "0123456789ab"}' # 21 bytes
want 400 PUT /mmds '{"k": "0123456789abc"}' 'size 22 is larger than the limit of 21 allowed'
finish
