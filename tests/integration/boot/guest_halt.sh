#!/usr/bin/env bash
# A guest that halts every CPU with interrupts disabled (what Linux's `poweroff` does without a
# power-off device) ends the VMM with status 0 and a message; one that halts with interrupts
# enabled keeps the VMM waiting (a device could still wake it).
# labels: guests
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

for cpus in 1 2; do
	run_vmm halt --cpus "$cpus" --append "halt.cpus=$cpus"
	expect_status 0
	expect_output '^halting with interrupts disabled$'
	if grep -q 'halted every vCPU with interrupts disabled' "$RUN_ERR"; then
		lib_ok "the VMM said why it stopped"
	else
		lib_fail "no halt message on stderr"
	fi
done

# Interrupts enabled: not a power-off. The VMM must still be running when the timeout hits.
RUN_TIMEOUT=6 run_vmm halt --append "halt.irq=1"
expect_status 124
expect_output '^halting with interrupts enabled$'
finish
