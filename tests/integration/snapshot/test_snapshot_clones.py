# One snapshot, many VMs: the snap_counter guest (tests/guests/snap_counter.c, disk=0) is
# snapshotted early in a long run; the original VM is resumed and must still end with the
# result of an uninterrupted run; then 20 `vmm --restore DIR` run at once from the same snapshot
# (each with its own stdout), and all 20 must end with TEST PASS and that same SNAP-RESULT.
# While they run, each clone's RSS, PSS and private memory are read from /proc/PID/smaps_rollup
# (and the share of the memory file's mapping from /proc/PID/smaps): the summed PSS must be
# clearly below the summed RSS, as the clones share the pages of the snapshot's memory file
# (and the VMM's code).
# Under 5 minutes: 79 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: snapshot
# requires: kvm
# timeout: 900
import os

from framework import snapshot_util as snap
from framework.guests import boot_vmm, expect_no_output
from framework.proc import wait_until

RUN_TIMEOUT = 600
CLONES = int(os.environ.get("SNAP_CLONES", "20"))
STEPS = int(os.environ.get("SNAP_STEPS", "1000"))
SNAP_AT = STEPS // 10
MEM = "128M"
ARGS = f"disk=0 steps={STEPS}"


def field(text, name):
    """kB of NAME in a smaps-style text."""
    return sum(int(line.split()[1]) for line in text.splitlines()
               if line.split()[:1] == [f"{name}:"])


def file_mapping(pid, path):
    """(Rss, Pss) in kB of the mapping of PATH in /proc/PID/smaps."""
    rss = pss = 0
    inside = False
    try:
        text = open(f"/proc/{pid}/smaps").read()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        words = line.split()
        if words and "-" in words[0] and len(words) >= 5 and ":" not in words[0]:
            inside = words[-1] == str(path)
        elif inside and words[:1] == ["Rss:"]:
            rss += int(words[1])
        elif inside and words[:1] == ["Pss:"]:
            pss += int(words[1])
    return rss, pss


def test_clones(vms, workdir):
    run = boot_vmm(vms, "snap_counter", "--mem", MEM, "--append", ARGS, timeout=RUN_TIMEOUT)
    snap.expect_pass(run)
    want = snap.result(run.out)
    assert want, "no SNAP-RESULT in the uninterrupted run"
    print(f"uninterrupted: {want}")

    vm = snap.start_counter(vms, "--mem", MEM, "--append", ARGS, landlock=workdir, name="original")
    snap.wait_progress(vm, SNAP_AT, RUN_TIMEOUT)
    folder = snap.take(vm.api, workdir / "snap")
    at = snap.progress(vm.out)
    print(f"snapshot after SNAP-PROGRESS {at} of {STEPS} ({snap.du(folder)} on disk)")
    vm.api.want(204, "PATCH", "/vm", {"state": "Resumed"})  # resumed after the snapshot
    vm.status = vm.wait(RUN_TIMEOUT)
    snap.expect_pass(vm)
    assert snap.result(vm.out) == want, "the original did not go on to the same result"

    # ---- the clones ----
    clones = [vms.start(["--restore", folder], name=f"clone{i}") for i in range(1, CLONES + 1)]
    # Sample once every clone has run some of its guest (a SNAP-PROGRESS past the snapshot's), or
    # ended: each has mapped and touched what it is going to share by then.
    wait_until(lambda: all(not c.alive() or snap.progress(c.out) > at for c in clones),
               RUN_TIMEOUT, "every clone past the snapshot's progress")
    sum_rss = sum_pss = sampled = mem_rss = mem_pss = 0
    print("clone    pid     RSS kB   PSS kB  private kB  memory file RSS/PSS kB")
    for i, clone in enumerate(clones, 1):
        try:
            rollup = open(f"/proc/{clone.pid}/smaps_rollup").read()
        except OSError:
            continue
        if not clone.alive():
            continue
        rss, pss = field(rollup, "Rss"), field(rollup, "Pss")
        private = field(rollup, "Private_Clean") + field(rollup, "Private_Dirty")
        mr, mp = file_mapping(clone.pid, folder / "memory")
        print(f"{i:5d} {clone.pid:6d} {rss:9d} {pss:8d} {private:11d}  {mr}/{mp}")
        sum_rss, sum_pss, mem_rss, mem_pss = sum_rss + rss, sum_pss + pss, mem_rss + mr, mem_pss + mp
        sampled += 1
    print(f"sampled {sampled} clones: summed RSS {sum_rss} kB, summed PSS {sum_pss} kB; "
          f"memory file mappings: RSS {mem_rss} kB, PSS {mem_pss} kB")
    assert sampled >= CLONES // 2, f"only {sampled} of {CLONES} clones were still running when sampled"
    assert sum_pss * 100 < sum_rss * 60, \
        f"summed PSS {sum_pss} kB is not clearly below the summed RSS {sum_rss} kB"
    if mem_rss > 0:
        assert mem_pss * 2 < mem_rss, \
            f"the memory file's pages are not shared (PSS {mem_pss} kB of RSS {mem_rss} kB)"
    else:
        print(f"note: no mapping of {folder}/memory in the clones (guest memory copied, not mapped)")

    # ---- every clone ends like the uninterrupted run ----
    for clone in clones:
        clone.status = clone.wait(RUN_TIMEOUT)
    for clone in clones:
        snap.expect_pass(clone)
        expect_no_output(clone, r"^SNAP-START")
        assert snap.result(clone.out) == want, f"{clone.name}: '{snap.result(clone.out)}', want '{want}'"
