#!/usr/bin/env bash
# Issue 52's hotplug routes on the real VMM, no Linux guest needed (docs/hotplug.md,
# docs/api.md): a test guest that halts with interrupts on (halt.elf, halt.irq=1: it runs until
# killed, answering nothing) on a PCI bus with ACPI, so the VMM has hotplug slots, and curl on
# --api-sock:
#   - Firecracker's hot-add: PUT /drives/{id} and /pmem/{id} after InstanceStart answer 204
#     and the device is there (GET /vm/config, GET /vmm/devices); a second PUT with that id, a
#     root drive, a drive whose file is in use, PUT /vsock after the start: 400, nothing added;
#   - Firecracker's hot-unplug: DELETE of an unknown id, of the root drive, a DELETE with a body:
#     400; DELETE of the hot-added pmem device: the guest never answers (no ACPI driver), so
#     after the default 10 s a 400 that says so, and the device stays;
#   - PUT /vmm/vm.add-fs: a missing socket, a path that is no socket, a Unix socket without a
#     vhost-user back-end behind it (it hangs up), an id another device has: 400 with the
#     reason, nothing added (GET /vmm/devices counts the same);
#   - a NIC hot-added (PUT /vmm/vm.add-net, and Firecracker's PUT /network-interfaces/{id}) on a
#     tap, when one can be made: PATCH /network-interfaces/{id} "egress" takes rules (GET
#     /vm/config shows them), refuses a bad rule, and null removes the policy;
#   - PUT /vmm/vm.add-disk and vm.add-net with "vhost_user": true, and Firecracker's PUT
#     /drives/{id} with "socket" after the start: the same refusals of the socket (missing,
#     not a socket, no back-end behind it), a body with a tap, a path or a rate limiter, a file
#     path that reads as a socket, and on a VMM started without --mem-shared "guest RAM is
#     private" (a 400 naming --mem-shared);
#   - a VMM on virtio-mmio (no PCI bus): PUT /drives/{id} after the start is 400 "PCI is not
#     enabled"; a VMM not started yet: DELETE /drives/{id} is 400 (before starting).
# (A boot device's removal: api_hotplug_boot.sh.)
# labels: api
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_body_lib.sh"

kernel=$(guest_path halt) || exit 1
sock="$LIB_TMP/api.sock"
vmm_pid=""
other=""
hangup=""
trap 'kill -9 $vmm_pid $other $hangup 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
truncate -s 1M "$LIB_TMP/root.img" "$LIB_TMP/root2.img" "$LIB_TMP/d1.img"
truncate -s 2M "$LIB_TMP/p1.img"
RUN_LABEL="hotplug routes"

devices() {
	api GET /vmm/devices >/dev/null
	python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$LIB_TMP/body"
}
wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.irq=1 --mem 128M --mem-shared \
	--transport pci --disk "$LIB_TMP/root.img",root --console stdio </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
wait_sock "$sock" || lib_fail "no API socket"

# ---- Firecracker's PUT after InstanceStart: a hot-add ----
n0=$(devices)
drive='"path_on_host": "'$LIB_TMP/d1.img'", "is_root_device": false, "is_read_only": false'
want 204 PUT /drives/fcd1 "{\"drive_id\": \"fcd1\", $drive}"
[ "$(devices)" = $((n0 + 1)) ] && lib_ok "GET /vmm/devices has one device more" ||
	lib_fail "GET /vmm/devices: $(devices) devices, want $((n0 + 1))"
want 200 GET /vm/config "" '"drive_id":"fcd1"'
want 400 PUT /drives/fcd1 "{\"drive_id\": \"fcd1\", $drive}" "another device has it|in use"
want 400 PUT /drives/r1 '{"drive_id": "r1", "path_on_host": "'$LIB_TMP/d1.img'", "is_root_device": true, "is_read_only": false}' "root"
want 400 PUT /drives/fcd2 "{\"drive_id\": \"fcd2\", $drive}" "in use"
want 400 PUT /vsock '{"guest_cid": 3, "uds_path": "'$LIB_TMP'/v.sock"}' "not supported after starting"
want 204 PUT /pmem/pm1 '{"id": "pm1", "path_on_host": "'$LIB_TMP/p1.img'", "root_device": false}'
[ "$(devices)" = $((n0 + 2)) ] && lib_ok "nothing half-added: two devices more" ||
	lib_fail "GET /vmm/devices: $(devices) devices, want $((n0 + 2))"

# ---- Firecracker's DELETE: a hot-unplug ----
want 400 DELETE /drives/nope "" "no device has the id nope"
want 400 DELETE /drives/drive0 "" "is the root disk"
want 400 DELETE /drives/fcd1 '{}' "Empty Delete request"
want 400 DELETE /vsock "" "Invalid request method"
start=$(date +%s)
want 400 DELETE /pmem/pm1 "" "release|answer|timed out|did not"
echo "(the guest without ACPI did not answer: $(($(date +%s) - start)) s)"
want 200 GET /vm/config "" '"id":"pm1"'

# ---- PUT /vmm/vm.add-fs: bad input ----
n1=$(devices)
want 400 PUT /vmm/vm.add-fs '{"tag": "t1", "socket": "'$LIB_TMP'/missing.sock"}' "No such file"
want 400 PUT /vmm/vm.add-fs '{"tag": "t1", "socket": "'$LIB_TMP/d1.img'"}' "not a socket"
python3 - "$LIB_TMP/hangup.sock" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    c.close()  # no vhost-user back-end: the VMM's handshake sees the hang-up
EOF
hangup=$!
wait_sock "$LIB_TMP/hangup.sock"
want 400 PUT /vmm/vm.add-fs '{"tag": "t1", "socket": "'$LIB_TMP'/hangup.sock"}' "vhost-user|back-end|closed|reset"
want 400 PUT /vmm/vm.add-fs '{"tag": "t1", "socket": "'$LIB_TMP'/hangup.sock", "id": "fcd1"}' "another device has it"
want 400 PUT /vmm/vm.add-fs '{"tag": "t1", "socket": "/s", "queue_size": 1000}' "queue_size"
# vhost-user disks and NICs (add-disk / add-net "vhost_user": true): the same handshake path
want 400 PUT /vmm/vm.add-disk '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/missing.sock"}' "No such file"
want 400 PUT /vmm/vm.add-disk '{"vhost_user": true, "vhost_socket": "'$LIB_TMP/d1.img'"}' "not a socket"
want 400 PUT /vmm/vm.add-disk '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock"}' "vhost-user|back-end|closed|reset"
want 400 PUT /vmm/vm.add-net '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock"}' "vhost-user|back-end|closed|reset"
want 400 PUT /vmm/vm.add-disk '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock", "path": "/d"}' "path"
want 400 PUT /vmm/vm.add-net '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock", "tap": "t0"}' "tap"
want 400 PUT /vmm/vm.add-net '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock", "id": "fcd1"}' "another device has it"
# Firecracker's vhost-user drive after the start ("socket"): the same path and refusals
want 400 PUT /drives/fcv1 '{"drive_id": "fcv1", "socket": "'$LIB_TMP'/missing.sock", "is_root_device": false}' "No such file|missing"
want 400 PUT /drives/fcv1 '{"drive_id": "fcv1", "socket": "'$LIB_TMP'/hangup.sock", "is_root_device": false}' "vhost-user|back-end|closed|reset"
want 400 PUT /drives/fcv1 '{"drive_id": "fcv1", "socket": "'$LIB_TMP'/hangup.sock", "is_root_device": false, "rate_limiter": {}}' "rate_limiter"
want 400 PUT /drives/fcv1 '{"drive_id": "fcv1", "path_on_host": "vhost-user='$LIB_TMP'/hangup.sock", "is_root_device": false}' "vhost-user"
[ "$(devices)" = "$n1" ] && lib_ok "no add-fs, vhost-user add-disk or add-net left a device behind" ||
	lib_fail "GET /vmm/devices: $(devices) devices, want $n1"
kill -0 "$vmm_pid" 2>/dev/null && lib_ok "the VMM runs on" || lib_fail "the VMM died"

# ---- a hot-added NIC's egress policy, PATCHed (issue 53) ----
# nic_egress ID: PATCH /network-interfaces/ID "egress": rules, a bad rule, null (no policy)
nic_egress() {
	want 204 PATCH "/network-interfaces/$1" '{"iface_id": "'$1'", "egress": ["10.1.2.3/8:tcp:443"]}'
	want 200 GET /vm/config "" '"iface_id":"'$1'"[^}]*"egress":\["10.0.0.0/8:tcp:443"\]'
	want 400 PATCH "/network-interfaces/$1" '{"iface_id": "'$1'", "egress": ["10.0.0.0/33"]}' 'egress\[0\]'
	want 204 PATCH "/network-interfaces/$1" '{"iface_id": "'$1'", "egress": null}'
	api GET /vm/config >/dev/null
	python3 -c 'import json,sys; n=[x for x in json.load(open(sys.argv[1]))["network-interfaces"] if x["iface_id"] == sys.argv[2]]
sys.exit(0 if n and "egress" not in n[0] else 1)' "$LIB_TMP/body" "$1" &&
		lib_ok "$1: null removed the policy" || lib_fail "$1 after null: $(cat "$LIB_TMP/body")"
}
taps=""
del_taps() { for t in $taps; do ip link del "$t" 2>/dev/null; done; }
if ip tuntap add "vmmhr$$" mode tap user "$(id -u)" 2>/dev/null &&
	ip tuntap add "vmmhf$$" mode tap user "$(id -u)" 2>/dev/null; then
	taps="vmmhr$$ vmmhf$$"
	trap 'kill -9 $vmm_pid $other $hangup 2>/dev/null; del_taps; rm -rf "$LIB_TMP"' EXIT
	want 200 PUT /vmm/vm.add-net '{"tap": "vmmhr'$$'", "id": "hpn0"}' '"id": *"hpn0"'
	nic_egress hpn0
	want 204 PUT /network-interfaces/fcn0 '{"iface_id": "fcn0", "host_dev_name": "vmmhf'$$'"}'
	nic_egress fcn0
else
	ip link del "vmmhr$$" 2>/dev/null
	lib_ok "no tap could be made here: a hot-added NIC's egress is not checked"
fi

# ---- no PCI bus: Firecracker's condition (--enable-pci) ----
"$VMM" --api-sock "$LIB_TMP/mmio.sock" --kernel "$kernel" --append halt.irq=1 --mem 128M \
	--transport mmio \
	--disk "$LIB_TMP/root2.img" --console stdio </dev/null >/dev/null 2>"$LIB_TMP/err2" &
other=$!
wait_sock "$LIB_TMP/mmio.sock"
SOCK="$LIB_TMP/mmio.sock" want 400 PUT /drives/x '{"drive_id": "x", "path_on_host": "'$LIB_TMP/p1.img'", "is_root_device": false, "is_read_only": true}' "PCI is not enabled"
kill -9 "$other" 2>/dev/null
wait "$other" 2>/dev/null

# ---- guest RAM not shared (no --mem-shared): no vhost-user device can be added ----
"$VMM" --api-sock "$LIB_TMP/priv.sock" --kernel "$kernel" --append halt.irq=1 --mem 128M \
	--transport pci --disk "$LIB_TMP/root2.img" --console stdio </dev/null >/dev/null 2>"$LIB_TMP/err3" &
other=$!
wait_sock "$LIB_TMP/priv.sock"
SOCK="$LIB_TMP/priv.sock" want 400 PUT /vmm/vm.add-disk '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock"}' "mem-shared"
SOCK="$LIB_TMP/priv.sock" want 400 PUT /vmm/vm.add-net '{"vhost_user": true, "vhost_socket": "'$LIB_TMP'/hangup.sock"}' "mem-shared"
SOCK="$LIB_TMP/priv.sock" want 400 PUT /drives/fcv2 '{"drive_id": "fcv2", "socket": "'$LIB_TMP'/hangup.sock", "is_root_device": false}' "mem-shared"
kill -9 "$other" 2>/dev/null
wait "$other" 2>/dev/null

# ---- not started ----
"$VMM" --api-sock "$LIB_TMP/cold.sock" </dev/null >/dev/null 2>&1 &
other=$!
wait_sock "$LIB_TMP/cold.sock"
SOCK="$LIB_TMP/cold.sock" want 400 DELETE /drives/x "" "before starting"
kill -9 "$other" 2>/dev/null
wait "$other" 2>/dev/null
kill "$hangup" 2>/dev/null
wait "$hangup" 2>/dev/null
finish
