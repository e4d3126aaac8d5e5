#!/usr/bin/env bash
# A device the VM started with, removed at run time (issue 52, docs/hotplug.md "Removing a boot
# device"), on the real VMM with a test guest that answers the PCI hotplug controller as an ACPI
# driver would (halt.elf, halt.pcihp=1: it releases every device it is asked to), and curl on
# --api-sock. The VM: a disk on virtio-mmio (mm), then on PCI the root disk (00:01.0), drive2
# (00:02.0), data3 (00:03.0), drive4 (00:04.0) and, when a tap can be made, a NIC net0
# (00:05.0), and a vsock and two pmem devices after them:
#   - refused with a 400 and nothing changed: the root disk, the virtio-mmio disk, an unknown
#     id; on a VM whose virtio-mem device sits after the disk and the vsock, both (it would
#     move);
#   - on a VM with a virtio-console, an rng and a balloon after a removed boot disk: their records pinned to
#     their slots (hotplug-slot=N) in the snapshot; the restore keeps them there (a new disk
#     goes into the hole, the next one past the balloon), the balloon answers its PATCH, a
#     second removal leaves their records as they are, and a migration keeps them too;
#   - drive2 removed by Firecracker's DELETE /drives/drive2 (204): GET /vm/config lists the
#     others under their ids; a disk added then goes into its slot (00:02.0) and is removed;
#     pmem0 removed with DELETE /pmem/pmem0;
#   - the VM paused and snapshotted: the state's configuration records data3 and drive4 (and
#     net0) with their ids and slots; the restore lists the same devices, keeps the hole (a new
#     disk goes into 00:02.0 again), and a remaining boot device (drive4) is removed there;
#     that VM migrated: the destination lists the same devices, its first free slot is the one
#     pmem0 left (the others keep theirs), and there drive4, net0 (Firecracker's DELETE
#     /network-interfaces/net0) and the vsock (recorded with its slot too, PUT
#     /vmm/vm.remove-device) are removed, pmem1 (recorded with its slot and window, gpa=) with DELETE
#     /pmem/pmem1, and a pmem device is added into the windows they left;
#   - on a guest that never releases a device (halt.irq=1), a boot disk's removal times out
#     with a 400 that says so, and the configuration stays as it was; a root pmem device is
#     refused; a boot shared folder (virtiofsd), kept under its tag when the disk before it
#     goes, then removed.
# labels: api
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_body_lib.sh"

kernel=$(guest_path halt) || exit 1
sock="$LIB_TMP/api.sock"
vmm_pid=""
tap=""
trap 'kill -9 $vmm_pid 2>/dev/null; [ -n "$tap" ] && ip link del "$tap" 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for f in mm root d2 d3 d4 new; do truncate -s 1M "$LIB_TMP/$f.img"; done
for f in p0 p1 p2; do truncate -s 2M "$LIB_TMP/$f.img"; done
RUN_LABEL="boot device removal"

# drives: GET /vm/config's drive ids, sorted, comma-separated
ids() {
	api GET /vm/config >/dev/null
	python3 -c 'import json,sys
c = json.load(open(sys.argv[1]))
print(",".join(sorted([d["drive_id"] for d in c.get("drives", [])] +
                      [n["iface_id"] for n in c.get("network-interfaces", [])])))' "$LIB_TMP/body"
}
wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
# migrate_vm NAME OUT ERR: a destination VMM (API $d/NAME.sock, stdout and stderr appended to and
# written in $LIB_TMP/OUT and ERR) waiting on $d/NAME.mig, the VM behind the current socket
# migrated there (migrate_to), the source ended and the destination's API up; vmm_pid its pid
migrate_vm() {
	local mig="$d/$1.mig" src_pid=$vmm_pid
	rm -f "$mig" "$d/$1.sock"
	"$VMM" --api-sock "$d/$1.sock" --migrate-from "unix:$mig" --landlock-rules "$d:rw" \
		</dev/null >>"$LIB_TMP/$2" 2>"$LIB_TMP/$3" &
	vmm_pid=$!
	wait_sock "$mig" || lib_fail "no migration socket: $(cat "$LIB_TMP/$3")"
	migrate_to "$mig"
	for _ in $(seq 300); do kill -0 "$src_pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$src_pid" 2>/dev/null && lib_fail "the source still runs" || lib_ok "the source ended"
	wait_sock "$d/$1.sock" || lib_fail "no API socket on the destination: $(cat "$LIB_TMP/$3")"
}
# migrate_to SOCKET: PUT /vmm/send-migration, 204 wanted; while the guest has not yet answered
# a hotplug event (its scan of a slot just added or emptied: a 400 saying so, by design), asked
# again, for up to 30 s (a loaded host delays the test guest's answer)
migrate_to() {
	local body='{"destination_url": "unix:'$1'"}' got
	for _ in $(seq 60); do
		got=$(api PUT /vmm/send-migration "$body")
		[ "$got" = 400 ] && grep -q "hotplug event is under way" "$LIB_TMP/body" || break
		sleep 0.5
	done
	[ "$got" = 204 ] && lib_ok "PUT /vmm/send-migration $body -> 204" ||
		lib_fail "PUT /vmm/send-migration $body -> $got (want 204): $(cat "$LIB_TMP/body")"
}
# wait_guest FILE: the guest runs (its console line), so the API takes run-time requests
wait_guest() {
	for _ in $(seq 300); do
		grep -qE "answering PCI hotplug|halting" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	lib_fail "the guest did not start: $(cat "$1")"
}

net=()
if ip tuntap add "vmmhb$$" mode tap user "$(id -u)" 2>/dev/null; then
	tap="vmmhb$$"
	net=(--net "tap=$tap")
else
	lib_ok "no tap could be made here: no boot NIC is removed"
fi

d="$LIB_TMP"
"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.pcihp=1 --mem 128M \
	--transport mmio --disk "$d/mm.img,id=mm" --transport pci --disk "$d/root.img,root" \
	--disk "$d/d2.img" --disk "$d/d3.img,id=data3" --disk "$d/d4.img" "${net[@]}" \
	--vsock "cid=3,uds=$d/v.sock" --pmem "path=$d/p0.img" --pmem "path=$d/p1.img" \
	--console stdio </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
wait_sock "$sock" || lib_fail "no API socket: $(cat "$LIB_TMP/err")"
wait_guest "$LIB_TMP/out"
all="data3,drive1,drive2,drive4,mm${tap:+,net0}"
[ "$(ids)" = "$all" ] && lib_ok "the boot devices: $all" || lib_fail "GET /vm/config: $(ids)"

# ---- refused, nothing changed ----
want 400 DELETE /drives/drive1 "" "drive1 is the root disk"
want 400 PUT /vmm/vm.remove-device '{"id": "mm"}' "virtio-mmio: only a virtio-pci device"
want 400 DELETE /drives/nope "" "no device has the id nope"
[ "$(ids)" = "$all" ] && lib_ok "nothing removed" || lib_fail "GET /vm/config: $(ids)"

# ---- a boot disk removed; its slot taken by a new disk, which goes again ----
want 204 DELETE /drives/drive2
# the guest prints its line after its B0EJ write, which already ended the request
for _ in $(seq 30); do grep -q "released 0x4" "$LIB_TMP/out" && break; sleep 0.1; done
grep -q "released 0x4" "$LIB_TMP/out" && lib_ok "the guest was asked to release 00:02.0" ||
	lib_fail "the guest saw no eject request of slot 2: $(cat "$LIB_TMP/out")"
left="data3,drive1,drive4,mm${tap:+,net0}"
[ "$(ids)" = "$left" ] && lib_ok "the others keep their ids: $left" || lib_fail "GET /vm/config: $(ids)"
want 400 DELETE /drives/drive2 "" "no device has the id drive2"
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/new.img'", "id": "new1"}' '"bdf": *"0000:00:02.0"'
want 204 PUT /vmm/vm.remove-device '{"id": "new1"}'
want 204 DELETE /pmem/pmem0 # a boot pmem device: its window goes with it
api GET /vm/config >/dev/null
grep -q '"id":"pmem0"' "$LIB_TMP/body" && lib_fail "GET /vm/config still lists pmem0" ||
	lib_ok "pmem0 removed"

# ---- a snapshot keeps the remaining devices' ids and slots ----
want 204 PATCH /vm '{"state": "Paused"}'
mkdir -p "$d/snap"
want 204 PUT /snapshot/create '{"snapshot_path": "'$d/snap/state'", "mem_file_path": "'$d/snap/memory'"}'
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null
vslot=$([ -n "$tap" ] && echo 6 || echo 5)
for rec in "d3.img,id=data3,hotplug-slot=3" "d4.img,id=drive4,hotplug-slot=4" \
	${tap:+"tap=$tap,id=net0,hotplug-slot=5"} "v.sock,id=vsock0,hotplug-slot=$vslot" \
	"p1.img,id=pmem1,hotplug-slot=$((vslot + 2)),gpa="; do
	grep -qF "$rec" "$d/snap/state" && lib_ok "the snapshot records $rec" ||
		lib_fail "the snapshot lacks $rec: $(strings "$d/snap/state" | grep -F '"options"' | head -c 600)"
done
grep -qF "d2.img" "$d/snap/state" && lib_fail "the snapshot still has drive2" ||
	lib_ok "the snapshot has no drive2"
rm -f "$sock"
over=()
[ -n "$tap" ] && over=(--net "tap=$tap,id=net0") # the restore's confirmation of a host tap
"$VMM" --api-sock "$sock" --restore "$d/snap" --landlock-rules "$d:rw" "${over[@]}" \
	</dev/null >>"$LIB_TMP/out" 2>"$LIB_TMP/err2" &
vmm_pid=$!
wait_sock "$sock" || lib_fail "no API socket after the restore: $(cat "$LIB_TMP/err2")"
for _ in $(seq 50); do [ "$(ids)" = "$left" ] && break; sleep 0.1; done # the restore done
[ "$(ids)" = "$left" ] && lib_ok "restored: the same devices, $left" ||
	lib_fail "restored: GET /vm/config: $(ids)"
want 204 PATCH /vm '{"state": "Resumed"}'
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/new.img'", "id": "new2"}' '"bdf": *"0000:00:02.0"'

# ---- that VM migrated: the destination replays the same records, the devices in their slots ----
migrate_vm dst out err6
sock="$d/dst.sock"
for _ in $(seq 50); do [ "$(ids)" = "data3,drive1,drive4,mm${tap:+,net0},new2" ] && break; sleep 0.1; done
[ "$(ids)" = "data3,drive1,drive4,mm${tap:+,net0},new2" ] && lib_ok "migrated: the same devices" ||
	lib_fail "migrated: GET /vm/config: $(ids)"
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/d2.img'", "id": "new3"}' '"bdf": *"0000:00:07.0|0000:00:06.0"'
want 204 PUT /vmm/vm.remove-device '{"id": "new3"}'
want 204 DELETE /drives/drive4
[ -n "$tap" ] && want 204 DELETE /network-interfaces/net0
want 200 GET /vm/config "" '"vsock_id":"vsock0"'
want 204 PUT /vmm/vm.remove-device '{"id": "vsock0"}'
api GET /vm/config >/dev/null
grep -q '"vsock_id"' "$LIB_TMP/body" && lib_fail "GET /vm/config still lists the vsock" ||
	lib_ok "the vsock removed after the restore"
want 200 GET /vm/config "" '"id":"pmem1"'
want 204 DELETE /pmem/pmem1
want 200 PUT /vmm/vm.add-pmem '{"file": "'$d/p2.img'", "id": "p2"}' '"bdf"'
[ "$(ids)" = "data3,drive1,mm,new2" ] && lib_ok "drive4${tap:+ and net0} removed after the restore" ||
	lib_fail "GET /vm/config: $(ids)"
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null

# ---- an rng and a balloon after it keep their slots (hotplug-slot=N), in a restore too ----
rm -f "$sock"
"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.pcihp=1 --mem 128M \
	--transport pci --disk "$d/root.img,root" --disk "$d/d2.img" --disk "$d/d3.img" \
	--disk "$d/d4.img" --rng --vsock "cid=4,uds=$d/w.sock" --balloon size=0 --console virtio \
	</dev/null >"$LIB_TMP/out3" 2>"$LIB_TMP/err3" &
vmm_pid=$! # root 00:01.0, drive1 .. drive3 00:02.0 .. 00:04.0, hvc0 00:05.0, rng 00:06.0,
# vsock 00:07.0, balloon 00:08.0
wait_sock "$sock" || lib_fail "no API socket: $(cat "$LIB_TMP/err3")"
wait_guest "$LIB_TMP/out3"
want 204 DELETE /drives/drive2 # the console, rng and balloon after it: kept in their slots
want 200 GET /vm/config "" '"entropy":\{'
want 200 GET /vm/config "" '"balloon":\{"amount_mib":0'
want 204 PATCH /vm '{"state": "Paused"}'
rm -rf "$d/snap2" && mkdir -p "$d/snap2"
want 204 PUT /snapshot/create '{"snapshot_path": "'$d/snap2/state'", "mem_file_path": "'$d/snap2/memory'"}'
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null
for rec in '["console","virtio,hotplug-slot=5"]' '["rng","hotplug-slot=6"]' \
	'["balloon","size=0,hotplug-slot=8"]' "d4.img,id=drive3,hotplug-slot=4" \
	"w.sock,id=vsock0,hotplug-slot=7"; do
	grep -qF -- "$rec" "$d/snap2/state" && lib_ok "the snapshot records $rec" ||
		lib_fail "the snapshot lacks $rec: $(strings "$d/snap2/state" | grep -F '"options"' | head -c 600)"
done
rm -f "$sock" "$d/w.sock"
"$VMM" --api-sock "$sock" --restore "$d/snap2" --landlock-rules "$d:rw" \
	</dev/null >>"$LIB_TMP/out3" 2>"$LIB_TMP/err8" &
vmm_pid=$!
wait_sock "$sock" || lib_fail "no API socket after the restore: $(cat "$LIB_TMP/err8")"
for _ in $(seq 50); do [ "$(ids)" = "drive0,drive1,drive3" ] && break; sleep 0.1; done # the restore done
[ "$(ids)" = "drive0,drive1,drive3" ] && lib_ok "restored: drive0, drive1, drive3" ||
	lib_fail "restored: GET /vm/config: $(ids)"
want 204 PATCH /vm '{"state": "Resumed"}'
want 204 PATCH /balloon '{"amount_mib": 1}' # the restored balloon is there and answers
want 200 GET /vm/config "" '"balloon":\{"amount_mib":1'
# the hole is the only free slot before 00:09.0: hvc0, the rng and the balloon kept theirs
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/new.img'", "id": "new4"}' '"bdf": *"0000:00:03.0"'
sleep 0.5 # the guest scans the new slot
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/d3.img'", "id": "new5"}' '"bdf": *"0000:00:09.0"'
sleep 0.5
want 204 PUT /vmm/vm.remove-device '{"id": "new5"}'
want 204 DELETE /drives/drive1 # a boot disk: the kept ones have their slots recorded already
grep -q "not recorded with its slot" "$LIB_TMP/err8" && lib_fail "a record not kept: $(cat "$LIB_TMP/err8")" ||
	lib_ok "every later device recorded with its slot"
[ "$(ids)" = "drive0,drive3,new4" ] && lib_ok "drive1 removed after the restore" || lib_fail "GET /vm/config: $(ids)"
want 400 PUT /vmm/vm.remove-device '{"id": "rng"}' "no device has the id rng"
# that VM migrated: the destination replays the pinned records, the kept devices in their slots
# (the free slots are the holes, 00:02.0 and 00:09.0)
migrate_vm dst2 out3 err9
SOCK="$d/dst2.sock"
for _ in $(seq 50); do [ "$(ids)" = "drive0,drive3,new4" ] && break; sleep 0.1; done
[ "$(ids)" = "drive0,drive3,new4" ] && lib_ok "migrated: the same devices" || lib_fail "migrated: GET /vm/config: $(ids)"
want 204 PATCH /balloon '{"amount_mib": 2}'
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/d2.img'", "id": "new6"}' '"bdf": *"0000:00:02.0"'
sleep 0.5
want 200 PUT /vmm/vm.add-disk '{"path": "'$d/d3.img'", "id": "new7"}' '"bdf": *"0000:00:09.0"'
SOCK=""
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null

# ---- a device after it that only the VM's start places (virtio-mem): it would move ----
rm -f "$sock" "$d/w.sock"
"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.pcihp=1 --mem 128M \
	--transport pci --disk "$d/root.img,root" --disk "$d/d2.img" --vsock "cid=4,uds=$d/w.sock" \
	--memory-hotplug total=256M --console stdio </dev/null >"$LIB_TMP/out3" 2>"$LIB_TMP/err3" &
vmm_pid=$! # root 00:01.0, drive1 00:02.0, vsock 00:03.0, virtio-mem 00:04.0
wait_sock "$sock" || lib_fail "no API socket: $(cat "$LIB_TMP/err3")"
wait_guest "$LIB_TMP/out3"
want 400 DELETE /drives/drive1 "" "00:04.0 after it.*would move"
want 400 PUT /vmm/vm.remove-device '{"id": "vsock0"}' "00:04.0 after it.*would move"
want 200 GET /vm/config "" '"drive_id":"drive1"'
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null

# ---- a guest that never answers (no ACPI driver): the request times out, the disk stays ----
rm -f "$sock"
"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.irq=1 --mem 128M \
	--transport pci --disk "$d/root.img,root" --disk "$d/d2.img" --disk "$d/d3.img" \
	--console stdio </dev/null >"$LIB_TMP/out4" 2>"$LIB_TMP/err4" &
vmm_pid=$!
wait_sock "$sock" || lib_fail "no API socket: $(cat "$LIB_TMP/err4")"
wait_guest "$LIB_TMP/out4"
want 400 PUT /vmm/vm.remove-device '{"id": "drive1", "timeout_ms": 300}' "did not release the device within 300 ms.*it stays"
[ "$(ids)" = "drive0,drive1,drive2" ] && lib_ok "the configuration unchanged" || lib_fail "GET /vm/config: $(ids)"
want 400 PUT /vmm/vm.remove-device '{"id": "drive2", "timeout_ms": 300}' "did not release"
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null

# ---- a root pmem device: refused, as Firecracker's root block or pmem device ----
rm -f "$sock"
"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.pcihp=1 --mem 128M \
	--transport pci --pmem "path=$d/p0.img,root" --console stdio </dev/null >"$LIB_TMP/out5" 2>"$LIB_TMP/err5" &
vmm_pid=$!
wait_sock "$sock" || lib_fail "no API socket: $(cat "$LIB_TMP/err5")"
wait_guest "$LIB_TMP/out5"
want 400 DELETE /pmem/pmem0 "" "pmem0 is the root device"
kill -9 "$vmm_pid" 2>/dev/null
wait "$vmm_pid" 2>/dev/null

# ---- a boot shared folder (virtiofsd, when installed): kept under its tag, then removed ----
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
if [ -x "$VIRTIOFSD" ]; then
	mkdir -p "$d/share"
	"$VIRTIOFSD" --socket-path="$d/fs.sock" -o source="$d/share" -o cache=none \
		>"$LIB_TMP/virtiofsd.log" 2>&1 &
	vfs_pid=$!
	wait_sock "$d/fs.sock" || lib_fail "virtiofsd made no socket: $(cat "$LIB_TMP/virtiofsd.log")"
	rm -f "$sock"
	"$VMM" --api-sock "$sock" --kernel "$kernel" --append halt.pcihp=1 --mem 128M --mem-shared \
		--transport pci --disk "$d/root.img,root" --disk "$d/d2.img" \
		--fs "tag=share,socket=$d/fs.sock" --console stdio </dev/null >"$LIB_TMP/out7" 2>"$LIB_TMP/err7" &
	vmm_pid=$!
	wait_sock "$sock" || lib_fail "no API socket: $(cat "$LIB_TMP/err7")"
	wait_guest "$LIB_TMP/out7"
	want 204 DELETE /drives/drive1
	want 200 GET /vm/config "" '"fs":\[\{"id":"share","tag":"share"'
	want 204 PUT /vmm/vm.remove-device '{"id": "share"}'
	want 200 GET /vm/config "" '"fs":\[\]'
	kill -9 "$vmm_pid" "$vfs_pid" 2>/dev/null
	wait "$vmm_pid" "$vfs_pid" 2>/dev/null
else
	lib_ok "no virtiofsd here ($VIRTIOFSD): a boot shared folder's removal is not checked"
fi
finish
