# The hostile guest (tests/guests/hostile.c) against our VMM: every virtio device (a writable and
# a read-only virtio-blk disk, virtio-rng, virtio-console, virtio-net on user networking when the
# VMM has libslirp, virtio-vsock with no host listener: its good request is a REQUEST that the
# device answers with RST, virtio-balloon with a target of 0 so that it refuses every inflation)
# abused item by item from the virtio checklist, then a seeded random driver,
# with several seeds, over virtio-mmio and virtio-pci. The VMM must end with the guest's pass
# status (not a crash, not a hang: the run has a timeout), the abused device must report
# DEVICE_NEEDS_RESET where the spec asks for it and come back after a reset, and the other
# devices must keep working; afterwards the host checks the files: the host's pattern intact,
# the read-only disk untouched. HOSTILE_SEEDS, HOSTILE_PCI_SEEDS and HOSTILE_ROUNDS change the
# seeds and the rounds.
#
# Our VMM only: QEMU reacts to the same abuses in its own (legal) ways, e.g. it stops a broken
# queue or the whole VM ("virtio: zero sized buffers are not allowed", exit) instead of setting
# DEVICE_NEEDS_RESET, so the guest's expectations are ours.
# labels: guests virtio slow
# requires: kvm
# timeout: 600
import os

import pytest

from framework.guests import expect_no_output, expect_output, expect_pass
from framework.hostile import Hostile

MMIO_SEEDS = os.environ.get("HOSTILE_SEEDS", "1 2 3").split()
PCI_SEEDS = os.environ.get("HOSTILE_PCI_SEEDS", "4 5").split()
ROUNDS = int(os.environ.get("HOSTILE_ROUNDS", 120))


@pytest.mark.parametrize("transport, seed", [("mmio", s) for s in MMIO_SEEDS] +
                         [("pci", s) for s in PCI_SEEDS])
def test_hostile(vms, transport, seed):
    hostile = Hostile(vms)
    run = hostile.run(transport, seed, "", ROUNDS, timeout=60)
    expect_pass(run)
    expect_output(run, rf"^hostile: seed {seed}, {ROUNDS} rounds, [0-9]+ devices over "
                       rf"{transport}: blk0 blk1\(ro\) rng0 console0")
    expect_output(run, r"^hostile: .* vsock0( |$)")
    expect_output(run, r"^checklist sweep: [0-9]+ abuses x [0-9]+ devices: ok")
    expect_output(run, r"^random driver: [0-9]+ rounds: ok")
    expect_output(run, rf"^hostile: seed {seed}, .* balloon0( |$)")  # found and abused too
    expect_no_output(run, r"UNEXPECTED EXCEPTION|FAIL")
    why = hostile.disks_changed()
    assert not why, f"file: {'; '.join(why)}"
