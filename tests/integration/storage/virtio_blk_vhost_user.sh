#!/usr/bin/env bash
# virtio-blk served by another process: the virtio_blk test guest's checks (virtio_blk.sh runs
# them on the in-process disk) on two disks that qemu-storage-daemon exports over vhost-user-blk
# (--disk vhost-user=SOCK, virtio/vhost_user/vu_blk.c), over virtio-mmio and over virtio-pci:
# config from the daemon (capacity), GET_ID (the daemon's "vhost_user_blk"), reads of the host's
# pattern, writes, flush, 32 requests in flight, indirect chains, interrupt suppression
# (EVENT_IDX), WRITE_ZEROES and DISCARD (discard=unmap), IOERR past the end, unknown type ->
# UNSUPP, and a read-only export (RO offered, writes refused with IOERR). The host then checks
# the files as virtio_blk.sh does. Split rings only: the daemon (libvhost-user) offers no packed
# ring.
# labels: guests virtio vhost_user
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/blk_lib.sh"

QSD=${QSD:-qemu-storage-daemon}
command -v "$QSD" >/dev/null || skip "no vhost-user back-end" "$QSD not installed (qemu-system-common)"

rw="$LIB_TMP/rw.img"
ro="$LIB_TMP/ro.img"
qsd_pid=
trap 'kill $qsd_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT

# start_qsd: one daemon, two exports: rw.sock (writable, discard=unmap) and ro.sock (read-only).
start_qsd() {
	rm -f "$LIB_TMP/rw.sock" "$LIB_TMP/ro.sock"
	"$QSD" --blockdev "driver=file,node-name=rw,filename=$rw,discard=unmap" \
		--export "type=vhost-user-blk,id=e0,node-name=rw,addr.type=unix,addr.path=$LIB_TMP/rw.sock,writable=on" \
		--blockdev "driver=file,node-name=ro,filename=$ro,read-only=on" \
		--export "type=vhost-user-blk,id=e1,node-name=ro,addr.type=unix,addr.path=$LIB_TMP/ro.sock,writable=off" \
		>"$LIB_TMP/qsd.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 100); do
		[ -S "$LIB_TMP/rw.sock" ] && [ -S "$LIB_TMP/ro.sock" ] && return 0
		sleep 0.1
	done
	lib_fail "$QSD made no sockets: $(cat "$LIB_TMP/qsd.log")"
	return 1
}

make_disk "$LIB_TMP/pristine.img"
for TRANSPORT in mmio pci; do
	virtio_transport_init
	make_disk "$rw"
	make_disk "$ro"
	start_qsd || continue
	run_vmm virtio_blk "${vmm_transport[@]}" --disk "vhost-user=$LIB_TMP/rw.sock" \
		--disk "vhost-user=$LIB_TMP/ro.sock" \
		--append "$(guest_args split) ring=split sectors=$SECTORS id=vhost_user_blk ro_disk discard"
	expect_blk_output "$(irq_kind split)"
	kill "$qsd_pid"
	wait "$qsd_pid" 2>/dev/null
	qsd_pid=
	check_disks "$rw" "$ro"
done
finish
