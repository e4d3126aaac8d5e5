#!/usr/bin/env bash
# The PVH memory map against the configured RAM size: sorted, non-overlapping, nothing in the
# 3-4 GiB MMIO hole, RAM total = size minus at most 1 MiB. Below and above the hole, and a
# negative control (a wrong expect_mem must fail). QEMU microvm's firmware hands over an unsorted
# map with an empty entry, so it runs with `lenient`; q35 (SeaBIOS) runs strict.
# labels: guests
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

for mem in 256M 4G; do
	run_vmm memmap --mem "$mem" --append "expect_mem=$mem"
	expect_pass
	expect_output '^RAM total'
done
run_vmm memmap --mem 256M --append "expect_mem=512M"
expect_status "$STATUS_FAIL"
expect_output 'not within'

if have_qemu; then
	for mem in 256M 4G; do
		run_qemu memmap -m "$mem" -append "expect_mem=$mem lenient"
		expect_pass
		QEMU_MACHINE=q35 run_qemu memmap -m "$mem" -append "expect_mem=$mem"
		expect_pass
	done
	run_qemu memmap -append "expect_mem=512M lenient"
	expect_status "$STATUS_FAIL"
fi
finish
