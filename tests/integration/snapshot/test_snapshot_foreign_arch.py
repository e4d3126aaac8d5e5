# A snapshot of another architecture's VM is refused by name, before KVM is asked anything: a
# crafted state file whose CPU model is an aarch64 VM's (snapshot_craft.py ... arm64) makes the
# x86 `vmm --check-cpu DIR` and `vmm --restore DIR` exit 2 with "a snapshot of an aarch64 VM"
# (--kvm names no device, so a restore that got past the check would fail there instead). The
# other direction (an x86 VM's snapshot on the arm64 VMM) is checked in the arm64 L1
# (integration/arm64_linux). Needs no KVM.
# labels: snapshot cli
# timeout: 60
import json
import subprocess
import sys

from framework.snapshot_util import LIB

CRAFT = LIB / "snapshot_craft.py"


def test_aarch64_snapshot_refused_on_x86(vms, workdir):
    snap = workdir / "snap"
    snap.mkdir()
    opts = json.dumps([["mem", "256M"]])
    subprocess.run([sys.executable, str(CRAFT), str(snap / "state"), opts, str(256 << 20),
                    "arm64"], check=True)
    for name, argv in (("check-cpu", ["--check-cpu", str(snap)]),
                       ("restore", ["--restore", str(snap), "--kvm", str(workdir / "no-kvm")])):
        run = vms.run(argv, timeout=30, name=name)
        assert run.status == 2 and "a snapshot of an aarch64 VM" in run.err, run.tail()
