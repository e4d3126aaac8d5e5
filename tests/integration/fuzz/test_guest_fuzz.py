# The guest-side fuzzer's fixed seeds (tools/fuzz/guest-fuzz runs random ones on the sanitized
# VMM): the hostile guest in fuzz mode (tests/guests/hostile.c `fuzz`, runtime/hostile_fuzz.c)
# drives every device at once over virtio-mmio and virtio-pci, split and packed rings, with
# register, configuration-space, BAR, MSI-X, queue set-up and reset steps and valid, nearly
# valid and hostile chains, and checks after every round that each device still serves a
# request. A run passes when the guest says so ("guest-fuzz: seed S, R rounds: ok", TEST PASS,
# status 1), no "GUEST-FUZZ FAIL" line was printed, the VMM did not crash or hang (timeout), and
# the disks were written only where the guest may write.
#
# Seeds: a few picked at random once, plus every seed that found a bug (keep them):
#   pci 2: a virtio-blk reset with io_uring requests in flight killed the VMM by SIGSYS (the
#          vCPU's filter lacked io_uring_enter, vmm/vm/vcpu.c); also mmio 2516716250.
# labels: guests virtio fuzz
# requires: kvm
# timeout: 300
import os

import pytest

from framework.hostile import Hostile
from framework.guests import expect_no_output, expect_output, expect_pass


def seeds(variable, default):
    return os.environ.get(variable, default).split()


MMIO_SEEDS = seeds("GUEST_FUZZ_MMIO_SEEDS", "1 3 2516716250")
PCI_SEEDS = seeds("GUEST_FUZZ_PCI_SEEDS", "2 4 6")
ROUNDS = int(os.environ.get("GUEST_FUZZ_ROUNDS", "150"))


@pytest.mark.parametrize("transport,seed",
                         [("mmio", s) for s in MMIO_SEEDS] + [("pci", s) for s in PCI_SEEDS])
def test_seed(vms, transport, seed):
    hostile = Hostile(vms)
    run = hostile.run(transport, seed, "fuzz", ROUNDS)
    print(f"reproduce on the sanitized VMM: tools/fuzz/guest-fuzz --seed {seed} "
          f"--rounds {ROUNDS} --transport {transport}")
    expect_pass(run)
    expect_output(run, rf"^guest-fuzz: seed {seed}, {ROUNDS} rounds, [0-9]+ devices over "
                       rf"{transport}: blk0 blk1\(ro\) rng0 console0")
    expect_output(run, rf"^guest-fuzz: seed {seed}, {ROUNDS} rounds: ok")
    expect_no_output(run, r"GUEST-FUZZ FAIL|UNEXPECTED EXCEPTION")
    changed = hostile.disks_changed()
    assert not changed, "; ".join(changed)
