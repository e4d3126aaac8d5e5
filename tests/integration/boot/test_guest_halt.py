# A guest that halts every CPU with interrupts disabled (what Linux's `poweroff` does without a
# power-off device) ends the VMM with status 0 and a message; one that halts with interrupts
# enabled keeps the VMM waiting (a device could still wake it).
# labels: guests
# requires: kvm
# timeout: 180
import pytest

from framework.guests import boot_vmm, expect_output, expect_status, guest_path
from framework.proc import WaitTimeout


@pytest.mark.parametrize("cpus", [1, 2])
def test_halt_with_interrupts_disabled_ends_the_vmm(vms, cpus):
    run = boot_vmm(vms, "halt", "--cpus", cpus, "--append", f"halt.cpus={cpus}")
    expect_status(run, 0)
    expect_output(run, r"^halting with interrupts disabled$")
    assert "halted every vCPU with interrupts disabled" in run.err, \
        f"no halt message on stderr\n{run.tail()}"


def test_halt_with_interrupts_enabled_keeps_it_running(vms):
    # Not a power-off: the VMM must still be running 6 s after the guest halted (the bash
    # version's run timeout). The wait for an exit that must not come is the measurement.
    vm = vms.start(["--kernel", guest_path("halt"), "--debug-exit", "--console", "stdio",
                    "--mem", "256M", "--append", "halt.irq=1"], name="vmm-halt-irq")
    vm.wait_out(r"^halting with interrupts enabled$", 60)
    with pytest.raises(WaitTimeout):
        vm.wait(6)
    assert vm.alive()
