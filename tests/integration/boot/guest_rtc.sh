#!/usr/bin/env bash
# The CMOS clock read from a guest as every distribution kernel's rtc_cmos driver reads it, on a
# VMM that has logged nothing before (no -v, no logger, no timestamp yet): its vCPU thread, under
# its seccomp filter, must answer without libc loading the time zone (issue 46: the first
# gmtime_r() opened /etc/localtime and the filter killed the VMM, status 159, no message).
# The guest's date is the host's UTC date.
# labels: guests
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

check_date() {
	local seen
	seen=$(tr -d '\r' <"$RUN_OUT" | sed -n 's/^rtc: \([0-9-]*\) .*/\1/p')
	if [ -n "$seen" ] && { [ "$seen" = "$before" ] || [ "$seen" = "$(date -u +%F)" ]; }; then
		lib_ok "the guest's date $seen is the host's UTC date"
	else
		lib_fail "the guest read the date '$seen', the host's UTC date is $before"
	fi
}

for seccomp in on log; do
	before=$(date -u +%F)
	run_vmm rtc_clock --seccomp "$seccomp"
	expect_pass
	expect_output '^rtc: 20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]$'
	check_date
done

if have_qemu; then
	before=$(date -u +%F)
	QEMU_MACHINE=q35 run_qemu rtc_clock -rtc base=utc
	expect_pass
	check_date
fi
finish
