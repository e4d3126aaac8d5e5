#!/usr/bin/env bash
# virtio-blk on qcow2 images (virtio/blk/qcow2*.c, issue 51), driven by the virtio_blk test guest
# (tests/guests/virtio_blk.c) over mmio with a split and a packed ring: disk 0 is a qcow2 overlay
# made by qemu-img over a raw base (the clone recipe in docs/devices.md), found by its magic;
# disk 1 a read-only qcow2 copy of the same data given format=qcow2. The guest writes,
# flushes, writes zeroes and discards across overlay clusters that the base still backs. The
# host then checks with qemu-img: the overlay passes `qemu-img check`, converted to raw it holds
# what the guest wrote (and the base's data around it), the base and the read-only image are
# untouched. (format=raw on a file with a qcow2 header: tests/unit/virtio/blk/test_qcow2.c.)
# labels: guests virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/blk_lib.sh"

command -v qemu-img >/dev/null || skip tool "qemu-img not installed (Debian package qemu-utils)"

virtio_transport_init
make_disk "$LIB_TMP/pristine.img"
base="$LIB_TMP/base.raw"
ovl="$LIB_TMP/overlay.qcow2"
ro="$LIB_TMP/ro.qcow2"
qemu-img convert -O qcow2 "$LIB_TMP/pristine.img" "$ro"
cp "$ro" "$LIB_TMP/ro.pristine"

for ring in split packed; do
	cp "$LIB_TMP/pristine.img" "$base"
	rm -f "$ovl"
	qemu-img create -q -f qcow2 -b "$base" -F raw "$ovl"
	run_vmm virtio_blk "${vmm_transport[@]}" --disk "$ovl,serial=vmm-disk-0,discard=on,backing_files=on" \
		--disk "$ro,ro,format=qcow2" --append "$(guest_args $ring) ring=$ring \
sectors=$SECTORS id=vmm-disk-0 ro_disk discard"
	expect_blk_output "$(irq_kind $ring)"
	check "qemu-img check of the overlay" qemu-img check -q "$ovl"
	qemu-img convert -O raw "$ovl" "$LIB_TMP/ovl.raw"
	check_disks "$LIB_TMP/ovl.raw" "$LIB_TMP/pristine.img"
	check "base untouched" cmp "$base" "$LIB_TMP/pristine.img"
	check "read-only qcow2 untouched" cmp "$ro" "$LIB_TMP/ro.pristine"
done

finish
