# virtio-pmem over virtio-mmio and virtio-pci (tests/guests/virtio_pmem.c): the window above 4 GiB,
# FLUSHes answered 0 (after fsync; at once when read-only), an unknown request answered 1, a
# request without room for its answer given back empty. Then the host-side refusals: a file that
# is not a multiple of 2 MiB, a directory, a missing file. Our VMM only.
# labels: guests virtio
# requires: kvm
# timeout: 120
import os
import re

import pytest

from framework.guests import (boot_vmm, expect_output, expect_pass, guest_transport_args,
                              transport_args)


@pytest.mark.parametrize("ro", [0, 1])
@pytest.mark.parametrize("transport", ["mmio", "pci"])
def test_flush_and_answers(vms, workdir, transport, ro):
    img = workdir / "pmem.img"
    img.write_bytes(b"")
    os.truncate(img, 4 << 20)
    opt = f"path={img}" + (",ro" if ro else "")
    run = boot_vmm(vms, "virtio_pmem", *transport_args(transport), "--pmem", opt,
                   "--append", f"{guest_transport_args(transport)} size=4194304 ro={ro}")
    expect_pass(run)
    expect_output(run, r"^virtio-pmem at 0x[0-9a-f]+: window 0x100000000\+0x400000")
    expect_output(run, r"^virtio-pmem: all answers ok")


@pytest.mark.parametrize("kind", ["odd", "directory", "missing"])
def test_refused(vms, workdir, kind):
    odd = workdir / "odd.img"
    odd.write_bytes(b"")
    os.truncate(odd, 3 << 20)
    path, why = {"odd": (odd, "non-zero multiple of 2 MiB"),
                 "directory": (workdir, "not a regular file|Is a directory"),
                 "missing": (workdir / "missing", "No such file")}[kind]
    run = boot_vmm(vms, "virtio_pmem", "--pmem", f"path={path}")
    assert run.status not in (0, 1) and re.search(why, run.err), \
        f"--pmem path={path} not refused as /{why}/ (status {run.status})\n{run.tail()}"
