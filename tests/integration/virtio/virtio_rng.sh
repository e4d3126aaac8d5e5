#!/usr/bin/env bash
# virtio-rng over virtio-mmio (tests/guests/virtio_rng.c): several buffers filled with random
# bytes, completions announced by the device's interrupt; split and packed rings; on our VMM also
# with a rate limit (the device may then fill a buffer only partly). Our VMM and QEMU microvm.
# TRANSPORT=pci (virtio_rng_pci.sh): the same over modern virtio-pci (our VMM --transport pci,
# QEMU q35 virtio-rng-pci), MSI-X on the split-ring runs, INTx on the packed-ring runs.
# labels: guests virtio
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

virtio_transport_init
qemu_dev=("${qemu_extra[@]}" -device "$(qemu_model rng)$qemu_opts")
expect_transport() {
	[ "$TRANSPORT" = pci ] || return 0
	local kind=MSI-X
	[ "$1" = packed ] && kind=INTx
	expect_output "^rng: virtio-pci 00:[0-9a-f]{2}\.0, BAR 0x[0-9a-f]+, $kind "
}

for ring in split packed; do
	run_vmm virtio_rng "${vmm_transport[@]}" --rng --append "$(guest_args $ring) ring=$ring"
	expect_pass
	expect_transport $ring
	expect_output "^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: $ring ring"
	expect_output '^random bytes: 5 buffers ok'
done
run_vmm virtio_rng "${vmm_transport[@]}" --rng=rate=2K --append "$(guest_args split)"
expect_pass
expect_output '^random bytes: 5 buffers ok'

if have_qemu; then
	for ring in split packed; do
		packed=off
		[ "$ring" = packed ] && packed=on
		qemu_dev[${#qemu_dev[@]} - 1]="${qemu_dev[-1]%%,packed=*},packed=$packed"
		QEMU_MACHINE=$qemu_machine run_qemu virtio_rng "${qemu_dev[@]}" \
			-append "$(guest_args $ring) ring=$ring"
		expect_pass
		expect_transport $ring
		expect_output "^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: $ring ring"
		expect_output '^random bytes: 5 buffers ok'
	done
fi
finish
