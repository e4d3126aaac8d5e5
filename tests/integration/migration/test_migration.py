# Live migration (docs/migration.md) of the 256 MiB snap_counter guest between two VMMs on this
# host, over the API:
#   1. an uninterrupted run: its SNAP-RESULT line and its disk file;
#   2. a destination `vmm --api-sock` told to wait (PUT /vmm/receive-migration on a Unix
#      socket), the same run started on a source and, at about a third of its steps, sent there
#      (PUT /vmm/send-migration); GET /vmm/migration polled until "completed": the source ends
#      with 0, the destination finishes the run with TEST PASS, the same SNAP-RESULT and the same
#      disk file; rounds, bytes and downtime printed;
#   3. a destination that is killed mid-way: the source's guest finishes its run as if nothing
#      happened, and GET /vmm/migration says "failed" with a reason.
#   4. a local migration (guest RAM handed over as a memfd) of a --mem-shared source to a
#      destination started with `vmm --migrate-from unix:M` (the command line's way): the same
#      result on the destination, the source ends with 0, "pages": 0 in the progress;
#   5. a cancel right after the start (max_downtime_ms 1, so pre-copy goes on for rounds): the
#      source's guest finishes its run, GET /vmm/migration says "cancelled", and the
#      destination exits 1 with the reason;
#   6. step 2 again on a packed ring over virtio-pci with MSI-X and 2 vCPUs, the guest dirtying
#      memory all along (dirty=16, see below): rounds of dirty pages, and the destination's
#      result (which folds in every dirtied page's last word) is the uninterrupted run's. On
#      kvm_pvm a guest cannot dirty memory faster than a Unix socket copies it (each first write
#      after a read of the dirty log faults into the emulated host: ~27000 pages/s against
#      ~100000 sent); hence step 7:
#   7. step 6's run again (its reference result reused: no extra uninterrupted run), over a link
#      capped below the guest's dirtying (max_bandwidth_bytes_per_s 32 MiB/s, max_downtime_ms
#      100) with max_rounds 3:
#      pre-copy ends at the round limit (the source says "4 rounds (max_rounds reached)"), the
#      migration completes, and the destination's result is the uninterrupted run's; a PATCH
#      /drives during its pre-copy is refused (400: a live migration is running).
# Runs in tools/kvm-in-qemu too (the fault cases that need no VM are test_migration_faults.py,
# which runs everywhere).
# Under 5 minutes: 178 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout (the
# bash test's) leaves room for a busier one (fork_live took 6 minutes at load 37).
# labels: snapshot api migration
# requires: kvm
# timeout: 900
import os
import re
import threading

import pytest

from framework import snapshot_util as snap
from framework.guests import PASS, boot_vmm
from framework.proc import wait_until

RUN_TIMEOUT = 300
STEPS = int(os.environ.get("SNAP_STEPS", "400"))
AT = STEPS * 35 // 100
SPLIT = f"ring=split steps={STEPS}"
# 6.: 16 MiB rewritten for 20 ms each step, and one page in 256 of the next 16 MiB each step (most
# of them written once, mid-run: a write the dirty log lost would leave that page stale on the
# destination, and the result folds in every page's last word)
DIRTY = f"ring=packed transport=pci cpus=2 dirty=16 dirty_ticks=2 steps={STEPS}"
PCI2 = ["--transport", "pci", "--cpus", "2"]


def blank(path):
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(1 << 20)


def reference(vms, args, opts, name):
    """The uninterrupted run with ARGS and OPTS: (its SNAP-RESULT, its disk)."""
    ref = vms.workdir / f"ref-{name}.img"
    blank(ref)
    run = boot_vmm(vms, "snap_counter", "--mem", "256M", *opts, "--disk", ref, "--append", args,
                   timeout=RUN_TIMEOUT)
    snap.expect_pass(run)
    want = snap.result(run.out)
    assert want, f"{name}: no SNAP-RESULT in the uninterrupted run"
    return want, ref


@pytest.fixture(scope="module")
def split_ref(module_vms):
    return reference(module_vms, SPLIT, [], "split")


@pytest.fixture(scope="module")
def dirty_ref(module_vms):
    return reference(module_vms, DIRTY, PCI2, "dirty")


class Destination:
    """`vmm --api-sock` told to wait on a Unix socket (PUT /vmm/receive-migration, which answers
    once the VM arrived: kept in .answer)."""

    def __init__(self, vms, workdir):
        self.mig = workdir / "mig.sock"
        if self.mig.exists():
            self.mig.unlink()
        self.vm = vms.start(["--landlock-rules", f"{workdir}:rw"], name="destination", api=True)
        self.answer = None

        def receive():
            try:
                self.answer = self.vm.api.put("/vmm/receive-migration",
                                              {"receiver_url": f"unix:{self.mig}"},
                                              timeout=RUN_TIMEOUT)
            except OSError as e:
                self.answer = e
        self.thread = threading.Thread(target=receive, daemon=True)
        self.thread.start()
        wait_until(self.mig.is_socket, 10, "the destination's migration socket", alive=self.vm.alive)


def cli_destination(vms, workdir):
    """`vmm --migrate-from unix:M`; the source names its disk in the test's folder: the
    destination's command line allows it."""
    mig = workdir / "mig.sock"
    if mig.exists():
        mig.unlink()
    vm = vms.start(["--migrate-from", f"unix:{mig}", "--landlock-rules", f"{workdir}:rw"],
                   name="destination-cli")
    wait_until(mig.is_socket, 10, "vmm --migrate-from's socket", alive=vm.alive)
    return vm, mig


def request(api, method, route, body=None):
    """"STATUS BODY" as the bash tests' snap_api ("000" when nothing answered)."""
    try:
        got = api.request(method, route, body, timeout=30)
        return f"{got.status} {got.body}"
    except OSError:
        return "000"


class Progress:
    """GET /vmm/migration polled until the migration is over. A completed migration ends the
    source VMM, often before a poll sees "completed": then .doc is the source's last log line
    ("completed: N rounds, N pages, ...")."""

    def __init__(self, src, patch=None, timeout=120):
        self.docs, self.doc, self.resumed, self.patched = [], "", None, None

        def over():
            self.doc = request(src.api, "GET", "/vmm/migration")
            self.docs.append(self.doc)
            # PATCH: a PATCH /drives/drive0 body, tried once while pre-copy runs
            if patch and self.patched is None and '"precopy"' in self.doc:
                self.patched = request(src.api, "PATCH", "/drives/drive0", patch)
            if '"completed"' in self.doc:
                # the paused copy left here is stale: resuming it must be refused
                self.resumed = request(src.api, "PATCH", "/vm", {"state": "Resumed"})
                return True
            if '"failed"' in self.doc or '"cancelled"' in self.doc:
                return True
            if not src.alive():
                line = re.search(r"migration (completed: .*)", src.err)
                self.doc = f"(ended) {line.group(1) if line else ''}"
                return True
            return False
        wait_until(over, timeout, "the migration's end")


def check_pause_times(label, src_err, dst_err):
    """The source logged when it paused and the destination when the guest ran again (what
    tools/bench migrate measures the pause with), in that order on this host's CLOCK_MONOTONIC."""
    paused = re.search(r"paused at (\d+) us", src_err)
    runs = re.search(r"the guest runs here from (\d+) us", dst_err)
    assert paused and runs and int(runs.group(1)) >= int(paused.group(1)), \
        f"{label}: no pause then resume in the logs (source {paused}, destination {runs})"
    print(f"{label}: paused at {paused.group(1)} us, running again at {runs.group(1)} us")


def migrate_again(vms, workdir, label, want, ref, args, opts, extra=None, at=AT, patch=None):
    """The run of ARGS and OPTS whose uninterrupted result is WANT (disk REF), migrated at step
    AT to a `vmm --api-sock` destination (EXTRA added to the send-migration body): completed, the
    source ends with 0, the destination finishes with the same result, TEST PASS and the same
    disk file. Returns the Progress."""
    dst = Destination(vms, workdir)
    disk = workdir / "disk.img"
    blank(disk)
    src = snap.start_counter(vms, "--mem", "256M", *opts, "--disk", disk, "--append", args,
                             landlock=workdir, name="source")
    snap.wait_progress(src, at, RUN_TIMEOUT)
    src.api.want(204, "PUT", "/vmm/send-migration",
                 {"destination_url": f"unix:{dst.mig}", **(extra or {})})
    progress = Progress(src, patch=patch)
    assert '"completed"' in progress.doc or "completed: " in progress.doc, \
        f"{label}: not completed: {progress.doc}"
    print(f"{label}: completed: {progress.doc}")
    resumed = progress.resumed
    # None: the source ended before a poll saw "completed"; 000: it had ended when asked
    assert resumed is None or resumed.startswith(("400", "000")), \
        f"{label}: a resume of the completed source answered: {resumed}"
    dst.thread.join(RUN_TIMEOUT)
    assert getattr(dst.answer, "status", None) == 204, \
        f"{label}: PUT /vmm/receive-migration -> {dst.answer!r}"
    status = src.wait(RUN_TIMEOUT)
    assert status == 0, f"{label}: the source ended with {status}\n{src.tail()}"
    dst.vm.wait(RUN_TIMEOUT)
    check_pause_times(label, src.err, dst.vm.err)
    got = snap.result(dst.vm.out)
    assert got == want, f"{label}: destination: '{got}', uninterrupted: '{want}'\n{dst.vm.tail(15)}"
    assert "TEST PASS" in dst.vm.out, f"{label}: no TEST PASS on the destination"
    assert ref.read_bytes() == disk.read_bytes(), f"{label}: the disk files differ"
    return progress


def test_split_mmio(vms, workdir, split_ref):
    """1-2. the reference and the migration mid-run: split ring, virtio-mmio, 1 vCPU."""
    want, ref = split_ref
    migrate_again(vms, workdir, "split, mmio", want, ref, SPLIT, [])


def test_destination_killed(vms, workdir, split_ref):
    """3. a destination killed mid-way: the source runs on."""
    want, _ = split_ref
    dst = Destination(vms, workdir)
    disk = workdir / "disk.img"
    blank(disk)
    src = snap.start_counter(vms, "--mem", "256M", "--disk", disk, "--append", SPLIT,
                             landlock=workdir, name="source")
    snap.wait_progress(src, AT, RUN_TIMEOUT)
    request(src.api, "PUT", "/vmm/send-migration", {"destination_url": f"unix:{dst.mig}"})
    dst.vm.stop(grace=0)
    progress = Progress(src)
    if '"failed"' in progress.doc:
        print(f"the source says failed: {progress.doc}")
        src.wait(RUN_TIMEOUT)
        assert snap.result(src.out) == want, f"source: '{snap.result(src.out)}', uninterrupted: '{want}'"
    else:
        assert '"completed"' in progress.doc or "completed: " in progress.doc, \
            f"GET /vmm/migration: {progress.doc}"
        print("it completed before the kill (nothing to check)")


def test_local(vms, workdir, split_ref):
    """4. local migration to vmm --migrate-from."""
    want, ref = split_ref
    dst, mig = cli_destination(vms, workdir)
    disk = workdir / "disk.img"
    blank(disk)
    src = snap.start_counter(vms, "--mem", "256M", "--mem-shared", "--disk", disk,
                             "--append", SPLIT, landlock=workdir, name="source")
    snap.wait_progress(src, AT, RUN_TIMEOUT)
    src.api.want(204, "PUT", "/vmm/send-migration", {"destination_url": f"unix:{mig}", "local": True})
    progress = Progress(src)
    assert re.search(r'"completed".*"pages": ?0[,}]|completed: .* 0 pages,', progress.doc), \
        f"local: {progress.doc}"
    print(f"completed, no page copied: {progress.doc}")
    status = src.wait(RUN_TIMEOUT)
    assert status == 0, f"the source ended with {status}"
    status = dst.wait(RUN_TIMEOUT)
    # once in two runs on kvm_pvm (2026-11-24) the guest failed here: the tail says what it said
    assert status == PASS, f"destination status {status}\n{dst.tail(10)}"
    got = snap.result(dst.out)
    assert got == want, f"local destination: '{got}', uninterrupted: '{want}'"
    assert ref.read_bytes() == disk.read_bytes(), "the disk files differ after the local migration"


def test_cancel(vms, workdir, split_ref):
    """5. cancel: the source runs on."""
    want, _ = split_ref
    dst, mig = cli_destination(vms, workdir)
    disk = workdir / "disk.img"
    blank(disk)
    src = snap.start_counter(vms, "--mem", "256M", "--disk", disk, "--append", SPLIT,
                             landlock=workdir, name="source")
    snap.wait_progress(src, AT, RUN_TIMEOUT)
    request(src.api, "PUT", "/vmm/send-migration",
            {"destination_url": f"unix:{mig}", "max_downtime_ms": 1})
    got = request(src.api, "PUT", "/vmm/migration/cancel", {})
    progress = Progress(src)
    if '"cancelled"' in progress.doc:
        print(f"cancelled: {progress.doc}")
        src.wait(RUN_TIMEOUT)
        assert snap.result(src.out) == want, \
            f"source after cancel: '{snap.result(src.out)}', uninterrupted: '{want}'"
        status = dst.wait(RUN_TIMEOUT)
        assert status == 1, f"destination status {status}"
    else:
        assert '"completed"' in progress.doc or "completed: " in progress.doc, \
            f"after cancel ({got}): {progress.doc}"
        print("it completed before the cancel (nothing to check)")


def test_dirtying(vms, workdir, dirty_ref):
    """6. packed ring, virtio-pci with MSI-X, 2 vCPUs, the guest dirtying memory all along;
    max_downtime_ms 1 keeps pre-copy going for rounds of dirty pages."""
    want, ref = dirty_ref
    progress = migrate_again(vms, workdir, "packed, pci, 2 vCPUs, dirtying", want, ref, DIRTY,
                             PCI2, {"max_downtime_ms": 1})
    found = re.search(r'"rounds": ?(\d+)|completed: (\d+) rounds', progress.doc)
    rounds = int(found.group(1) or found.group(2)) if found else 0
    assert rounds >= 2, f"pre-copy ended after {rounds} rounds: no dirty pages were sent: {progress.doc}"


def test_round_limit(vms, workdir, dirty_ref):
    """7. the round limit: step 6's run (its uninterrupted result reused) migrated over a link
    capped at 32 MiB/s, which this guest outpaces (it rewrites 16 MiB every step, a step every
    ~70 ms here), with max_rounds 3 and max_downtime_ms 100: every round finds the 16 MiB dirty
    again (0.5 s at the cap), so pre-copy ends at the limit, not within the budget. The source's
    last word says so (3 rounds while the guest ran, then the final round: "4 rounds (max_rounds
    reached)"), and the destination's result is the uninterrupted run's. A GET seen while
    pre-copy ran shows the limits in effect and the capped bandwidth. With the pacing taken out
    this step fails (tried 2026-11-25: the socket took 20 MB/s on a loaded host, pre-copy ended
    within the budget after 3 rounds, and the bandwidth check saw 2.4 times the cap)."""
    want, ref = dirty_ref
    max_rounds, cap = 3, 32 << 20
    # the capped pre-copy takes seconds: start it at step 10 % (not 35 %), and cap at 32 MiB/s
    # (at 8 MiB/s it took 9.5 s, and a guest on an idle host ended its run on the source first);
    # and a configuration change meanwhile is refused (the destination has built the VM from the
    # configuration the migration began with)
    patch = {"drive_id": "drive0", "rate_limiter": {"ops": {"size": 1000, "refill_time": 1000}}}
    progress = migrate_again(
        vms, workdir, f"capped at 32 MiB/s, max_rounds {max_rounds}", want, ref, DIRTY, PCI2,
        {"max_rounds": max_rounds, "max_bandwidth_bytes_per_s": cap, "max_downtime_ms": 100},
        at=STEPS * 10 // 100, patch=patch)
    assert (f"completed: {max_rounds + 1} rounds (max_rounds reached)" in progress.doc or
            re.search(rf'"rounds":{max_rounds + 1},.*"round_limit_reached":true', progress.doc)), \
        f"pre-copy did not end at the round limit ({max_rounds} rounds, then the final): {progress.doc}"
    assert progress.patched and progress.patched.startswith("400 ") and \
        "live migration of this VM is running" in progress.patched, \
        f"PATCH /drives during pre-copy was not refused: {progress.patched or '(no pre-copy seen)'}"
    seen = [d for d in progress.docs if '"state":"precopy"' in d and re.search(r'"rounds":[12],', d)]
    doc = seen[-1] if seen else ""
    assert re.search(rf'"max_rounds":{max_rounds},.*"max_bandwidth_bytes_per_s":{cap}', doc), \
        f"GET /vmm/migration during pre-copy lacks the limits: {doc or '(none seen)'}"
    # loose bounds: the measured bandwidth is the capped one (a round's bytes over its time, a
    # busy host only lowers it), the pages left would take far longer than the 100 ms budget
    bw = re.search(r'"bandwidth_bytes_per_s":(\d+)', doc)
    expected = re.search(r'"expected_downtime_ms":(\d+)', doc)
    bw = int(bw.group(1)) if bw else None
    expected = int(expected.group(1)) if expected else 0
    assert bw is not None and cap // 10 <= bw <= cap * 5 // 4 and expected > 100, \
        f"during pre-copy: bandwidth {bw} (cap {cap}), expected downtime {expected}: {doc}"
    print(f"during pre-copy: {bw} bytes/s (cap {cap}), expected downtime {expected} ms")
