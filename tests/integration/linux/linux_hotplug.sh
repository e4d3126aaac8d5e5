#!/usr/bin/env bash
# PCI hotplug (docs/hotplug.md) on the default Linux guest (initramfs, shell on COM1, a PCI
# bus: its root disk over virtio-pci), driven over --api-sock with vmmctl:
#   0. a disk the VM started with (drive1, /dev/vdb at 00:02.0, beside the root disk) removed
#      (vmmctl remove-device drive1: the guest is asked to release it as a hot-added one; 204
#      once it did): /dev/vdb goes, GET /vm/config no longer lists it, and the disk part 1 adds
#      goes into its slot (00:02.0) and is the guest's /dev/vdb (part 2);
#   1. the VMM's side, on any guest: PUT /vmm/vm.add-disk answers 200 with Cloud Hypervisor's
#      PciDeviceInfo ({"id", "bdf"}); a second add with the same id, an add with an id a boot
#      device has, a remove of the root disk, of an unknown id, a body with an
#      unknown field or a bad num_queues, and any add or remove of a paused VM are 400s with a
#      message saying why, and nothing is added (GET /vmm/devices counts the devices);
#   2. then, when the guest kernel has ACPI PCI hotplug (/sys/bus/pci/slots has the slots):
#      the added disk appears as /dev/vdb, is mounted (ext4, made on the host) and written, unmounted, removed
#      (PUT /vmm/vm.remove-device: 204 once the guest's _EJ0 released it; /dev/vdb goes), added
#      again and read back;
#   2b. a vsock added (PUT /vmm/vm.add-vsock, vmmctl add-vsock): a reserved CID, a socket in a
#      missing directory, a second vsock and its id taken by another add are 400s; GET
#      /vm/config lists it; the guest's vmw_vsock_virtio_transport binds it and its vsock-echo
#      sends 4096 bytes to the host's socket PATH_1234, which checks them; a pmem device added
#      (PUT /vmm/vm.add-pmem, vmmctl add-pmem) after refusals (a file not a multiple of 2 MiB, a
#      missing file, a size that is not the file's, a taken id): the guest reads the file's
#      marker from /dev/pmem0 and writes a block the host then finds in the file; its FLUSH
#      limits PATCHed (PATCH /pmem/{id});
#   3. GET /vm/config lists the disk, its rate limits PATCHed, a marker written on it, a Full
#      snapshot (its configuration has the disk's hotplug-slot= and limits, the pmem device's
#      hotplug-slot= and gpa=, the vsock's hotplug-slot=), the VMM killed and `vmm --restore DIR`
#      run: GET /vm/config lists it, the restored guest mounts /dev/vdb and reads the marker,
#      reads /dev/pmem0 and still has the vsock bound, the disk's limits PATCHed again;
#   3b. a NIC added on a tap (when one can be made, owned by the VMM's user, the host's address
#      on it): it appears as eth0, and the host pings the guest through it;
#   4. that VM migrated (PUT /vmm/send-migration to `vmm --migrate-from unix:M`): GET
#      /vm/config on the destination lists the disk (and the NIC), its guest reads the marker
#      and /dev/pmem0 (and the host pings it through the migrated NIC: its tap handed over);
#      the vsock removed there (its driver lets it go, its socket file goes, GET /vm/config no
#      longer lists it), the pmem device removed (/dev/pmem0 goes) and added again (its window
#      and KVM slot were given back), the disk removed (/dev/vdb goes) and GET /vm/config no
#      longer lists it.
# (Linux ejects a device it is asked to, mounted or not: the timeout of a guest that does not
# answer is the state machine's unit test and part 1's.)
# Without ACPI in the guest kernel (the default guest's kernel.config had none before issue 52's
# companion change) part 2 cannot run: the guest never sees the slots. Then part 1 must pass, a
# remove is a timeout whose message names the missing CONFIG_HOTPLUG_PCI_ACPI, and the test
# exits 77 saying so.
# labels: slow linux api
# requires: kvm
# timeout: 900
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
API_TIMEOUT=120

sock="$tmp/api.sock"
vmm_pid=""
sleeper=""
trap 'kill $sleeper 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

cp --sparse=always "$DISK" "$tmp/root.ext4"
truncate -s 16M "$tmp/hp.img"
truncate -s 8M "$tmp/boot1.img" # drive1: a boot disk part 0 removes
mkfs.ext4 -q -F "$tmp/hp.img" # the guest mounts it (its busybox has no mkfs.ext4)
rm -f "$sock"
mkfifo "$tmp/in"
sleep 900 >"$tmp/in" &
sleeper=$!
"$VMM" --landlock-rules "$tmp:rw" --api-sock "$sock" --kernel "$VMLINUX" --mem 256M \
	--console stdio --transport pci --disk "$tmp/root.ext4,ro,root" --disk "$tmp/boot1.img" \
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
	wait_for "^$1-[^-]*-" "${GUEST_VALUE_SECONDS:-120}"
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

# shell built-ins, no pipeline (docs/testing.md: busybox pipelines misbehave on kvm_pvm)
slots=$(guest_value SLOTS 'n=0; for s in /sys/bus/pci/slots/*; do [ -e "$s" ] && n=$((n + 1)); done; echo $n')
check_value() { # WHAT GOT WANT-REGEX
	if grep -qE -- "$3" <<<"$2"; then echo "ok: $1: $2"; else echo "FAIL: $1: '$2' (want /$3/)"; fail=1; fi
}

# ---- 0. a boot disk removed; its slot is the next add's ----
boot_gone=""
if [ "${slots:-0}" != 0 ]; then
	check_value "the boot disk drive1 is /dev/vdb" "$(guest_value BVDB 'cat /sys/block/vdb/size')" '^16384$'
	ctl remove-device drive1
	[ "$CTL_STATUS" = 0 ] && echo "ok: vmmctl remove-device drive1 (a boot disk)" ||
		{ echo "FAIL: remove-device drive1: $OUT"; fail=1; }
	check_value "the boot disk's /dev/vdb went" "$(guest_value BGONE 'for i in $(seq 30); do [ -b /dev/vdb ] || break; sleep 1; done; [ -b /dev/vdb ] && echo still || echo gone')" '^gone$'
	api GET /vm/config >/dev/null
	grep -q '"drive1"' "$tmp/body" && { echo "FAIL: GET /vm/config still lists drive1"; fail=1; } ||
		echo "ok: GET /vm/config no longer lists drive1"
	boot_gone=1
fi

# ---- 1. the VMM's side ----
n0=$(devices)
ctl add-disk "$tmp/hp.img" --id hp0
if [ "$CTL_STATUS" = 0 ] && grep -qE '"bdf": *"0000:00:0[0-9a-f]\.0"' <<<"$OUT" &&
	grep -q '"id": *"hp0"' <<<"$OUT"; then
	echo "ok: vmmctl add-disk: $(tr -d '\n ' <<<"$OUT")"
else
	echo "FAIL: vmmctl add-disk: status $CTL_STATUS: $OUT"
	fail=1
fi
if [ -n "$boot_gone" ]; then
	grep -qE '"bdf": *"0000:00:02\.0"' <<<"$OUT" && echo "ok: hp0 went into the removed boot disk's slot" ||
		{ echo "FAIL: hp0 is not in 00:02.0: $OUT"; fail=1; }
fi
n1=$(devices)
[ "$n1" = $((n0 + 1)) ] && echo "ok: GET /vmm/devices lists it ($n0 -> $n1)" ||
	{ echo "FAIL: /vmm/devices: $n0 -> $n1"; fail=1; }
truncate -s 1M "$tmp/other.img"
refused "the same id again" 'hp0' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/other.img\", \"id\": \"hp0\"}"
refused "the root disk's id" 'another device' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/other.img\", \"id\": \"drive0\"}"
refused "the same file twice" 'in use|lock' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/hp.img\"}"
refused "an unknown field" 'unknown|not allowed|field' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/other.img\", \"bogus\": 1}"
refused "num_queues 0" 'num_queues' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/other.img\", \"num_queues\": 0}"
refused "a missing file" 'nothere' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/nothere.img\"}"
refused "remove the root disk" 'root disk' PUT /vmm/vm.remove-device '{"id": "drive0"}'
refused "remove an unknown id" 'no device' PUT /vmm/vm.remove-device '{"id": "nope"}'
refused "a NIC on a missing tap" 'tap|vmmhpnone' PUT /vmm/vm.add-net '{"tap": "vmmhpnone0"}'
want 204 PATCH /vm '{"state": "Paused"}'
refused "an add while paused" 'paused' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/other.img\"}"
refused "a remove while paused" 'paused' PUT /vmm/vm.remove-device '{"id": "hp0"}'
want 204 PATCH /vm '{"state": "Resumed"}'
n2=$(devices)
[ "$n2" = "$n1" ] && echo "ok: nothing half-added ($n2 devices)" ||
	{ echo "FAIL: the refused requests changed the devices: $n1 -> $n2"; fail=1; }

if [ "${slots:-0}" = 0 ]; then
	ctl remove-device hp0 --timeout-ms 2000
	if [ "$CTL_STATUS" != 0 ] && grep -q 'CONFIG_HOTPLUG_PCI_ACPI' <<<"$OUT"; then
		echo "ok: a remove the guest cannot see times out and says why: $OUT"
	else
		echo "FAIL: remove-device on a guest without ACPI hotplug: status $CTL_STATUS: $OUT"
		fail=1
	fi
	[ "$(devices)" = "$n1" ] && echo "ok: the device stays" || { echo "FAIL: the device went"; fail=1; }
	[ $fail = 0 ] || linux_finish
	echo "skip: the guest kernel has no ACPI PCI hotplug (/sys/bus/pci/slots is empty: it needs" \
		"CONFIG_ACPI and CONFIG_HOTPLUG_PCI_ACPI in guest-images/kernel.config)"
	exit 77
fi

# ---- 2. the guest's side ----
echo "ok: the guest has $slots PCI hotplug slots"
GUEST_VALUE_SECONDS=180
check_value "the added disk is /dev/vdb" "$(guest_value VDB 'for i in $(seq 60); do [ -b /dev/vdb ] && break; sleep 1; done; cat /sys/block/vdb/size')" '^32768$'
check_value "mount, write" "$(guest_value MNT 'mkdir -p /dev/hp && mount /dev/vdb /dev/hp && echo HPDATA-7c1e >/dev/hp/f && sync && echo done')" '^done$'
check_value "unmount" "$(guest_value UMNT 'umount /dev/hp && echo done')" '^done$'
ctl remove-device hp0
[ "$CTL_STATUS" = 0 ] && echo "ok: vmmctl remove-device hp0" || { echo "FAIL: remove-device: $OUT"; fail=1; }
check_value "/dev/vdb went" "$(guest_value GONE 'for i in $(seq 30); do [ -b /dev/vdb ] || break; sleep 1; done; [ -b /dev/vdb ] && echo still || echo gone')" '^gone$'
ctl add-disk "$tmp/hp.img" --id hp0
[ "$CTL_STATUS" = 0 ] && echo "ok: added again: $OUT" || { echo "FAIL: add again: $OUT"; fail=1; }
check_value "read back" "$(guest_value BACK 'for i in $(seq 60); do [ -b /dev/vdb ] && break; sleep 1; done; mount /dev/vdb /dev/hp && cat /dev/hp/f')" '^HPDATA$'


# ---- 2b. a vsock and a pmem device added (snapshots and migrations carry them) ----
vs="$tmp/hpv.sock"
python3 "$SOURCE_DIR/tests/integration/lib/linux_vsock_host.py" "${vs}_1234" >"$tmp/vhost" 2>&1 &
vsock_host=$!
sleeper="$sleeper $vsock_host"
for _ in $(seq 50); do [ -S "${vs}_1234" ] && break; sleep 0.1; done
n3=$(devices)
refused "a vsock on a reserved CID" 'cid' PUT /vmm/vm.add-vsock "{\"cid\": 2, \"socket\": \"$vs\"}"
refused "a vsock socket in a missing directory" 'nodir' PUT /vmm/vm.add-vsock "{\"cid\": 7, \"socket\": \"$tmp/nodir/v.sock\"}"
ctl add-vsock 7 "$vs" --id hpvsock
[ "$CTL_STATUS" = 0 ] && grep -q '"bdf"' <<<"$OUT" && echo "ok: add-vsock: $(tr -d '\n ' <<<"$OUT")" ||
	{ echo "FAIL: add-vsock: $OUT"; fail=1; }
refused "a second vsock" 'at most one' PUT /vmm/vm.add-vsock "{\"cid\": 8, \"socket\": \"$tmp/v2.sock\"}"
refused "an id the vsock has" 'another device' PUT /vmm/vm.add-disk "{\"path\": \"$tmp/other.img\", \"id\": \"hpvsock\"}"
[ "$(devices)" = $((n3 + 1)) ] && echo "ok: one vsock added, nothing else" ||
	{ echo "FAIL: /vmm/devices: $n3 -> $(devices)"; fail=1; }
api GET /vm/config >/dev/null
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get("vsock") or {}; sys.exit(0 if v.get("vsock_id") == "hpvsock" and v.get("guest_cid") == 7 else 1)' "$tmp/body" &&
	echo "ok: GET /vm/config lists the vsock" || { echo "FAIL: GET /vm/config: $(cat "$tmp/body")"; fail=1; }
check_value "the guest's vsock transport binds it" "$(guest_value VSDRV 'd=""; for i in $(seq 60); do for x in /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*; do [ -e "$x" ] && d=${x##*/}; done; [ -n "$d" ] && break; sleep 1; done; echo ${d:-none}')" '^virtio[0-9]+$'
check_value "vsock-echo over the hot-added vsock" "$(guest_value VSECHO 'vsock-echo 1234 4096 >/dev/ve 2>&1; echo status$?')" '^status0$'
grep -q '^answer: OK 4096 bytes intact' "$tmp/vhost" && echo "ok: the host read the guest's 4096 bytes intact" ||
	{ echo "FAIL: the host side: $(cat "$tmp/vhost")"; fail=1; }
pm="$tmp/pm.img"
truncate -s 4M "$pm"
printf PMEMMARK7d3 | dd of="$pm" conv=notrunc status=none
truncate -s 3M "$tmp/odd.img"
refused "a pmem file that is not a multiple of 2 MiB" '2 MiB' PUT /vmm/vm.add-pmem "{\"file\": \"$tmp/odd.img\"}"
refused "a missing pmem file" 'nopm' PUT /vmm/vm.add-pmem "{\"file\": \"$tmp/nopm.img\"}"
refused "a pmem size that is not the file's" 'not 2097152' PUT /vmm/vm.add-pmem "{\"file\": \"$pm\", \"size\": 2097152}"
refused "a pmem id taken" 'another device' PUT /vmm/vm.add-pmem "{\"file\": \"$pm\", \"id\": \"hpvsock\"}"
ctl add-pmem "$pm" --id hppmem --size 4194304
[ "$CTL_STATUS" = 0 ] && grep -q '"bdf"' <<<"$OUT" && echo "ok: add-pmem: $(tr -d '\n ' <<<"$OUT")" ||
	{ echo "FAIL: add-pmem: $OUT"; fail=1; }
[ "$(devices)" = $((n3 + 2)) ] && echo "ok: the refused pmem requests added nothing" ||
	{ echo "FAIL: /vmm/devices: $n3 -> $(devices)"; fail=1; }
pmem_marker() { # TAG: the guest reads the file's first bytes from /dev/pmem0
	guest_value "$1" 'for i in $(seq 60); do [ -b /dev/pmem0 ] && break; sleep 1; done; head -c 11 /dev/pmem0'
}
check_value "the guest reads the pmem file's marker from /dev/pmem0" "$(pmem_marker PMRD)" '^PMEMMARK7d3$'
check_value "the guest writes /dev/pmem0 (synced)" "$(guest_value PMWR 'printf GUESTPM42 >/dev/pmw; dd if=/dev/pmw of=/dev/pmem0 bs=4096 seek=1 conv=fsync 2>/dev/null && echo done')" '^done$'
[ "$(dd if="$pm" bs=4096 skip=1 count=1 status=none | head -c 9)" = GUESTPM42 ] &&
	echo "ok: the guest's write is in the host file" || { echo "FAIL: the host file lacks the guest's write"; fail=1; }
want 204 PATCH /pmem/hppmem '{"id": "hppmem", "rate_limiter": {"ops": {"size": 100, "refill_time": 1000}}}'

# ---- 3. a snapshot of the VM with the hot-added disk, restored ----
config_has() { # config_has ID: GET /vm/config lists the drive ID (prints yes or no)
	api GET /vm/config >/dev/null
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("yes" if any(x.get("drive_id") == sys.argv[2] for x in d.get("drives") or []) else "no")' "$tmp/body" "$1"
}
check_value "GET /vm/config shows hp0" "$(config_has hp0)" '^yes$'
want 204 PATCH /drives/hp0 '{"drive_id": "hp0", "rate_limiter": {"bandwidth": {"size": 50000000, "refill_time": 100}}}'
check_value "marker written, unmounted" "$(guest_value MARK 'echo SNAPMARK5e2 >/dev/hp/g && sync && umount /dev/hp && echo done')" '^done$'
snap="$tmp/snap"
mkdir -p "$snap"
want 204 PATCH /vm '{"state": "Paused"}'
want 204 PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$snap/state\", \"mem_file_path\": \"$snap/memory\"}"
grep -aqE 'hp\.img[^"]*hotplug-slot=' "$snap/state" && grep -aqE 'hp\.img[^"]*bw=' "$snap/state" &&
	echo "ok: the snapshot's configuration records the disk with its slot and its PATCHed limits" ||
	{ echo "FAIL: the snapshot's configuration lacks hp.img's hotplug-slot= or bw="; fail=1; }
kill -9 $vmm_pid
wait $vmm_pid 2>/dev/null
rm -f "$sock"
"$VMM" --landlock-rules "$tmp:rw" --api-sock "$sock" --restore "$snap" \
	<"$tmp/in" >"$tmp/log" 2>>"$tmp/err" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
check_value "GET /vm/config of the restored VM shows hp0" "$(config_has hp0)" '^yes$'
check_value "the restored guest reads the marker from /dev/vdb" "$(guest_value RMARK 'mount /dev/vdb /dev/hp && cat /dev/hp/g')" '^SNAPMARK5e2$'
want 204 PATCH /drives/hp0 '{"drive_id": "hp0", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}}'
check_value "unmounted" "$(guest_value RUMNT 'umount /dev/hp && echo done')" '^done$'
check_value "the restored guest reads /dev/pmem0" "$(pmem_marker PMRS)" '^PMEMMARK7d3$'
check_value "the restored guest's vsock transport holds the vsock" "$(guest_value VSRS 'd=none; for x in /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*; do [ -e "$x" ] && d=${x##*/}; done; echo $d')" '^virtio[0-9]+$'
grep -aqE 'pm\.img[^"]*hotplug-slot=[0-9]+,gpa=[0-9]+' "$snap/state" && grep -aqE 'hpv\.sock[^"]*hotplug-slot=' "$snap/state" &&
	echo "ok: the snapshot records the pmem device (slot, window) and the vsock (slot)" ||
	{ echo "FAIL: the snapshot's configuration lacks pm.img's hotplug-slot=/gpa= or the vsock's"; fail=1; }

# ---- 3b. a NIC added on a tap (when one can be made) before the migration ----
# The tap belongs to the VMM's user (no thread keeps CAP_NET_ADMIN once the VM runs) and has the
# host's end of a /24 of its own: the host pings the guest through it (the guest's kernel
# answers: no shell command that could hang the console), here and once migrated.
HP_TAP=vmmhp$$
HP_HOST_IP=192.168.219.1
HP_GUEST_IP=192.168.219.2
nic=""
reach_host() { # WHAT: the host pings the guest through the hot-added NIC: 3 answers within 60 s
	if ping -c 3 -i 0.5 -w 60 "$HP_GUEST_IP" >"$tmp/ping" 2>&1; then
		echo "ok: $1: $(grep -m1 'packets transmitted' "$tmp/ping")"
	else
		echo "FAIL: $1: $(tail -n 2 "$tmp/ping" | tr '\n' ' ')"
		fail=1
	fi
}
if ip tuntap add "$HP_TAP" mode tap user "$(id -u)" 2>/dev/null; then
	nic=1
	trap 'kill $sleeper 2>/dev/null; kill -9 $vmm_pid $src_pid 2>/dev/null; ip link del "$HP_TAP" 2>/dev/null; rm -rf "$tmp"' EXIT
	ip addr add "$HP_HOST_IP/24" dev "$HP_TAP" && ip link set "$HP_TAP" up
	ctl add-net "$HP_TAP" --id hpnet0
	[ "$CTL_STATUS" = 0 ] && echo "ok: add-net: $(tr -d '\n ' <<<"$OUT")" || { echo "FAIL: add-net: $OUT"; fail=1; }
	check_value "the NIC is eth0" "$(guest_value ETH 'for i in $(seq 60); do [ -e /sys/class/net/eth0 ] && break; sleep 1; done; cat /sys/class/net/eth0/address')" '^[0-9a-f:]{17}$'
	check_value "eth0 up with $HP_GUEST_IP" "$(guest_value ETHUP "ip addr add $HP_GUEST_IP/24 dev eth0 && ip link set eth0 up && echo done")" '^done$'
	reach_host "the guest and the host reach each other through the hot-added NIC"
else
	echo "note: no tap could be made here: the NIC part is not run"
fi

# ---- 4. a live migration of the restored VM, hp0 (and hpnet0) in it ----
src_pid=$vmm_pid
mig="$tmp/dst.mig"
rm -f "$tmp/in" "$tmp/log" # the source keeps its own; the destination's console is these
mkfifo "$tmp/in"
sleep 900 >"$tmp/in" &
sleeper="$sleeper $!"
"$VMM" --landlock-rules "$tmp:rw" --api-sock "$tmp/dst.sock" --migrate-from "unix:$mig" \
	<"$tmp/in" >"$tmp/log" 2>>"$tmp/err" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$mig" ] && break; sleep 0.1; done
want 204 PUT /vmm/send-migration "{\"destination_url\": \"unix:$mig\"}"
for _ in $(seq 1200); do kill -0 $src_pid 2>/dev/null || break; sleep 0.1; done
kill -0 $src_pid 2>/dev/null && { echo "FAIL: the source still runs"; fail=1; }
grep -q "migration completed" "$tmp/err" && echo "ok: migration completed" ||
	{ echo "FAIL: no 'migration completed' in the VMMs' logs"; fail=1; }
sock="$tmp/dst.sock"
check_value "GET /vm/config of the migrated VM shows hp0" "$(config_has hp0)" '^yes$'
check_value "the migrated guest reads the marker from /dev/vdb" "$(guest_value MMARK 'mount /dev/vdb /dev/hp && cat /dev/hp/g && umount /dev/hp')" '^SNAPMARK5e2$'
if [ -n "$nic" ]; then
	check_value "GET /vm/config of the migrated VM shows hpnet0" "$(api GET /vm/config >/dev/null; grep -o '"hpnet0"' "$tmp/body" | head -1)" '^"hpnet0"$'
	reach_host "the migrated guest and the host reach each other through the hot-added NIC"
fi
ctl remove-device hp0
[ "$CTL_STATUS" = 0 ] && echo "ok: the migrated VM's hp0 removed" || { echo "FAIL: remove-device after the migration: $OUT"; fail=1; }
check_value "/dev/vdb went in the migrated guest" "$(guest_value RGONE 'for i in $(seq 30); do [ -b /dev/vdb ] || break; sleep 1; done; [ -b /dev/vdb ] && echo still || echo gone')" '^gone$'
check_value "GET /vm/config no longer shows hp0" "$(config_has hp0)" '^no$'
check_value "the migrated guest reads /dev/pmem0" "$(pmem_marker PMMG)" '^PMEMMARK7d3$'
ctl remove-device hpvsock
[ "$CTL_STATUS" = 0 ] && echo "ok: vsock removed" || { echo "FAIL: remove-device hpvsock: $OUT"; fail=1; }
check_value "the guest let the vsock go" "$(guest_value VSGONE 'd=none; for x in /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*; do [ -e "$x" ] && d=${x##*/}; done; echo $d')" '^none$'
[ -e "$vs" ] && { echo "FAIL: the vsock's socket $vs stays"; fail=1; } || echo "ok: its socket went"
api GET /vm/config >/dev/null
python3 -c 'import json,sys; sys.exit(1 if json.load(open(sys.argv[1])).get("vsock") else 0)' "$tmp/body" &&
	echo "ok: GET /vm/config no longer lists it" || { echo "FAIL: GET /vm/config still: $(cat "$tmp/body")"; fail=1; }
ctl remove-device hppmem
[ "$CTL_STATUS" = 0 ] && echo "ok: pmem removed" || { echo "FAIL: remove-device hppmem: $OUT"; fail=1; }
check_value "/dev/pmem0 went" "$(guest_value PMGONE 'for i in $(seq 30); do [ -b /dev/pmem0 ] || break; sleep 1; done; [ -b /dev/pmem0 ] && echo still || echo gone')" '^gone$'
ctl add-pmem "$pm" --id hppmem
[ "$CTL_STATUS" = 0 ] && echo "ok: the pmem device added again (its window and KVM slot were given back)" ||
	{ echo "FAIL: add-pmem again: $OUT"; fail=1; }
check_value "the guest reads it again" "$(pmem_marker PMAG)" '^PMEMMARK7d3$'
[ -n "$nic" ] && ip link del "$HP_TAP" 2>/dev/null

linux_finish
