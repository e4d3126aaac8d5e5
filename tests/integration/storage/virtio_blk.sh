#!/usr/bin/env bash
# virtio-blk over virtio-mmio, driven by the virtio_blk test guest (tests/guests/virtio_blk.c), on
# our VMM and on QEMU microvm, with a split and a packed ring: negotiation, config, GET_ID,
# read/write/flush, 32 requests in flight, indirect chains, interrupt suppression, write-zeroes,
# discard, IOERR past the end, a read-only second disk (writes refused with IOERR), and on our VMM
# a queue of a bad size (DEVICE_NEEDS_RESET, the other disk unaffected). The host then checks the
# files: the guest's pattern where it wrote, zeros where it wrote zeroes, the read-only file
# untouched.
# TRANSPORT=pci (virtio_blk_pci.sh) runs the same checks over modern virtio-pci instead: our VMM
# with --transport pci, QEMU q35 with virtio-blk-pci; the split-ring runs take interrupts by
# MSI-X, the packed-ring runs by INTx (pci_irq=intx: MSI-X off, the IOAPIC pin of the interrupt
# line, ISR read to clear).
# labels: guests virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/blk_lib.sh"

# Per transport: VMM options before the disks, QEMU machine and device model, guest arguments.
virtio_transport_init
qemu_blk=$(qemu_model blk)

make_disk "$LIB_TMP/pristine.img"
rw="$LIB_TMP/rw.img"
ro="$LIB_TMP/ro.img"

for ring in split packed; do
	make_disk "$rw"
	make_disk "$ro"
	run_vmm virtio_blk "${vmm_transport[@]}" --disk "$rw,serial=vmm-disk-0,discard=on" \
		--disk "$ro,ro" --append "$(guest_args $ring) ring=$ring sectors=$SECTORS \
id=vmm-disk-0 ro_disk discard bad_queue"
	expect_blk_output "$(irq_kind $ring)"
	expect_output '^bad queue size: status 0x4f \(DEVICE_NEEDS_RESET\), config interrupt: ok$'
	expect_output '^the other disk kept working; reset revived the failed one: ok$'
	check_disks "$rw" "$ro"
done

if have_qemu; then
	for ring in split packed; do
		packed=off
		[ "$ring" = packed ] && packed=on
		make_disk "$rw"
		make_disk "$ro"
		QEMU_MACHINE=$qemu_machine run_qemu virtio_blk "${qemu_extra[@]}" \
			-drive "id=d0,file=$rw,format=raw,if=none,discard=unmap" \
			-device "$qemu_blk,drive=d0,serial=qemu-disk-0,packed=$packed$qemu_opts" \
			-drive "id=d1,file=$ro,format=raw,if=none,readonly=on" \
			-device "$qemu_blk,drive=d1,packed=$packed$qemu_opts" \
			-append "$(guest_args $ring) ring=$ring sectors=$SECTORS id=qemu-disk-0 \
ro_disk discard"
		expect_blk_output "$(irq_kind $ring)"
		check_disks "$rw" "$ro"
	done
fi
finish
