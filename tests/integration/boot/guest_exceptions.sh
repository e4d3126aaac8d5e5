#!/usr/bin/env bash
# The exception path both ways: faults the guest expects are caught and checked (vector, error
# code, RIP, CR2; ring 0 and ring 3) and the run passes; an unexpected fault is reported by the
# runtime ("UNEXPECTED EXCEPTION: vector N (#XX)") and the run fails with status 35.
# labels: guests
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

# fault name -> the report line the runtime must print
declare -A report=(
	[ud]='vector 6 \(#UD\)'
	[de]='vector 0 \(#DE\)'
	[pf]='vector 14 \(#PF\) error 0x0 .* cr2 0x100001234'
	[gp]='vector 13 \(#GP\)'
	[user_bp]='vector 3 \(#BP\)'
	[user_pf]='vector 14 \(#PF\) error 0x4 .* cr2 0x100001234'
	[user_gp]='vector 13 \(#GP\)'
)

check_runs() { # runner
	"$1" exceptions
	expect_pass
	expect_output '^all expected faults caught$'
	expect_output '^hello from ring 3'
	for fault in "${!report[@]}"; do
		"$1" exceptions "${append_opt}" "fault=$fault"
		expect_status "$STATUS_EXCEPTION"
		expect_output "^UNEXPECTED EXCEPTION: ${report[$fault]}"
		expect_no_output '^TEST PASS'
	done
}

append_opt=--append
check_runs run_vmm
if have_qemu; then
	append_opt=-append
	check_runs run_qemu
fi
finish
