#!/usr/bin/env bash
# A shared folder and a Firecracker-style disk hot-added to the default Linux guest (docs/hotplug.md),
# one boot (root disk on virtio-pci, guest RAM in a memfd: --mem-shared, which virtiofsd maps):
#   1. PUT /vmm/vm.add-fs (vmmctl add-fs) of virtiofsd's socket answers 200 with its PciDeviceInfo;
#      the same id again, the same tag again, the same socket for another tag: 400, nothing added; the guest's acpiphp scans the
#      slot, the guest mounts the tag (mount -t virtiofs) and reads a file the host wrote (the
#      same md5);
#   2. a snapshot of the paused VM is refused (400: virtio-fs's queues live in the back-end, as
#      for a boot --fs), and the VM resumes and runs on;
#   3. Firecracker's hot-add: PUT /drives/{id} after InstanceStart answers 204, the guest gets
#      /sys/block/vdb (its size the file's); DELETE /drives/{id} answers 204 once the guest
#      released it, and /sys/block/vdb goes;
#   4. the guest unmounts the share and PUT /vmm/vm.remove-device takes it away (204); GET
#      /vm/config lists it before and not after;
#   5. a vhost-user disk (qemu-storage-daemon's vhost-user-blk export): PUT /vmm/vm.add-disk
#      with "vhost_user": true answers 200 (its socket again: 400), the guest reads the host's
#      marker from /dev/vdb and writes one the host finds in the file, a snapshot is refused
#      (its queues live in the back-end), the remove answers 204 and /dev/vdb goes, and the
#      same socket is added again (the back-end was let go) by Firecracker's PUT /drives/{id}
#      with "socket" (204; the guest reads its write back) and removed by its DELETE (204);
#   6. a vhost-user NIC (dpdk-testpmd looping its port, macswap) while testpmd runs: PUT
#      /vmm/vm.add-net with "vhost_user": true and a mac answers 200, the guest's eth0 has that
#      MAC, the frames it sends come back (rx_packets grows), the remove answers 204 and eth0
#      goes.
# Without ACPI PCI hotplug in the guest kernel the guest never sees the slots: exit 77.
# labels: slow linux api vhost_user
# requires: kvm root
# timeout: 900
# resource: linux:2
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
QSD=${QSD:-qemu-storage-daemon}
TESTPMD=${TESTPMD:-dpdk-testpmd}
[ -x "$VIRTIOFSD" ] || skip "no vhost-user back-end" "$VIRTIOFSD not installed (qemu-system-common)"
API_TIMEOUT=120

sock="$tmp/api.sock"
share="$tmp/share"
fs_sock="$tmp/fs.sock"
vu_img="$tmp/vu.img"
vu_sock="$tmp/vu.sock"
vmm_pid=""
fsd_pid=""
qsd_pid=""
tp_pid=""
sleeper=""
trap 'kill $sleeper $fsd_pid $qsd_pid $tp_pid 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp" "/var/run/dpdk/vu-hp-$$"' EXIT
mkdir -p "$share"
head -c 200000 /dev/urandom >"$share/from-host.bin"
"$VIRTIOFSD" --socket-path="$fs_sock" -o source="$share" -o cache=none >"$tmp/virtiofsd.log" 2>&1 &
fsd_pid=$!
for _ in $(seq 50); do [ -S "$fs_sock" ] && break; sleep 0.1; done
if command -v "$QSD" >/dev/null; then
	truncate -s 16M "$vu_img"
	printf VUHOST42 | dd of="$vu_img" conv=notrunc 2>/dev/null
	"$QSD" --blockdev driver=file,node-name=vu,filename="$vu_img" \
		--export type=vhost-user-blk,id=vu0,node-name=vu,addr.type=unix,addr.path="$vu_sock",writable=on \
		>"$tmp/qsd.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 50); do [ -S "$vu_sock" ] && break; sleep 0.1; done
fi

cp --sparse=always "$DISK" "$tmp/root.ext4"
truncate -s 8M "$tmp/fc.img"
mkfifo "$tmp/in"
sleep 600 >"$tmp/in" &
sleeper=$!
"$VMM" --landlock-rules "$tmp:rw" --api-sock "$sock" --kernel "$VMLINUX" --mem 256M --mem-shared \
	--console stdio --transport pci --disk "$tmp/root.ext4,ro,root" \
	--append "$CMDLINE rootfstype=ext4 vmmguest.shell=1 vmmguest.dhcp=0" \
	<"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
if ! wait_for "VMM-GUEST-SHELL: starting" 800; then
	echo "FAIL: no shell"
	fail=1
	linux_finish
fi

ctl() { OUT=$("$VMMCTL" --sock "$sock" "$@" 2>&1); CTL_STATUS=$?; }
devices() { api GET /vmm/devices >/dev/null && python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/body"; }
guest_value() { # guest_value TAG COMMAND: runs COMMAND in the guest, prints its output
	type_cmd "echo $1-\$($2)-"
	wait_for "^$1-[^-]*-" "${GUEST_VALUE_SECONDS:-180}"
	sed -n "s/^$1-\([^-]*\)-.*/\1/p" "$tmp/log" | tail -1
}
refused() { # refused WHAT REGEX METHOD PATH BODY: a 400 whose message matches REGEX
	local got
	got=$(api "$3" "$4" "$5")
	if [ "$got" = 400 ] && grep -qE -- "$2" "$tmp/body"; then echo "ok: $1: 400 $(cat "$tmp/body")"; else
		echo "FAIL: $1: $got $(cat "$tmp/body") (want 400 matching /$2/)"
		fail=1
	fi
}
check_value() { # WHAT GOT WANT-REGEX (a VMM that died ends the test)
	if grep -qE -- "$3" <<<"$2"; then echo "ok: $1: $2"; else echo "FAIL: $1: '$2' (want /$3/)"; fail=1; fi
	kill -0 "$vmm_pid" 2>/dev/null || { echo "FAIL: the VMM died"; fail=1; linux_finish; }
}
fs_listed() { # prints yes when GET /vm/config's "fs" lists id $1
	api GET /vm/config >/dev/null
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("yes" if any(x.get("id") == sys.argv[2] for x in d.get("fs") or []) else "no")' "$tmp/body" "$1"
}

slots=$(guest_value SLOTS 'n=0; for s in /sys/bus/pci/slots/*; do [ -e "$s" ] && n=$((n + 1)); done; echo $n')
[ "${slots:-0}" = 0 ] && skip "no ACPI PCI hotplug in the guest" \
	"/sys/bus/pci/slots is empty (CONFIG_HOTPLUG_PCI_ACPI)"

# ---- 1. the shared folder ----
n0=$(devices)
ctl add-fs hpshare "$fs_sock" --id fs0
if [ "$CTL_STATUS" = 0 ] && grep -q '"bdf"' <<<"$OUT" && grep -q '"id": *"fs0"' <<<"$OUT"; then
	echo "ok: vmmctl add-fs: $(tr -d '\n ' <<<"$OUT")"
else
	echo "FAIL: vmmctl add-fs: status $CTL_STATUS: $OUT"
	fail=1
fi
refused "the same id again" 'another device' PUT /vmm/vm.add-fs "{\"tag\": \"t2\", \"socket\": \"$fs_sock\", \"id\": \"fs0\"}"
refused "the same tag again" 'tag hpshare' PUT /vmm/vm.add-fs "{\"tag\": \"hpshare\", \"socket\": \"$fs_sock\"}"
refused "its socket for a second share" 'already uses it' PUT /vmm/vm.add-fs "{\"tag\": \"t3\", \"socket\": \"$fs_sock\"}"
[ "$(devices)" = $((n0 + 1)) ] && echo "ok: one device added ($n0 -> $((n0 + 1)))" ||
	{ echo "FAIL: /vmm/devices: $n0 -> $(devices)"; fail=1; }
[ "$(fs_listed fs0)" = yes ] && echo "ok: GET /vm/config lists fs0" || { echo "FAIL: GET /vm/config: $(cat "$tmp/body")"; fail=1; }
check_value "the guest mounts the hot-added tag" "$(guest_value MNT 'for i in $(seq 60); do mkdir -p /mnt && mount -t virtiofs hpshare /mnt 2>/dev/null && break; sleep 1; done; n=0; while read a b c r; do [ "$c" = virtiofs ] && n=$((n + 1)); done </proc/mounts; echo $n')" '^1$'
want_md5=$(md5sum "$share/from-host.bin" | cut -d' ' -f1)
# the root is read-only: /dev (devtmpfs) holds the guest's scratch files
check_value "the guest reads the host's file" "$(guest_value MD5 'md5sum /mnt/from-host.bin >/dev/md5; read h x </dev/md5; echo $h')" "^$want_md5\$"

# ---- 2. a snapshot is refused, as with a boot --fs ----
want 204 PATCH /vm '{"state": "Paused"}'
refused "a snapshot with virtio-fs" 'virtio-fs|snapshot' PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$tmp/st\", \"mem_file_path\": \"$tmp/mem\"}"
want 204 PATCH /vm '{"state": "Resumed"}'

# ---- 3. Firecracker's hot-add and hot-unplug of a drive ----
want 204 PUT /drives/fcd1 "{\"drive_id\": \"fcd1\", \"path_on_host\": \"$tmp/fc.img\", \"is_root_device\": false, \"is_read_only\": false}"
check_value "the drive is /sys/block/vdb" "$(guest_value VDB 'for i in $(seq 60); do [ -e /sys/block/vdb ] && break; sleep 1; done; cat /sys/block/vdb/size')" '^16384$'
want 204 DELETE /drives/fcd1
check_value "/sys/block/vdb went" "$(guest_value GONE 'for i in $(seq 30); do [ -e /sys/block/vdb ] || break; sleep 1; done; [ -e /sys/block/vdb ] && echo still || echo gone')" '^gone$'
refused "DELETE of the removed drive" 'no device' DELETE /drives/fcd1 ""

# ---- 4. the shared folder removed ----
check_value "unmount" "$(guest_value UMNT 'umount /mnt && echo done')" '^done$'
ctl remove-device fs0
[ "$CTL_STATUS" = 0 ] && echo "ok: vmmctl remove-device fs0" || { echo "FAIL: remove-device fs0: $OUT"; fail=1; }
[ "$(fs_listed fs0)" = no ] && echo "ok: GET /vm/config no longer lists fs0" || { echo "FAIL: still listed"; fail=1; }
[ "$(devices)" = "$n0" ] && echo "ok: back to $n0 devices" || { echo "FAIL: /vmm/devices: $(devices), want $n0"; fail=1; }

# ---- 5. a vhost-user disk hot-added (its handshake on the hotplug thread, as add-fs's) ----
drive_listed() { # prints yes when GET /vm/config's "drives" lists drive_id $1
	api GET /vm/config >/dev/null
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("yes" if any(x.get("drive_id") == sys.argv[2] for x in d.get("drives") or []) else "no")' "$tmp/body" "$1"
}
vu_body="{\"vhost_user\": true, \"vhost_socket\": \"$vu_sock\", \"id\": \"vu0\"}"
if [ -z "$qsd_pid" ]; then
	echo "note: $QSD not installed: no vhost-user disk hot-added"
else
	want 200 PUT /vmm/vm.add-disk "$vu_body"
	grep -q '"bdf"' "$tmp/body" && echo "ok: PciDeviceInfo $(cat "$tmp/body")" || { echo "FAIL: $(cat "$tmp/body")"; fail=1; }
	refused "its socket again" 'already uses it' PUT /vmm/vm.add-disk "{\"vhost_user\": true, \"vhost_socket\": \"$vu_sock\"}"
	[ "$(drive_listed vu0)" = yes ] && echo "ok: GET /vm/config lists vu0" || { echo "FAIL: GET /vm/config: $(cat "$tmp/body")"; fail=1; }
	check_value "the guest reads the host's marker from the vhost-user disk" "$(guest_value VUR 'for i in $(seq 60); do [ -e /dev/vdb ] && break; sleep 1; done; head -c 8 /dev/vdb')" '^VUHOST42$'
	check_value "the guest writes to it" "$(guest_value VUW 'printf VUGUEST7 >/dev/vw; dd if=/dev/vw of=/dev/vdb bs=512 seek=8 conv=fsync 2>/dev/null && echo done')" '^done$'
	got=$(dd if="$vu_img" bs=512 skip=8 count=1 2>/dev/null | head -c 8)
	[ "$got" = VUGUEST7 ] && echo "ok: the file holds the guest's write" || { echo "FAIL: the file has '$got' at 4 KiB"; fail=1; }
	want 204 PATCH /vm '{"state": "Paused"}'
	refused "a snapshot with a vhost-user disk" 'vhost-user|snapshot' PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$tmp/st\", \"mem_file_path\": \"$tmp/mem\"}"
	want 204 PATCH /vm '{"state": "Resumed"}'
	want 204 PUT /vmm/vm.remove-device '{"id": "vu0"}'
	check_value "/dev/vdb went" "$(guest_value VUGONE 'for i in $(seq 30); do [ -e /sys/block/vdb ] || break; sleep 1; done; [ -e /sys/block/vdb ] && echo still || echo gone')" '^gone$'
	[ "$(drive_listed vu0)" = no ] && echo "ok: GET /vm/config no longer lists vu0" || { echo "FAIL: vu0 still listed"; fail=1; }
	# the back-end was let go: the same socket serves a new device, added this time by
	# Firecracker's route (a drive with "socket" after InstanceStart) and removed by its DELETE
	want 204 PUT /drives/vu1 "{\"drive_id\": \"vu1\", \"socket\": \"$vu_sock\", \"is_root_device\": false}"
	check_value "the re-added vhost-user disk reads the guest's write" "$(guest_value VUR2 'for i in $(seq 60); do [ -e /dev/vdb ] && break; sleep 1; done; dd if=/dev/vdb bs=512 skip=8 count=1 2>/dev/null | head -c 8')" '^VUGUEST7$'
	want 204 DELETE /drives/vu1
	[ "$(devices)" = "$n0" ] && echo "ok: back to $n0 devices" || { echo "FAIL: /vmm/devices: $(devices), want $n0"; fail=1; }
fi

# ---- 6. a vhost-user NIC hot-added (testpmd runs only for this step: it spins a CPU) ----
net_sock="$tmp/net.sock"
if ! command -v "$TESTPMD" >/dev/null; then
	echo "note: $TESTPMD not installed: no vhost-user NIC hot-added"
else
	cpu=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	"$TESTPMD" --lcores "0@$cpu,1@$cpu" --no-huge -m 256 --no-pci --file-prefix="vu-hp-$$" \
		--vdev "net_vhost0,iface=$net_sock,queues=1" -- --port-topology=loop \
		--forward-mode=macswap --nb-cores=1 --total-num-mbufs=4096 --stats-period=60 \
		>"$tmp/testpmd.log" 2>&1 &
	tp_pid=$!
	for _ in $(seq 100); do [ -S "$net_sock" ] && break; sleep 0.1; done
	want 200 PUT /vmm/vm.add-net "{\"vhost_user\": true, \"vhost_socket\": \"$net_sock\", \"mac\": \"02:00:00:00:00:44\", \"id\": \"vn0\"}"
	check_value "the guest's eth0 has the MAC given" "$(guest_value VNMAC 'for i in $(seq 60); do [ -e /sys/class/net/eth0 ] && break; sleep 1; done; cat /sys/class/net/eth0/address')" '^02:00:00:00:00:44$'
	# udhcpc's discovers come back, addresses swapped (linux_vhost_user_net.sh's check)
	check_value "frames the guest sent came back" "$(guest_value VNRX 'ip link set eth0 up; sleep 1; a=$(cat /sys/class/net/eth0/statistics/rx_packets); udhcpc -i eth0 -n -q -t 2 -T 1 -s /bin/true >/dev/null 2>&1; b=$(cat /sys/class/net/eth0/statistics/rx_packets); echo $((b - a))')" '^[1-9]'
	want 204 PUT /vmm/vm.remove-device '{"id": "vn0"}'
	check_value "eth0 went" "$(guest_value VNGONE 'for i in $(seq 30); do [ -e /sys/class/net/eth0 ] || break; sleep 1; done; [ -e /sys/class/net/eth0 ] && echo still || echo gone')" '^gone$'
	kill "$tp_pid" 2>/dev/null
	wait "$tp_pid" 2>/dev/null
	tp_pid=""
	[ "$(devices)" = "$n0" ] && echo "ok: back to $n0 devices" || { echo "FAIL: /vmm/devices: $(devices), want $n0"; fail=1; }
fi
kill -0 "$vmm_pid" 2>/dev/null && echo "ok: the VMM runs on" || { echo "FAIL: the VMM died"; fail=1; }
linux_finish
