#!/usr/bin/env bash
# The default Linux guest (initramfs, shell on COM1) with a host folder shared over virtio-fs,
# served by virtiofsd (vhost-user, virtio/fs):
#   1. the guest mounts the share (mount -t virtiofs share /mnt) and reads a file the host made:
#      the same bytes (md5sum on both sides);
#   2. the guest writes a file; the host sees its bytes;
#   3. virtiofsd is killed and restarted on the same socket while the guest runs: the device
#      reconnects by itself (docs/vhost-user.md); the new virtiofsd has no FUSE session, so the
#      guest mounts the share again, then reads a file made after the restart and writes another;
#   4. the guest powers off: the VMM exits 0.
# The same boot checks virtio-vsock (--vsock cid=5,uds=PATH; one Linux boot checks both, which
# keeps the suite short where guest kernel code is emulated): before its shell, the guest's /init
# runs /usr/bin/vsock-echo (guest-images/tools/vsock-echo.c, the vsock check), which connects to
# the host, CID 2 port 1234, mapped by the VMM to the Unix socket PATH_1234, where a host helper
# (linux_vsock_host.py) checks the 100000 pattern bytes the guest sends and answers with a line
# the guest prints.
# TRANSPORT=pci runs it over virtio-pci (linux_virtiofs_pci.sh).
# labels: slow linux vhost_user vsock
# requires: kvm root
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[ -x "$VIRTIOFSD" ] || skip "no vhost-user back-end" "$VIRTIOFSD not installed (qemu-system-common)"
TRANSPORT=${TRANSPORT:-mmio}
share=$tmp/share
fs_sock=$tmp/fs.sock
vmm_pid=""
fsd_pid=""
sleeper=""
vsock_host=""
trap 'kill $sleeper $fsd_pid $vsock_host 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$share"

uds="$tmp/v.sock"
python3 "$SOURCE_DIR/tests/integration/lib/linux_vsock_host.py" "${uds}_1234" >"$tmp/host" 2>&1 &
vsock_host=$!
for _ in $(seq 50); do
	grep -q '^ready' "$tmp/host" 2>/dev/null && break
	sleep 0.2
done

start_virtiofsd() {
	rm -f "$fs_sock"
	"$VIRTIOFSD" --socket-path="$fs_sock" -o source="$share" -o cache=none \
		>>"$tmp/virtiofsd.log" 2>&1 &
	fsd_pid=$!
	for _ in $(seq 50); do
		[ -S "$fs_sock" ] && return 0
		sleep 0.1
	done
	echo "FAIL: virtiofsd made no socket"
	fail=1
}
# guest_md5 FILE TAG: the guest prints "TAG=<md5>" of /mnt/FILE; compared with the host's
guest_md5() {
	# one program per step (docs/testing.md: pipelines on kvm_pvm)
	type_cmd "md5sum /mnt/$1 >/tmp/md5; read h x </tmp/md5; echo $2=\$h"
	wait_for "^$2=[0-9a-f]{32}" 120
	check "the guest reads $1 as the host wrote it" "^$2=$(md5sum "$share/$1" | cut -d' ' -f1)"
}
# guest_write FILE TAG: the guest writes 100 KiB of its own random bytes, then prints their md5
guest_write() {
	type_cmd "head -c 102400 /dev/urandom > /mnt/$1 && sync && md5sum /mnt/$1 >/tmp/md5 && read h x </tmp/md5 && echo $2=\$h"
	if wait_for "^$2=[0-9a-f]{32}" 120; then
		local want
		want=$(grep -oE "^$2=[0-9a-f]{32}" "$tmp/log" | tail -1 | cut -d= -f2)
		check "the host sees the bytes the guest wrote to $1" "^$want" \
			<(md5sum "$share/$1" 2>/dev/null)
	else
		echo "FAIL: the guest could not write $1"
		fail=1
	fi
}

head -c 300000 /dev/urandom >"$share/from-host.bin"
start_virtiofsd
mkfifo "$tmp/in"
sleep 1200 >"$tmp/in" &
sleeper=$!
"$VMM" -v -v --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 512M --console stdio \
	--transport "$TRANSPORT" --fs tag=share,socket="$fs_sock" --vsock "cid=5,uds=$uds" \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0 vmmguest.run=vsock vmmguest.vsock.port=1234" \
	<"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
if ! wait_for "VMM-GUEST-SHELL: starting" 1000; then
	echo "FAIL: no shell"
	fail=1
	linux_finish
fi
sleep 2
# ---- vsock: what /init's check printed before the shell ----
check "the guest drove virtio-vsock" 'virtio-vsock: driver ready' "$tmp/err"
check "/init saw the vsock device (ID 19) bound" \
	'VMM-GUEST-VIRTIO: .* device=0x0013 .*driver=vmw_vsock_virtio_transport'
check "the vsock transport driver holds the device" 'VMM-GUEST-VSOCK-DRIVER: virtio'
check "the guest's program reached the host over vsock and read its answer" \
	'VMM-GUEST-VSOCK: vsock-echo: sent 100000 bytes, reply: OK 100000 bytes intact \(status 0\)'
check "the host saw the guest's greeting over vsock" '^line: hello-from-guest 100000' "$tmp/host"
check "the vsock check passed" 'VMM-GUEST-RUN: vsock status 0'

# ---- virtio-fs ----
check "the guest drove virtio-fs" 'virtio-fs: driver ready' "$tmp/err"
type_cmd 'mkdir -p /mnt && mount -t virtiofs share /mnt && echo MOUNTED=$(grep -c virtiofs /proc/mounts)'
wait_for "^MOUNTED=1" 120
check "the guest mounted the share" "^MOUNTED=1"
guest_md5 from-host.bin HOSTFILE
guest_write from-guest.bin GUESTFILE

# virtiofsd dies and comes back while the guest runs
kill -9 "$fsd_pid"
wait "$fsd_pid" 2>/dev/null
sleep 2
head -c 50000 /dev/urandom >"$share/after-restart.bin"
start_virtiofsd
# the device reconnects by itself; the new virtiofsd has no FUSE session (it answers EIO until a
# FUSE_INIT), so the guest mounts the share again
sleep 3
type_cmd 'umount /mnt || umount -l /mnt; mount -t virtiofs share /mnt && echo REMOUNTED=$(grep -c virtiofs /proc/mounts)'
wait_for "^REMOUNTED=1" 120
check "the guest mounted the share again after the restart" "^REMOUNTED=1"
guest_md5 after-restart.bin AFTERRESTART
guest_write after-restart-guest.bin AFTERWRITE
check "the VMM reconnected" "back-end reconnected" "$tmp/err"

type_cmd "umount /mnt; poweroff -f"
for _ in $(seq 120); do
	kill -0 "$vmm_pid" 2>/dev/null || break
	sleep 1
done
wait "$vmm_pid"
check_status $?
linux_finish
