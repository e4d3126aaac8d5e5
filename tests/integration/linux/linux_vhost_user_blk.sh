#!/usr/bin/env bash
# The default Linux guest with both its disks served by qemu-storage-daemon over vhost-user
# (--disk vhost-user=SOCK; virtio/vhost_user/vu_blk.c), no initramfs:
#   1. its root file system is /dev/vda, a read-only export of a copy of the default disk image
#      (root=/dev/vda ro): the kernel mounted it and /init ran from it;
#   2. the guest sees /dev/vdb, a writable export, of the exported file's size (capacity from
#      GET_CONFIG);
#   3. it reads a block the host wrote: the same bytes (md5sum on both sides);
#   4. it writes 1 MiB of its own random bytes at 8 MiB and syncs (a FLUSH); the host finds the
#      same bytes in the file;
#   5. the daemon is killed and restarted on the same sockets while the guest is idle: both
#      devices reconnect by themselves (drained rings; docs/vhost-user.md) and the guest, its
#      programs read from the root disk, reads and writes again;
#   6. the guest powers off: the VMM exits 0.
# TRANSPORT=pci runs it over virtio-pci. Needs KVM: on a host without it, it is skipped (77).
# labels: slow linux vhost_user
# requires: kvm root
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

QSD=${QSD:-qemu-storage-daemon}
command -v "$QSD" >/dev/null || skip "no vhost-user back-end" "$QSD not installed (qemu-system-common)"
TRANSPORT=${TRANSPORT:-mmio}
disk=$tmp/disk.raw
sock=$tmp/blk.sock
root=$tmp/root.ext4
root_sock=$tmp/root.sock
vmm_pid=""
qsd_pid=""
sleeper=""
trap 'kill $sleeper $qsd_pid 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

start_qsd() {
	rm -f "$sock" "$root_sock"
	"$QSD" --blockdev driver=file,node-name=disk,filename="$disk" \
		--export type=vhost-user-blk,id=exp0,node-name=disk,addr.type=unix,addr.path="$sock",writable=on \
		--blockdev driver=file,node-name=root,filename="$root",read-only=on \
		--export type=vhost-user-blk,id=exp1,node-name=root,addr.type=unix,addr.path="$root_sock",writable=off \
		>>"$tmp/qsd.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && [ -S "$root_sock" ] && return 0
		sleep 0.1
	done
	echo "FAIL: qemu-storage-daemon made no socket"
	fail=1
}
host_md5() { # OFFSET_MIB COUNT_MIB
	dd if="$disk" bs=1M skip="$1" count="$2" 2>/dev/null | md5sum | cut -d' ' -f1
}
# guest_rw TAG: the guest reads the host's block at 4 MiB, writes 1 MiB at 8 MiB, syncs
guest_rw() {
	# One process after the other, no pipeline: on kvm_pvm busybox processes started together
	# compute with wrong memory now and then, under QEMU too (docs/testing.md, "Known issue");
	# a second try tells the disk from that.
	local try
	for try in 1 2 3; do
		type_cmd "dd if=/dev/vdb bs=1M skip=4 count=1 of=/tmp/r 2>/dev/null; md5sum /tmp/r >/tmp/m; read h x </tmp/m; echo $1R$try=\$h-"
		wait_for "^$1R$try=.*-" 120
		grep -q "^$1R$try=$(host_md5 4 1)-" "$tmp/log" && break
		echo "note: $1: read $try gave '$(grep -a "^$1R$try=" "$tmp/log" | tr -d '\r' | tail -1)'"
	done
	check "$1: the guest reads the block the host wrote" "^$1R[123]=$(host_md5 4 1)-"
	type_cmd "head -c 1048576 /dev/urandom >/tmp/w && dd if=/tmp/w of=/dev/vdb bs=1M seek=8 conv=fsync 2>/dev/null && md5sum /tmp/w >/tmp/m && read h x </tmp/m && echo $1W=\$h"
	if wait_for "^$1W=[0-9a-f]{32}" 120; then
		local want
		want=$(grep -oE "^$1W=[0-9a-f]{32}" "$tmp/log" | tail -1 | cut -d= -f2)
		check "$1: the file holds the bytes the guest wrote" "^$want" <(host_md5 8 1)
	else
		echo "FAIL: $1: the guest could not write"
		fail=1
	fi
}

cp --sparse=always "$DISK" "$root"
truncate -s 64M "$disk"
head -c 1048576 /dev/urandom | dd of="$disk" bs=1M seek=4 conv=notrunc 2>/dev/null
start_qsd
mkfifo "$tmp/in"
sleep 1200 >"$tmp/in" &
sleeper=$!
"$VMM" --kernel "$VMLINUX" --mem 512M --console stdio \
	--transport "$TRANSPORT" --disk vhost-user="$root_sock" --disk vhost-user="$sock" \
	--append "$CMDLINE root=/dev/vda ro rootfstype=ext4 vmmguest.shell=1 vmmguest.dhcp=0" \
	<"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
if ! wait_for "VMM-GUEST-SHELL: starting" 1000; then
	echo "FAIL: no shell"
	fail=1
	linux_finish
fi
sleep 2
# The root: the tag is built in the guest, so the echoed command never matches ^ROOTMOUNT-; a
# read-only root, so /tmp (the steps' files) is a tmpfs.
type_cmd 'p=ROOTMOUNT; while read d m t o r; do [ "$m" = / ] && echo "$p-$d,$m,$t,$o"; done </proc/mounts; mount -t tmpfs none /tmp'
wait_for "^ROOTMOUNT-" 60
check "the root is /dev/vda, read-only ext4" "^ROOTMOUNT-/dev/(root|vda),/,ext4,ro"
type_cmd 'read s </sys/block/vdb/size; echo VDBSIZE=$s'
wait_for "^VDBSIZE=[0-9]+" 60
check "the guest sees a disk of the exported size (131072 sectors)" "^VDBSIZE=131072"
guest_rw FIRST

kill -9 "$qsd_pid"
wait "$qsd_pid" 2>/dev/null
sleep 2
start_qsd
sleep 3
check "the root disk reconnected" "vhost-user-blk $root_sock: back-end reconnected" "$tmp/err"
check "the second disk reconnected" "vhost-user-blk $sock: back-end reconnected" "$tmp/err"
guest_rw AFTER

type_cmd "poweroff -f"
for _ in $(seq 120); do
	kill -0 "$vmm_pid" 2>/dev/null || break
	sleep 1
done
wait "$vmm_pid"
check_status $?
linux_finish
