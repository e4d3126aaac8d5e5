#!/usr/bin/env bash
# The guest-side fuzzer's fixed seeds (tools/fuzz/guest-fuzz runs random ones on the sanitized
# VMM): the hostile guest in fuzz mode (tests/guests/hostile.c `fuzz`, runtime/hostile_fuzz.c)
# drives every device at once over virtio-mmio and virtio-pci, split and packed rings, with
# register, configuration-space, BAR, MSI-X, queue set-up and reset steps and valid, nearly
# valid and hostile chains, and checks after every round that each device still serves a
# request. A run passes when the guest says so ("guest-fuzz: seed S, R rounds: ok", TEST PASS,
# status 1), no "GUEST-FUZZ FAIL" line was printed, the VMM did not crash or hang (timeout), and
# the disks were written only where the guest may write.
#
# Seeds: a few picked at random once, plus every seed that found a bug (keep them):
#   pci 2: a virtio-blk reset with io_uring requests in flight killed the VMM by SIGSYS (the
#          vCPU's filter lacked io_uring_enter, vmm/vm/vcpu.c); also mmio 2516716250.
# labels: guests virtio fuzz
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/hostile_lib.sh"

MMIO_SEEDS=${GUEST_FUZZ_MMIO_SEEDS:-"1 3 2516716250"}
PCI_SEEDS=${GUEST_FUZZ_PCI_SEEDS:-"2 4 6"}
ROUNDS=${GUEST_FUZZ_ROUNDS:-150}

hostile_setup

check_run() {
	expect_pass
	expect_output "^guest-fuzz: seed $1, $ROUNDS rounds, [0-9]+ devices over $2: blk0 blk1\(ro\) rng0 console0"
	expect_output "^guest-fuzz: seed $1, $ROUNDS rounds: ok"
	expect_no_output 'GUEST-FUZZ FAIL|UNEXPECTED EXCEPTION'
	hostile_check_files
	if [ "$RUN_STATUS" != "$STATUS_PASS" ]; then
		echo "reproduce on the sanitized VMM: tools/fuzz/guest-fuzz --seed $1 --rounds $ROUNDS --transport $2"
	fi
}

for seed in $MMIO_SEEDS; do
	hostile_run guest-fuzz mmio "$seed" fuzz
	check_run "$seed" mmio
done
for seed in $PCI_SEEDS; do
	hostile_run guest-fuzz pci "$seed" fuzz
	check_run "$seed" pci
done
finish
