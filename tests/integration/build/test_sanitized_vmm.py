# The whole VMM under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer, with its
# default sandbox (--seccomp on: the runtime's own calls are allowed in sanitized builds only,
# host/sandbox/sandbox_sanitizer.c). tools/build-asan.sh vmm builds (or reuses) the vmm, vmmctl
# and the test guests used here in $BUILD_DIR/asan, then:
#   - it proves a report is seen: a leak made on purpose in a confined vCPU thread
#     (VMM_SANDBOX_TEST_VIOLATION=vcpu0:leak) must fill a report file, a clean run must not;
#   - it runs the integration tests hostile_guest (its seeds over mmio and over pci), guest_fuzz
#     (the guest-side fuzzer, one seed per transport), virtio_blk, net_user (virtio-net on
#     libslirp, a test guest), virtio_vsock, snapshot_restore and api_vm with VMM pointing at the
#     sanitized binary (QEMU runs left out: they test nothing of ours here).
# Every VMM writes its reports to REPORTS/asan.PID (ASAN_OPTIONS log_path; the sandbox opens the
# file before any filter, so an empty file means no report); any non-empty one fails the test,
# whatever the test that ran it checked. A test that skips is reported as skipped.
# labels: sanitize
# requires: kvm
# resource: asan-build
# timeout: 900
import os
import subprocess

import pytest

from framework import paths
from framework.guests import boot_vmm, expect_pass, expect_status

TESTS = ["hostile_guest", "guest_fuzz", "virtio_blk", "net_user", "virtio_vsock",
         "snapshot_restore", "api_vm"]
ASAN = paths.BUILD_DIR / "asan"


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    env = dict(os.environ, SOURCE_DIR=str(paths.SOURCE_DIR), BUILD_DIR=str(paths.BUILD_DIR))
    build = subprocess.run([paths.tool("build-asan.sh"), "vmm"], env=env, capture_output=True,
                           text=True)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-2000:]
    reports = tmp_path_factory.mktemp("reports")
    # halt_on_error: the first report ends the VMM; exitcode 86: not a status a guest can give
    opts = f"log_path={reports}/asan:halt_on_error=1:exitcode=86:detect_leaks=1"
    env = dict(os.environ, ASAN_OPTIONS=f"{opts}:strict_string_checks=1",
               UBSAN_OPTIONS=f"{opts}:print_stacktrace=1", VMM=str(ASAN / "vmm"),
               GUESTS=str(ASAN / "tests/guests"), BUILD_DIR=str(ASAN),
               QEMU="sanitized-run-has-no-qemu", RUN_TIMEOUT=os.environ.get("RUN_TIMEOUT", "180"),
               # the guest-side fuzzer: one seed per transport, each one that found a bug
               GUEST_FUZZ_MMIO_SEEDS=os.environ.get("GUEST_FUZZ_MMIO_SEEDS", "2516716250"),
               GUEST_FUZZ_PCI_SEEDS=os.environ.get("GUEST_FUZZ_PCI_SEEDS", "2"),
               GUEST_FUZZ_ROUNDS=os.environ.get("GUEST_FUZZ_ROUNDS", "100"))
    return reports, env


class Reports:
    """The report files that appeared since the last look."""

    def __init__(self, folder):
        self.folder = folder
        self.seen = set()

    def new(self):
        found = [p for p in sorted(self.folder.iterdir())
                 if p.stat().st_size > 0 and p not in self.seen]
        self.seen.update(found)
        return found

    @staticmethod
    def show(found):
        return "\n".join(f"----- {p}\n" + "\n".join(p.read_text().splitlines()[:40])
                         for p in found)


@pytest.fixture(scope="module")
def reports(sanitized):
    return Reports(sanitized[0])


def sanitized_run(vms, monkeypatch, env, *args):
    monkeypatch.setattr(paths, "VMM", ASAN / "vmm")
    return boot_vmm(vms, "hello", *args, env=env, timeout=180)


def test_a_clean_run_leaves_no_report(vms, monkeypatch, sanitized, reports):
    run = sanitized_run(vms, monkeypatch, sanitized[1], "--seccomp", "on")
    expect_pass(run)
    found = reports.new()
    assert not found, f"a clean run left a report:\n{Reports.show(found)}"


def test_a_leak_in_a_confined_vcpu_thread_is_reported(vms, monkeypatch, sanitized, reports):
    env = dict(sanitized[1], VMM_SANDBOX_TEST="1", VMM_SANDBOX_TEST_VIOLATION="vcpu0:leak")
    run = sanitized_run(vms, monkeypatch, env)
    expect_status(run, 86)
    found = reports.new()
    assert any("LeakSanitizer: detected memory leaks" in p.read_text() for p in found), \
        "no leak report for the deliberate leak"


@pytest.mark.parametrize("name", TESTS)
def test_against_the_sanitized_vmm(sanitized, reports, name):
    # the test's bash script or its port to the harness (test_NAME.py)
    found = sorted(paths.SOURCE_DIR.glob(f"tests/integration/*/{name}.sh")) + \
        sorted(paths.SOURCE_DIR.glob(f"tests/integration/*/test_{name}.py"))
    assert found, f"no test {name} in tests/integration"
    # VMM_TEST_NAME unset: a sub-test's skip must not overwrite this test's skip record
    env = dict(sanitized[1], VMM_TEST_NAME="")
    run = subprocess.run(["bash", paths.SOURCE_DIR / "tests/harness/run_test.sh", found[0]],
                         env=env, capture_output=True, text=True)
    output = run.stdout + run.stderr
    new = reports.new()
    assert not new, f"sanitizer report(s) from {name}:\n{Reports.show(new)}"
    if run.returncode == 77:
        pytest.skip(f"{name}: " + next((line for line in output.splitlines()
                                        if line.startswith("SKIP")), "skipped"))
    assert run.returncode == 0, f"{name}: exit status {run.returncode}:\n{output[-6000:]}"
