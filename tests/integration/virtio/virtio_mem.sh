#!/usr/bin/env bash
# virtio-mem over virtio-mmio and virtio-pci (tests/guests/virtio_mem.c): a driver that speaks the
# request protocol directly gets every answer the device gives (ACK, NACK, ERROR; STATE's three
# states), plugged memory holds data, an unplugged block reads zeros when plugged again, a request
# in plugged memory is answered and one in unplugged memory fails the device. Our VMM only.
# labels: guests virtio
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

for TRANSPORT in mmio pci; do
	virtio_transport_init
	run_vmm virtio_mem "${vmm_transport[@]}" --mem 64M \
		--memory-hotplug total=256M,requested=8M --append "$(guest_args split)"
	expect_pass
	expect_output '^virtio-mem at 0x[0-9a-f]+: region 0x8000000\+256 MiB, block 2 MiB'
	expect_output '^virtio-mem: ERROR and NACK answers ok'
	expect_output '^virtio-mem: a request in unplugged memory failed the device'
	expect_output '^virtio-mem: all answers ok'
done
finish
