#!/usr/bin/env bash
# The smallest test guest on our VMM and on QEMU (microvm and q35): PVH entry, long mode, COM1
# output, isa-debug-exit pass status.
# labels: guests
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

run_vmm hello --append "hello=1"
expect_pass
expect_output '^hello from the test guest$'
expect_output 'cmdline "hello=1"'

if have_qemu; then
	for machine in microvm q35; do
		QEMU_MACHINE=$machine run_qemu hello -append "hello=1"
		expect_pass
		expect_output '^hello from the test guest$'
		expect_output 'cmdline "hello=1"'
	done
fi
finish
