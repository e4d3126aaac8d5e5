# Clones that know they are clones: the VM generation ID (devices/vmgenid.h) seen by the default
# Linux guest. The guest boots to its shell with the VMM's ACPI tables; the shell shows the ACPI
# device \_SB.VGEN (/sys/bus/acpi/devices/VMGENCTR:00), the driver bound to it (Linux's vmgenid:
# drivers/virt/vmgenid.c), and the 16 ID bytes read from /dev/mem at VMGENID_ADDR (0xA0000,
# e820-reserved below 1 MiB, which STRICT_DEVMEM lets root read), non-zero. The VM is paused,
# snapshotted and killed, then restored twice from the one snapshot, as two clones side by side:
# in each the ID in guest memory differs from the snapshot's and from the other clone's, the GED's
# interrupt count went up, and the kernel says "random: crng reseeded due to virtual machine fork"
# on the clone's console (the GED's _EVT notified VGEN, the driver called
# add_vmfork_randomness()), which the booted guest had not said. Linux reseeds only a ready crng:
# the guest boots with random.trust_cpu=on (RDRAND's bits count, so "crng init done" comes at
# boot); on a CPU without RDRAND a clone without the line is a skip, not a failure. The kernel's
# lines are read from the consoles, not with dmesg in the guest, and each value the guest prints
# comes from one program in `$(...)`, tried up to three times: on kvm_pvm a busybox program the
# guest's shell starts sometimes dies at its first thread-local access (docs/testing.md, "Known
# issue").
# test_firmware_linux.py (boot/) runs the same checks through SeaBIOS (vmgenid_checks.py). A boot
# of its own, not the shared snapshot: what the booted VM said is checked, and the clones are
# restored right after the snapshot (vmgenid_checks.py says why).
# Skipped (77) while the default guest's kernel has no ACPI (guest-images/kernel.config without
# CONFIG_ACPI: no /sys/bus/acpi); with ACPI but no vmgenid driver (CONFIG_VMGENID) it fails.
# More than 5 minutes on a loaded kvm_pvm host (678 s measured on 2026-11-28 at a load average of
# 15-20 on 2 cores; the bash version took 637 s there): one Linux boot, which takes minutes there,
# and some 15 commands typed at the guest's shell at emulated speed.
# labels: slow linux snapshot
# requires: kvm
# timeout: 900
# resource: linux:1
import pytest

import vmgenid_checks as checks
from vmgenid_checks import (test_booted_guest_has_not_reseeded, test_booted_id,  # noqa: F401
                            test_clone_ged_interrupt_and_reseed, test_each_clone_has_its_own_id,
                            test_vgen_device_and_driver)


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, module_vms.workdir, firmware=False)
