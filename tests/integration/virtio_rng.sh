#!/usr/bin/env bash
# virtio-rng over virtio-mmio (tests/guests/virtio_rng.c): several buffers filled with random
# bytes, completions announced by the device's interrupt; split and packed rings; on our VMM also
# with a rate limit (the device may then fill a buffer only partly). Our VMM and QEMU microvm.
# labels: guests virtio
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for ring in split packed; do
	run_vmm virtio_rng --rng --append "ring=$ring"
	expect_pass
	expect_output "^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: $ring ring"
	expect_output '^random bytes: 5 buffers ok'
done
run_vmm virtio_rng --rng=rate=2K
expect_pass
expect_output '^random bytes: 5 buffers ok'

if have_qemu; then
	for ring in split packed; do
		packed=off
		[ "$ring" = packed ] && packed=on
		# acpi=off: microvm then lists its virtio-mmio windows on the command line.
		QEMU_MACHINE=microvm,acpi=off run_qemu virtio_rng \
			-global virtio-mmio.force-legacy=false \
			-device "virtio-rng-device,packed=$packed" -append "ring=$ring"
		expect_pass
		expect_output "^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: $ring ring"
		expect_output '^random bytes: 5 buffers ok'
	done
fi
finish
