# SendCtrlAltDel through the API reaches the guest as keyboard scancodes on the i8042 (IRQ 1):
# the i8042_keys test guest (tests/guests/i8042_keys.c) waits for the whole make/break sequence,
# in scancode set 1 (translation on, as Linux sets it up) and set 2 (translation off), started
# with --kernel and controlled over --api-sock.
# labels: api
# requires: kvm
# timeout: 180
import pytest

from framework import host
from framework.guests import expect_output, expect_pass, guest_path


@pytest.mark.parametrize("xlate", [1, 0])
def test_send_ctrl_alt_del(vms, xlate):
    host.require("kvm")
    vm = vms.start(["--kernel", guest_path("i8042_keys"), "--debug-exit",
                    "--append", f"xlate={xlate} wait_ms=60000"], name=f"vmm-xlate{xlate}", api=True)
    vm.wait_out(r"waiting for Ctrl-Alt-Del", 30)
    vm.api.want(204, "PUT", "/actions", {"action_type": "SendCtrlAltDel"}, timeout=30)
    vm.status = vm.wait(120)
    expect_pass(vm)
    expect_output(vm, r"^Ctrl-Alt-Del received: ok$")
    print("\n".join(line for line in vm.out.splitlines() if line.startswith("codes:")))
