# The suite on a host without a usable KVM, made here on any host: in a private mount namespace an
# empty file is bind-mounted over /dev/kvm. There
#  - tools/kvm-probe.sh and `vmm --check-kvm` both say KVM is unusable, with the same line;
#  - tools/boot.sh stops within seconds, before installing or building anything, with the reason;
#  - a slice of the suite runs as CTest runs it (run_test.sh): the tests that need no guest pass,
#    every test that boots one is skipped (exit 77, reason "no usable KVM") within seconds, and
#    none fails; a Criterion test that needs KVM skips its cases and passes.
# labels: cli
# requires: root unshare
# timeout: 600
import os
import re
import shutil
import time

import pytest

from framework import host, paths

INTEGRATION = paths.SOURCE_DIR / "tests" / "integration"


@pytest.fixture(scope="module")
def mask(module_vms):
    """The wrapper that runs a command with /dev/kvm masked: an empty file bind-mounted over it
    in a private mount namespace (nothing to mask on a host without /dev/kvm at all)."""
    host.require("root", "unshare")
    if not os.path.exists("/dev/kvm"):
        return []
    empty = module_vms.workdir / "not-kvm"
    empty.write_bytes(b"")
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /dev/kvm && exec "$@"', str(empty)]


def within(vms, limit, argv, name, **kw):
    """Runs ARGV (masked: MASK in front) to its end, within LIMIT seconds; returns (status,
    stdout and stderr together)."""
    start = time.monotonic()
    run = vms.process(argv, name=name, **kw)
    status = run.wait(limit)
    took = time.monotonic() - start
    assert took <= limit, f"{name} took {took:.0f} s (more than {limit})"
    return status, run.out + run.err


@pytest.fixture(scope="module")
def probe(module_vms, mask):
    status, out = within(module_vms, 5, [*mask, paths.tool("kvm-probe.sh")], "kvm-probe")
    return status, out.strip()


def test_probe_says_unusable(probe):
    status, line = probe
    assert status == 1 and re.fullmatch(r"kvm: unusable: .*; fix: .*", line), \
        f"tools/kvm-probe.sh said (status {status}): {line}"


def test_check_kvm_says_the_same(vms, mask, probe):
    start = time.monotonic()
    vm = vms.run(["--check-kvm"], timeout=5, wrap=mask, name="vmm-check-kvm")
    status, out = vm.status, vm.out + vm.err
    assert time.monotonic() - start <= 5, "vmm --check-kvm took more than 5 s"
    assert status == 1 and out.strip() == probe[1], \
        f"vmm --check-kvm (status {status}): '{out.strip()}', the shell probe: '{probe[1]}'"


def test_boot_sh_stops_at_once(vms, workdir, mask, probe):
    # A copy of the tree's tools and guest-images only: were boot.sh to go on, it would find no
    # CMakeLists.txt to build and fail loudly instead of building in the source tree.
    tree = workdir / "tree"
    shutil.copytree(paths.SOURCE_DIR / "tools", tree / "tools", symlinks=True)
    status, out = within(vms, 10, [*mask, "bash", tree / "tools" / "boot.sh"], "boot-sh")
    reason = probe[1].removeprefix("kvm: unusable: ")
    assert status == 1, f"tools/boot.sh (status {status}): {out}"
    assert f"boot: cannot boot a guest on this host: {reason}" in out, \
        f"tools/boot.sh does not give the reason and the fix: {out}"
    assert "setup:" not in out, f"tools/boot.sh went on to set up: {out}"


def script_of(name):
    """tests/integration/*/test_NAME.py, or NAME.sh where it is not ported yet."""
    for pattern in (f"*/test_{name}.py", f"*/{name}.sh"):
        found = sorted(INTEGRATION.glob(pattern))
        if found:
            return found[0]
    pytest.fail(f"no integration test {name} (test_{name}.py or {name}.sh)")


PASSING = ["api_unstarted", "cli_errors", "host_path_api", "host_path_sites"]
SKIPPING = ["guest_hello", "virtio_blk", "virtio_blk_pci", "hostile_guest", "api_vm",
            "io_poll_default", "vmmctl_vmm", "snapshot_restore", "jail", "linux_pmem",
            "linux_userspace", "linux_mmds", "host_path_restore"]


@pytest.mark.parametrize("name,want", [(n, 0) for n in PASSING] + [(n, 77) for n in SKIPPING])
def test_suite_slice(vms, workdir, mask, name, want):
    # Each test as CTest runs it (run_test.sh) must end with WANT (0 pass, 77 skip), a skip with
    # the reason "no usable KVM".
    skips = workdir / "skips"
    env = {**os.environ, "VMM_TEST_NAME": f"integration/{name}", "VMM_SKIP_DIR": str(skips),
           "SOURCE_DIR": str(paths.SOURCE_DIR), "BUILD_DIR": str(paths.BUILD_DIR),
           "VMM": str(paths.VMM), "GUESTS": str(paths.GUESTS)}
    status, out = within(vms, 600, [*mask, "bash", paths.SOURCE_DIR / "tests" / "harness" /
                                    "run_test.sh", script_of(name)],
                         f"run-{name}", env=env, cwd=paths.BUILD_DIR)
    tail = "\n".join(out.splitlines()[-20:])
    assert status == want, f"{name} ended with {status}, want {want}\n{tail}"
    if want == 77:
        reason = (skips / f"integration_{name}").read_text() \
            if (skips / f"integration_{name}").exists() else ""
        assert reason.startswith("no usable KVM: "), \
            f"{name} skipped without the reason 'no usable KVM' ({reason.strip()!r}): {tail}"


def test_criterion_test_skips_its_kvm_cases(vms, mask):
    # A Criterion test whose cases need KVM skips them and passes.
    status, out = within(vms, 60, [*mask, paths.BUILD_DIR / "tests" / "test_kvm_state",
                                   "--jobs", "1", "--verbose"], "test_kvm_state")
    assert status == 0, f"status {status}: {out[-1000:]}"
    assert re.search(r"^\[SKIP\] kvm_state::.*no usable KVM", out, re.M), \
        f"no KVM case skipped: {out[-1000:]}"
    assert not re.search(r"^\[FAIL\]", out, re.M), f"a case failed: {out[-1000:]}"
