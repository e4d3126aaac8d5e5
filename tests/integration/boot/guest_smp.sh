#!/usr/bin/env bash
# AP start-up with INIT-SIPI-SIPI: every vCPU must check in with its own APIC ID. CPU counts from
# the command line (ncpus=N) and, on our VMM, from its MP table. A count mismatch must fail.
# (QEMU q35's SeaBIOS MP table lists only the BSP, so QEMU runs always pass ncpus=.)
# labels: guests
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

for n in 1 2 4; do
	run_vmm smp --cpus "$n" --append "ncpus=$n"
	expect_pass
	expect_output "^all $n CPUs up$"
done
run_vmm smp --cpus 3
expect_pass
expect_output '^MP table lists 3 CPUs$'
run_vmm smp --cpus 4 --append "ncpus=2"
expect_status "$STATUS_FAIL"

if have_qemu; then
	for n in 2 4; do
		run_qemu smp -smp "$n" -append "ncpus=$n"
		expect_pass
		expect_output "^all $n CPUs up$"
	done
	QEMU_MACHINE=q35 run_qemu smp -smp 2 -append "ncpus=2"
	expect_pass
fi
finish
