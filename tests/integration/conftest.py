"""Fixtures of every integration test (framework/ is the harness; docs/testing.md).

  workdir   the test's own folder (removed after it; TEST_KEEP_TMP=1 keeps it); pytest's
            tmp_path and tmp_path_factory live in one folder of the run's, removed the same way
  vms       the factory of its VMM and QEMU runs: each ended when the test ends, and on a
            failure the report shows each one's last output
  module_vms  the same for every test of a file: one boot that several tests check
  netns     a network namespace with a tap, removed after the test (root)

A test file is one CTest test (tests/CMakeLists.txt reads its "# labels:", "# timeout:",
"# requires:" and "# resource:" lines). Its "# requires: WHAT..." line (framework/host.py's
require: kvm, hwkvm, root, netns, qemu, a command) is checked before the file is imported: a need
the host lacks skips the file. When none of its tests ran because each skipped, the file ends
with 77 (CTest's SKIP_RETURN_CODE) and the first reason ("CATEGORY: detail") goes to
$VMM_SKIP_DIR/<test name>, where tools/test_summary.sh counts the categories.
"""
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from framework import host  # noqa: E402
from framework.net import NetNs, unique_name  # noqa: E402
from framework.vm import Vms  # noqa: E402


class RequiresUnmet(pytest.File):
    """A test file whose "# requires:" line this host does not meet: skipped at collection,
    never imported."""
    reason = ""

    def collect(self):
        pytest.skip(self.reason, allow_module_level=True)


def pytest_configure(config):
    """tmp_path and tmp_path_factory under a folder of this run's own (in $TMPDIR), removed at
    its end like workdir, rather than pytest's /tmp/pytest-of-USER, which kept the last three
    runs' folders."""
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="pytest.",
                                                  dir=os.environ.get("TMPDIR", "/tmp"))
        config.vmm_own_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    base = getattr(config, "vmm_own_basetemp", None)
    if base and os.environ.get("TEST_KEEP_TMP"):
        print(f"note: {base} is kept (TEST_KEEP_TMP)")
    elif base:
        shutil.rmtree(base, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    reason = host.unmet(*host.requires_of(module_path))
    if reason:
        skipped = RequiresUnmet.from_parent(parent, path=module_path)
        skipped.reason = reason
        return skipped
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def workdir(request):
    base = os.environ.get("TMPDIR", "/tmp")
    # (a parametrized test's id may hold any character: "/" among them)
    prefix = re.sub(r"[^\w.-]", "_", request.node.name)[:40]
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}.", dir=base))
    yield path
    if os.environ.get("TEST_KEEP_TMP"):
        print(f"note: {path} is kept (TEST_KEEP_TMP)")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def vms(request, workdir):
    runs = Vms(workdir)
    yield runs
    runs.stop_all()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and runs.runs:
        print(runs.report())


@pytest.fixture(scope="module")
def module_vms(request):
    base = os.environ.get("TMPDIR", "/tmp")
    path = Path(tempfile.mkdtemp(prefix=f"{request.module.__name__[:40]}.", dir=base))
    runs = Vms(path)
    yield runs
    runs.stop_all()
    # a failed check, or a module fixture that failed (every test's setup then errs)
    if any(getattr(getattr(item, f"report_{when}", None), "failed", False)
           for item in request.session.items if item.module is request.module
           for when in ("setup", "call")):
        # past the capture: this runs in the last test's teardown, whose output pytest shows
        # only when that test failed
        capture = request.config.pluginmanager.getplugin("capturemanager")
        if capture is None:  # -p no:capture
            print(runs.report())
        else:
            with capture.global_and_fixture_disabled():
                print(runs.report())
    if not os.environ.get("TEST_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def netns():
    made = []

    def make(**kw):
        ns = NetNs(unique_name(f"vt{len(made)}-"), **kw)
        made.append(ns)
        return ns
    yield make
    for ns in made:
        ns.remove()


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    stats = reporter.stats
    ran = len(stats.get("passed", [])) + len(stats.get("failed", [])) + len(stats.get("error", []))
    skipped = stats.get("skipped", [])
    # (a file skipped at collection, RequiresUnmet, collected no test: NO_TESTS_COLLECTED)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and ran == 0 \
            and skipped:
        reason = skipped[0].longrepr[2] if isinstance(skipped[0].longrepr, tuple) else ""
        host.record_skip(reason.removeprefix("Skipped: "))
        session.exitstatus = 77
