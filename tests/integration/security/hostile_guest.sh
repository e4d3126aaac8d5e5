#!/usr/bin/env bash
# The hostile guest (tests/guests/hostile.c) against our VMM: every virtio device (a writable and
# a read-only virtio-blk disk, virtio-rng, virtio-console, virtio-net on user networking when the
# VMM has libslirp, virtio-vsock with no host listener: its good request is a REQUEST that the
# device answers with RST, virtio-balloon with a target of 0 so that it refuses every inflation)
# abused item by item from the virtio checklist, then a seeded random driver,
# with several seeds, over virtio-mmio and virtio-pci. The VMM must end with the guest's pass
# status (not a crash, not a hang: the run has a timeout), the abused device must report
# DEVICE_NEEDS_RESET where the spec asks for it and come back after a reset, and the other
# devices must keep working; afterwards the host checks the files: the host's pattern intact,
# the read-only disk untouched.
#
# Our VMM only: QEMU reacts to the same abuses in its own (legal) ways, e.g. it stops a broken
# queue or the whole VM ("virtio: zero sized buffers are not allowed", exit) instead of setting
# DEVICE_NEEDS_RESET, so the guest's expectations are ours.
# labels: guests virtio slow
# requires: kvm
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/hostile_lib.sh"

MMIO_SEEDS=${HOSTILE_SEEDS:-"1 2 3"}
PCI_SEEDS=${HOSTILE_PCI_SEEDS:-"4 5"}
ROUNDS=${HOSTILE_ROUNDS:-120}

hostile_setup

check_run() {
	expect_pass
	expect_output "^hostile: seed $1, $ROUNDS rounds, [0-9]+ devices over $2: blk0 blk1\(ro\) rng0 console0"
	expect_output "^hostile: .* vsock0( |$)"
	expect_output '^checklist sweep: [0-9]+ abuses x [0-9]+ devices: ok'
	expect_output '^random driver: [0-9]+ rounds: ok'
	expect_output "^hostile: seed $1, .* balloon0( |$)" # the balloon was found and abused too
	expect_no_output 'UNEXPECTED EXCEPTION|FAIL'
	hostile_check_files
}

for seed in $MMIO_SEEDS; do
	hostile_run hostile mmio "$seed"
	check_run "$seed" mmio
done
for seed in $PCI_SEEDS; do
	hostile_run hostile pci "$seed"
	check_run "$seed" pci
done
finish
