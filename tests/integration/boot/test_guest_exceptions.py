# The exception path both ways: faults the guest expects are caught and checked (vector, error
# code, RIP, CR2; ring 0 and ring 3) and the run passes; an unexpected fault is reported by the
# runtime ("UNEXPECTED EXCEPTION: vector N (#XX)") and the run fails with status 35.
# labels: guests
# requires: kvm
# timeout: 300
import pytest

from framework import host
from framework.guests import (EXCEPTION, boot_qemu, boot_vmm, expect_no_output, expect_output,
                              expect_pass, expect_status)

# fault name -> the report line the runtime must print
REPORT = {
    "ud": r"vector 6 \(#UD\)",
    "de": r"vector 0 \(#DE\)",
    "pf": r"vector 14 \(#PF\) error 0x0 .* cr2 0x100001234",
    "gp": r"vector 13 \(#GP\)",
    "user_bp": r"vector 3 \(#BP\)",
    "user_pf": r"vector 14 \(#PF\) error 0x4 .* cr2 0x100001234",
    "user_gp": r"vector 13 \(#GP\)",
}


def boot(vms, runner, *append):
    if runner == "qemu":
        host.require("qemu")
        return boot_qemu(vms, "exceptions", *(["-append", *append] if append else []))
    return boot_vmm(vms, "exceptions", *(["--append", *append] if append else []))


@pytest.mark.parametrize("runner", ["vmm", "qemu"])
def test_expected_faults_caught(vms, runner):
    run = boot(vms, runner)
    expect_pass(run)
    expect_output(run, r"^all expected faults caught$")
    expect_output(run, r"^hello from ring 3")


@pytest.mark.parametrize("fault", list(REPORT))
@pytest.mark.parametrize("runner", ["vmm", "qemu"])
def test_unexpected_fault_reported(vms, runner, fault):
    run = boot(vms, runner, f"fault={fault}")
    expect_status(run, EXCEPTION)
    expect_output(run, rf"^UNEXPECTED EXCEPTION: {REPORT[fault]}")
    expect_no_output(run, r"^TEST PASS")
