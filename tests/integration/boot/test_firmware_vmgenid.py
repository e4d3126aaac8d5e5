# linux_vmgenid through Debian's SeaBIOS (`--firmware bios-256k.bin --kernel bzImage`): the VM
# generation ID placed by the firmware's table loader (etc/vmgenid_guid, the DSDT's ADDR patched,
# the address written back to etc/vmgenid_addr), read by the default guest where the firmware put
# it, and renewed there in each of two clones restored from one snapshot (the guest's crng
# reseeded, the GED's interrupt counted). The VMM logs where the firmware placed it ("vmgenid: the
# firmware placed the ID at 0x..."); the guest reads the ID there with devmem (a reserved page:
# /dev/mem allows it), and the clones must find their new IDs at that same address, which the
# snapshot keeps (no firmware runs on a restore). linux/vmgenid_checks.py has the checks and
# linux/test_linux_vmgenid.py says why each.
# 300 s measured on 2026-11-28 on the 2-core kvm_pvm host at a load average of 5-12 (one boot
# through SeaBIOS, minutes there; two clones restored side by side).
# labels: slow linux snapshot firmware
# requires: kvm
# timeout: 900
# resource: linux:1
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "linux"))
import vmgenid_checks as checks  # noqa: E402
from vmgenid_checks import (test_booted_guest_has_not_reseeded, test_booted_id,  # noqa: E402,F401
                            test_clone_ged_interrupt_and_reseed, test_each_clone_has_its_own_id,
                            test_vgen_device_and_driver)


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, module_vms.workdir, firmware=True)


def test_firmware_wrote_back_the_id_address(facts):
    assert facts.get("fw_addr"), "the VMM never learnt where the firmware placed the ID"
