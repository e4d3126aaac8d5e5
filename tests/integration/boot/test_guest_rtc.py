# The CMOS clock read from a guest as every distribution kernel's rtc_cmos driver reads it, on a
# VMM that has logged nothing before (no -v, no logger, no timestamp yet): its vCPU thread, under
# its seccomp filter, must answer without libc loading the time zone (issue 46: the first
# gmtime_r() opened /etc/localtime and the filter killed the VMM, status 159, no message).
# The guest's date is the host's UTC date.
# labels: guests
# requires: kvm
# timeout: 180
import datetime
import re

import pytest

from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_output, expect_pass


def utc_date():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def check_date(run, before):
    """The guest's date is the host's UTC date (the one before the run or after it: midnight)."""
    match = re.search(r"^rtc: ([0-9-]*) ", run.out, re.M)
    seen = match.group(1) if match else ""
    assert seen and seen in (before, utc_date()), \
        f"the guest read the date '{seen}', the host's UTC date is {before}\n{run.tail()}"


@pytest.mark.parametrize("seccomp", ["on", "log"])
def test_on_our_vmm(vms, seccomp):
    before = utc_date()
    run = boot_vmm(vms, "rtc_clock", "--seccomp", seccomp)
    expect_pass(run)
    expect_output(run, r"^rtc: 20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]$")
    check_date(run, before)


def test_on_qemu(vms):
    host.require("qemu")
    before = utc_date()
    run = boot_qemu(vms, "rtc_clock", "-rtc", "base=utc", machine="q35")
    expect_pass(run)
    check_date(run, before)
