"""What this host can do, found once, and how a test that cannot run here says why.

A skip is not a pass: `skip(category, detail)` ends the test as skipped; when nothing in the
file ran, the file ends with 77 (CTest's SKIP_RETURN_CODE) and the first reason goes to
$VMM_SKIP_DIR for tools/test.sh's summary (conftest.py). A test file's "# requires: WHAT..."
line is checked before the file is imported (conftest.py: `requires_of`, `unmet`): a missing
need skips the whole file within a second, before it builds or boots anything.
`python3 -m framework.host requires SCRIPT` (from tests/integration) makes the same check for a
test that is not a pytest file (tests/harness/run_test.sh): exit 77 with the reason recorded.
"""
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from . import paths


def skip(category, detail):
    """Skips the current test: CATEGORY is the short reason counted ("no usable KVM")."""
    pytest.skip(f"{category}: {detail}")


@functools.cache
def kvm_line():
    """tools/kvm-probe.sh's line: "kvm: usable (hardware...)", "kvm: usable (kvm_pvm...)" or
    "kvm: unusable: WHY"."""
    dev = os.environ.get("VMM_KVM_PATH", "/dev/kvm")
    run = subprocess.run([str(paths.tool("kvm-probe.sh")), dev], capture_output=True, text=True)
    return run.stdout.strip() or f"kvm: unusable: kvm-probe.sh said nothing ({run.stderr.strip()})"


def kvm_usable():
    return kvm_line().startswith("kvm: usable")


def kvm_kind():
    """"hardware", "pvm" (guest kernel code emulated: kvm_pvm) or None (no usable KVM)."""
    if not kvm_usable():
        return None
    return "hardware" if "(hardware" in kvm_line() else "pvm"


@functools.cache
def help_text(program, *args):
    """What PROGRAM ARGS prints (stdout and stderr): a capability query of the VMM or QEMU
    ("--help", "-netdev help") that starts no VM, made once per process."""
    run = subprocess.run([str(program), *args], capture_output=True, text=True, timeout=60)
    return run.stdout + run.stderr


def is_root():
    return os.geteuid() == 0


def has(command):
    return shutil.which(command) is not None


def require(*needs):
    """Skips unless the host has every need: kvm, hwkvm, root, netns, qemu, or a command."""
    for need in needs:
        if need == "kvm":
            if not kvm_usable():
                skip("no usable KVM", kvm_line().removeprefix("kvm: unusable: "))
        elif need == "hwkvm":
            require("kvm")
            if kvm_kind() != "hardware":
                skip("no hardware KVM", f"this host's KVM is {kvm_line().removeprefix('kvm: ')}")
        elif need == "root":
            if not is_root():
                skip("not root", "needs root")
        elif need == "netns":
            require("root", "ip")
            if not os.path.exists("/dev/net/tun"):
                skip("no tap", "/dev/net/tun is missing")
        elif need == "qemu":
            if not has(paths.QEMU):
                skip("missing tool", f"{paths.QEMU} is not installed (tools/setup.sh)")
        elif not has(need):
            skip("missing tool", f"{need} is not installed (tools/setup.sh)")


def requires_of(path):
    """The words of the first "# requires: WHAT..." line of the test file PATH ([] if none)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("# requires: "):
                return line.removeprefix("# requires: ").split()
    return []


def unmet(*needs):
    """"CATEGORY: detail" of the first of NEEDS this host lacks (require's skip), else None."""
    try:
        require(*needs)
    except pytest.skip.Exception as e:
        return e.msg
    return None


def record_skip(reason):
    """Prints "SKIP: REASON" ("CATEGORY: detail") and, under CTest (VMM_SKIP_DIR and
    VMM_TEST_NAME set), leaves it in $VMM_SKIP_DIR/<test name> for tools/test_summary.sh."""
    skip_dir, name = os.environ.get("VMM_SKIP_DIR"), os.environ.get("VMM_TEST_NAME")
    if skip_dir and name:
        os.makedirs(skip_dir, exist_ok=True)
        Path(skip_dir, name.replace("/", "_")).write_text(reason + "\n")
    print(f"SKIP: {reason}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "requires":
        sys.exit("usage: python3 -m framework.host requires SCRIPT")
    unmet_reason = unmet(*requires_of(sys.argv[2]))
    if unmet_reason:
        record_skip(unmet_reason)
        sys.exit(77)
