# The layers are enforced by the build (cmake/layers.cmake): configuring a copy of the tree in
# which a lower layer includes a header of a higher one (also between the folders of vmm/), a
# device includes another device's header, production code includes a test-only *_test.h, or
# generic code includes a header of an architecture's folder (host/kvm/kvm.c,
# host/kvm/x86/cpuid.h: the arch rule, whose known offenders cmake/arch_debt.cmake lists; also
# base/x86/arch/layout.h named directly), or includes an "arch/X" header the architecture lacks
# (base/x86/arch/X), must fail with a message naming the file and the include; the tree as it
# is must configure. The
# plants share one copy and configure side by side.
# labels: lint
# timeout: 120
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from framework import paths

TOPS = ["CMakeLists.txt", "cmake", "base", "host", "vmm", "devices", "firmware", "loaders",
        "virtio", "tests", "tools"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the tracked sources (no build trees, no fuzz corpora) in DIR/src."""
    root = tmp_path_factory.mktemp("layers")
    listed = subprocess.run(["git", "ls-files", "--", *TOPS], cwd=paths.SOURCE_DIR,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    src = root / "src"
    for rel in listed:
        if not rel or "/corpus/" in rel or "/regressions/" in rel:
            continue
        if not (paths.SOURCE_DIR / rel).exists():
            continue  # removed in the work tree, not yet committed
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(paths.SOURCE_DIR / rel, target)
    return root


def plant(src, rel, after, include):
    """A copy of SRC (a tree) with INCLUDE added after the line AFTER of file REL."""
    path = src / rel
    text = path.read_text()
    assert after in text, f"{rel} no longer has {after!r}: the test needs a new anchor"
    path.write_text(text.replace(after, f"{after}\n#include \"{include}\"", 1))


def configure(root, name, change=None):
    """Configures a copy of ROOT/src (changed by CHANGE) into ROOT/NAME; returns (ok, log)."""
    src = root / f"src-{name}"
    shutil.copytree(root / "src", src, symlinks=True)
    if change:
        change(src)
    run = subprocess.run(["cmake", "-S", src, "-B", root / f"build-{name}"],
                         capture_output=True, text=True)
    return run.returncode == 0, run.stdout + run.stderr


PLANTS = {
    "clean": None,
    # base (the bottom layer) reaching up into the virtio device framework
    "upward": lambda s: plant(s, "base/log.c", '#include "base/log.h"', "virtio/core/device.h"),
    # the VM reaching up into the device descriptors (vmm/'s folders are layers: issue 65)
    "vmm_upward": lambda s: plant(s, "vmm/vm/vm.c", '#include "vmm/vm/vm.h"',
                                  "vmm/descriptors/device_table.h"),
    # a device reaching sideways into another device
    "sideways": lambda s: plant(s, "virtio/rng/rng.c", '#include "virtio/core/serve.h"',
                                "virtio/blk/blk.h"),
    # production code including a module's test-only header
    "testonly": lambda s: plant(s, "vmm/vm/vm_pause.c", '#include "vmm/vm/vm_pause.h"',
                                "vmm/vm/vm_pause_test.h"),
    # generic code of a layer including its own layer's x86 code (the layers allow it)
    "arch": lambda s: plant(s, "host/kvm/kvm.c", '#include "host/kvm/kvm.h"',
                            "host/kvm/x86/cpuid.h"),
    # an "arch/X" include (base/<arch>/arch/X) that the architecture built does not have
    "arch_missing": lambda s: plant(s, "vmm/vm/vm.c", '#include "vmm/vm/vm.h"',
                                    "arch/nonexistent.h"),
    # generic code naming base/x86/arch/layout.h itself rather than "arch/layout.h"
    "arch_direct": lambda s: plant(s, "vmm/vm/vm.c", '#include "vmm/vm/vm.h"',
                                   "base/x86/arch/layout.h"),
}


@pytest.fixture(scope="module")
def results(tree):
    with ThreadPoolExecutor(len(PLANTS)) as pool:
        futures = {name: pool.submit(configure, tree, name, change)
                   for name, change in PLANTS.items()}
        return {name: future.result() for name, future in futures.items()}


def test_the_tree_configures(results):
    ok, log = results["clean"]
    assert ok, f"the tree as it is does not configure:\n{log[-4000:]}"


def test_an_upward_include_is_refused(results):
    ok, log = results["upward"]
    assert not ok, "an upward include (base -> virtio/core) configured"
    assert 'layer vmm_base: base/log.c includes "virtio/core/device.h"' in log, log[-4000:]


def test_a_vmm_folder_cannot_include_one_above_it(results):
    ok, log = results["vmm_upward"]
    assert not ok, "vmm/vm including vmm/descriptors configured"
    flat = re.sub(r"[\n ]+", " ", log)
    assert 'layer vmm_vm: vmm/vm/vm.c includes "vmm/descriptors/device_table.h"' in flat, \
        log[-4000:]


def test_a_sideways_include_is_refused(results):
    ok, log = results["sideways"]
    assert not ok, "virtio/rng including virtio/blk configured"
    assert "layer virtio_rng" in log, log[-4000:]


def test_a_test_only_header_is_refused(results):
    ok, log = results["testonly"]
    assert not ok, "vmm/vm/vm_pause.c including vmm/vm/vm_pause_test.h configured"
    flat = re.sub(r"[\n ]+", " ", log)
    assert 'vmm/vm/vm_pause.c includes "vmm/vm/vm_pause_test.h"' in flat, log[-4000:]


def test_generic_code_including_arch_code_is_refused(results):
    ok, log = results["arch"]
    assert not ok, "host/kvm/kvm.c including host/kvm/x86/cpuid.h configured"
    flat = re.sub(r"[\n ]+", " ", log)
    assert 'host/kvm/kvm.c includes "host/kvm/x86/cpuid.h", a header of the x86' in flat, \
        log[-4000:]


def test_a_missing_arch_header_is_refused(results):
    ok, log = results["arch_missing"]
    assert not ok, "vmm/vm/vm.c including arch/nonexistent.h configured"
    flat = re.sub(r"[\n ]+", " ", log)
    assert ('layer vmm_vm: vmm/vm/vm.c includes "arch/nonexistent.h", an architecture header, '
            'but the x86 architecture has no base/x86/arch/nonexistent.h') in flat, log[-4000:]


def test_generic_code_naming_the_arch_folder_of_base_is_refused(results):
    ok, log = results["arch_direct"]
    assert not ok, "vmm/vm/vm.c including base/x86/arch/layout.h configured"
    flat = re.sub(r"[\n ]+", " ", log)
    assert 'vmm/vm/vm.c includes "base/x86/arch/layout.h", a header of the x86' in flat, \
        log[-4000:]
