#!/usr/bin/env bash
# The default Linux guest (initramfs, shell on COM1) with two host folders shared over virtio-fs,
# each served by its own virtiofsd (vhost-user, virtio/fs): tag fsmmio on virtio-mmio and tag
# fspci on virtio-pci (MSI-X), in one boot (a Linux boot costs about a minute where guest kernel
# code is emulated; --transport chooses per device). For each share:
#   1. the guest mounts it (mount -t virtiofs TAG /mnt/TAG) and reads a file the host made: the
#      same bytes (md5sum on both sides);
#   2. the guest writes a file; the host sees its bytes;
#   3. its virtiofsd is killed and restarted on the same socket while the guest runs: the device
#      reconnects by itself (docs/vhost-user.md); the new virtiofsd has no FUSE session, so the
#      guest mounts the share again, then reads a file made after the restart and writes another;
# then the guest powers off: the VMM exits 0. On top, for the PCI share: virtiofsd's calls reach
# the guest without the VMM, through each queue's MSI-X irqfd (docs/vhost-user.md, "How calls
# reach the guest"): the VMM's stderr (-v -v) says its request queue went "straight to the guest
# (irqfd)", and the count of calls it relayed stays small (only what arrives while a vector is
# masked or not yet set up).
# The same boot checks virtio-vsock over virtio-mmio (--vsock cid=5,uds=PATH; over virtio-pci
# linux_userspace_pci checks it): before its shell, the guest's /init runs /usr/bin/vsock-echo
# (guest-images/tools/vsock-echo.c, the vsock check), which connects to the host, CID 2 port
# 1234, mapped by the VMM to the Unix socket PATH_1234, where a host helper (linux_vsock_host.py)
# checks the 100000 pattern bytes the guest sends and answers with a line the guest prints.
# (It was two tests, linux_virtiofs and linux_virtiofs_pci, one boot each.)
# labels: slow linux vhost_user vsock pci
# requires: kvm root
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[ -x "$VIRTIOFSD" ] || skip "no vhost-user back-end" "$VIRTIOFSD not installed (qemu-system-common)"
TAGS=(fsmmio fspci)
declare -A fsd_pid=()
vmm_pid=""
sleeper=""
vsock_host=""
trap 'kill $sleeper ${fsd_pid[*]} $vsock_host 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

uds="$tmp/v.sock"
python3 "$SOURCE_DIR/tests/integration/lib/linux_vsock_host.py" "${uds}_1234" >"$tmp/host" 2>&1 &
vsock_host=$!
for _ in $(seq 50); do
	grep -q '^ready' "$tmp/host" 2>/dev/null && break
	sleep 0.2
done

# start_virtiofsd TAG: serves $tmp/TAG on $tmp/TAG.sock
start_virtiofsd() {
	rm -f "$tmp/$1.sock"
	"$VIRTIOFSD" --socket-path="$tmp/$1.sock" -o source="$tmp/$1" -o cache=none \
		>>"$tmp/virtiofsd-$1.log" 2>&1 &
	fsd_pid[$1]=$!
	for _ in $(seq 50); do
		[ -S "$tmp/$1.sock" ] && return 0
		sleep 0.1
	done
	echo "FAIL: $1: virtiofsd made no socket"
	fail=1
}
# guest_md5 TAG FILE KEY: the guest prints "KEY=<md5>" of /mnt/TAG/FILE; compared with the host's
guest_md5() {
	# one program per step (docs/testing.md: pipelines on kvm_pvm)
	type_cmd "md5sum /mnt/$1/$2 >/tmp/md5; read h x </tmp/md5; echo $3=\$h"
	wait_for "^$3=[0-9a-f]{32}" 120
	check "$1: the guest reads $2 as the host wrote it" "^$3=$(md5sum "$tmp/$1/$2" | cut -d' ' -f1)"
}
# guest_write TAG FILE KEY: the guest writes 100 KiB of its own random bytes, then prints their md5.
# They are hex digits from awk's rand(), seeded by the time: user-space code, where /dev/urandom is
# guest kernel code, slow on kvm_pvm, and waits for the kernel's entropy in a guest without an
# rng. awk writes them to the guest's tmpfs, and dd to the share in one write: awk's 4 KiB writes
# straight to the share took seconds each under load (25 FUSE requests).
guest_write() {
	type_cmd "awk 'BEGIN { srand(); for (i = 0; i < 6400; i++) printf \"%04x%04x%04x%04x\", rand() * 65536, rand() * 65536, rand() * 65536, rand() * 65536 }' >/tmp/w && dd if=/tmp/w of=/mnt/$1/$2 bs=102400 2>/dev/null && sync && md5sum /mnt/$1/$2 >/tmp/md5 && read h x </tmp/md5 && echo $3=\$h"
	if wait_for "^$3=[0-9a-f]{32}" 120; then
		local want
		want=$(grep -oE "^$3=[0-9a-f]{32}" "$tmp/log" | tail -1 | cut -d= -f2)
		check "$1: the host sees the bytes the guest wrote to $2" "^$want" \
			<(md5sum "$tmp/$1/$2" 2>/dev/null)
	else
		echo "FAIL: $1: the guest could not write $2"
		fail=1
	fi
}

for t in "${TAGS[@]}"; do
	mkdir -p "$tmp/$t"
	head -c 300000 /dev/urandom >"$tmp/$t/from-host.bin"
	start_virtiofsd "$t"
done
: >"$tmp/log"
mkfifo "$tmp/in"
sleep 1200 >"$tmp/in" &
sleeper=$!
"$VMM" -v -v --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 512M --console stdio \
	--transport mmio --fs tag=fsmmio,socket="$tmp/fsmmio.sock" --vsock "cid=5,uds=$uds" \
	--transport pci --fs tag=fspci,socket="$tmp/fspci.sock" \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0 vmmguest.run=vsock vmmguest.vsock.port=1234" \
	<"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
if ! wait_for "VMM-GUEST-SHELL: starting" 1000; then
	echo "FAIL: no shell"
	fail=1
	linux_finish
fi
# the prompt (typed lines before it are read all the same: the console's input is buffered)
wait_for 'vmmguest:.*# ' 30
# ---- vsock: what /init's check printed before the shell ----
check "the guest drove virtio-vsock" 'virtio-vsock: driver ready' "$tmp/err"
check "/init saw the vsock device (ID 19) bound, over virtio-mmio" \
	'VMM-GUEST-VIRTIO: .* device=0x0013 .*driver=vmw_vsock_virtio_transport on=LNRO0005:'
check "the vsock transport driver holds the device" 'VMM-GUEST-VSOCK-DRIVER: virtio'
check "the guest's program reached the host over vsock and read its answer" \
	'VMM-GUEST-VSOCK: vsock-echo: sent 100000 bytes, reply: OK 100000 bytes intact \(status 0\)'
check "the host saw the guest's greeting over vsock" '^line: hello-from-guest 100000' "$tmp/host"
check "the vsock check passed" 'VMM-GUEST-RUN: vsock status 0'

# ---- virtio-fs ----
n=$(grep -c 'virtio-fs: driver ready' "$tmp/err")
[ "$n" = 2 ] && echo "ok: the guest drove both virtio-fs devices" ||
	{ echo "FAIL: the guest drove $n virtio-fs devices, want 2"; fail=1; }
check "the fsmmio device is on virtio-mmio, the fspci device on virtio-pci" \
	'VMM-GUEST-VIRTIO: .* device=0x001a .*on=0000:00:[0-9a-f]{2}\.0'
check "... and one virtio-fs device on virtio-mmio" \
	'VMM-GUEST-VIRTIO: .* device=0x001a .*on=LNRO0005:'
type_cmd 'mkdir -p /mnt/fsmmio /mnt/fspci && mount -t virtiofs fsmmio /mnt/fsmmio && mount -t virtiofs fspci /mnt/fspci && echo MOUNTED=$(grep -c virtiofs /proc/mounts)'
wait_for "^MOUNTED=2" 120
check "the guest mounted both shares" "^MOUNTED=2"
for t in "${TAGS[@]}"; do
	guest_md5 "$t" from-host.bin "HOSTFILE_$t"
	guest_write "$t" from-guest.bin "GUESTFILE_$t"
done

# both virtiofsd die and come back while the guest runs
for t in "${TAGS[@]}"; do
	kill -9 "${fsd_pid[$t]}"
	wait "${fsd_pid[$t]}" 2>/dev/null
done
for t in "${TAGS[@]}"; do
	head -c 50000 /dev/urandom >"$tmp/$t/after-restart.bin"
	start_virtiofsd "$t"
done
# each device reconnects by itself; the new virtiofsd has no FUSE session (it answers EIO until a
# FUSE_INIT), so the guest mounts the share again
for _ in $(seq 100); do
	[ "$(grep -c 'virtio-fs fs[a-z]*: back-end reconnected' "$tmp/err")" -ge 2 ] && break
	sleep 0.2
done
for t in "${TAGS[@]}"; do
	check "$t: the VMM reconnected" "virtio-fs $t: back-end reconnected" "$tmp/err"
done
type_cmd 'for m in /mnt/fsmmio /mnt/fspci; do umount $m || umount -l $m; done; mount -t virtiofs fsmmio /mnt/fsmmio && mount -t virtiofs fspci /mnt/fspci && echo REMOUNTED=$(grep -c virtiofs /proc/mounts)'
wait_for "^REMOUNTED=2" 120
check "the guest mounted both shares again after the restart" "^REMOUNTED=2"
for t in "${TAGS[@]}"; do
	guest_md5 "$t" after-restart.bin "AFTERRESTART_$t"
	guest_write "$t" after-restart-guest.bin "AFTERWRITE_$t"
done

type_cmd "umount /mnt/fsmmio; umount /mnt/fspci; poweroff -f"
for _ in $(seq 120); do
	kill -0 "$vmm_pid" 2>/dev/null || break
	sleep 1
done
wait "$vmm_pid"
check_status $?

# ---- the PCI share's calls: straight to the guest (its stderr is complete: the VMM ended) ----
if grep -qE 'virtio-fs fspci: queue 1: .*straight to the guest \(irqfd\)' "$tmp/err"; then
	echo "ok: fspci: virtiofsd's request queue interrupts the guest through its MSI-X irqfd"
else
	echo "FAIL: fspci: no 'queue 1: ... straight to the guest (irqfd)' in the VMM's stderr"
	fail=1
fi
relayed=$(grep -oE 'virtio-fs fspci: [0-9]+ calls of the back-end relayed' "$tmp/err" |
	grep -oE '[0-9]+' | tail -1)
if [ -n "$relayed" ] && [ "$relayed" -lt 20 ]; then
	echo "ok: fspci: the VMM relayed $relayed of virtiofsd's calls (the rest went straight to the guest)"
else
	echo "FAIL: fspci: the VMM relayed ${relayed:-an unknown number of} calls (want fewer than 20)"
	fail=1
fi
linux_finish
