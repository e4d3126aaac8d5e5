# The agent that runs the tests' jobs inside L1 (framework/l1.py, agent()), here on this host on
# a folder made for it: it runs the ready jobs of its own L1 profile in their order, once each,
# and leaves alone a job of another profile, a cancelled one and one another L1 boot took; it
# beats its heartbeat and writes each job's output and result; it ends when the folder says stop.
# The supervisor takes a beat that stopped while a job runs for a stuck L1 (l1.agent_silent).
# l1.job_end ends a job as L1's failure on a reset-state triple fault or a stall note naming a
# loop inside L1's KVM (framework/kvm_trace.py, whose verdict is checked on a sample trace) or a
# vCPU whose page-table base lies beyond the guest's RAM (bit 32 set: L1's corruption), and
# l1.wait_end_or_stall and l1.wait_out end a still boot early on such a loop. l1.boot_to_run lets
# a job of several boots run again only the one L1 broke.
# labels: harness
# timeout: 60
import json
import os
import subprocess
import sys

import pytest

from framework import paths
from framework.proc import read_text, wait_until

L1_PY = paths.SOURCE_DIR / "tests" / "integration" / "framework" / "l1.py"


def make_job(jobs, name, profile, *marks):
    job = jobs / name
    job.mkdir(parents=True)
    job.joinpath("cmd").write_text(f"echo {name} >>'{jobs.parent / 'ran'}'\nexit 3\n")
    job.joinpath("profile").write_text(profile)
    for mark in marks:
        job.joinpath(mark).write_text("")
    return job


def test_runs_its_ready_jobs_once_in_order(vms, tmp_path):
    jobs = tmp_path / "jobs"
    make_job(jobs, "1-first", "P", "ready")
    make_job(jobs, "2-other-profile", "Q", "ready")
    make_job(jobs, "3-cancelled", "P", "ready", "cancel")
    make_job(jobs, "4-taken-before", "P", "ready", "taken")
    make_job(jobs, "5-not-ready", "P")
    make_job(jobs, "6-second", "P", "ready")
    agent = vms.process([sys.executable, L1_PY, "agent", tmp_path],
                        name="agent", env=dict(os.environ, L1_BOOT="7", L1_PROFILE="P"))
    wait_until(lambda: (jobs / "6-second" / "result").exists(), 20, "the second job's result",
               alive=agent.alive)
    (jobs / "5-not-ready" / "ready").write_text("")
    wait_until(lambda: (jobs / "5-not-ready" / "result").exists(), 20, "the late job's result",
               alive=agent.alive)
    assert read_text(tmp_path / "ready.7"), "the agent did not say it was ready"
    assert read_text(tmp_path / "agent.beat").startswith("7 "), "no heartbeat"
    (tmp_path / "stop").write_text("")
    assert agent.wait(20) == 0, agent.tail()
    assert read_text(tmp_path / "ran").split() == ["1-first", "6-second", "5-not-ready"]
    for name in ("1-first", "6-second", "5-not-ready"):
        assert json.loads(read_text(jobs / name / "result"))["status"] == 3
        assert read_text(jobs / name / "taken").strip() == "7"
        assert read_text(jobs / name / "out").strip() == ""
    for name in ("2-other-profile", "3-cancelled"):
        assert not (jobs / name / "taken").exists(), f"{name} was taken"
    assert not (jobs / "4-taken-before" / "result").exists(), "a job another boot took ran again"


def test_the_supervisor_knows_a_silent_agent(tmp_path):
    """l1.agent_silent, which the supervisor asks while a job runs: the beat of this boot older
    than the limit (the file's time) is silence; a fresh one, another boot's or none is not."""
    from framework import l1
    beat = tmp_path / "agent.beat"
    assert not l1.agent_silent(tmp_path, 3, 120), "no beat yet is not silence"
    beat.write_text("3 0\n")
    assert not l1.agent_silent(tmp_path, 3, 120), "a fresh beat is not silence"
    old = beat.stat().st_mtime - 121
    os.utime(beat, (old, old))
    assert l1.agent_silent(tmp_path, 3, 120), "a beat 121 s old is silence"
    assert not l1.agent_silent(tmp_path, 4, 120), "another boot's old beat is not this one's"


def job_end_sick(folder):
    """l1.job_end(FOLDER) in a child: it must exit 3, and its output (returned) must be what
    sick_l1_sign knows as L1's failure."""
    from framework import l1
    run = subprocess.run([sys.executable, "-c", "import sys; from framework import l1; "
                          "l1.job_end(sys.argv[1])", folder], capture_output=True, text=True,
                         cwd=L1_PY.parents[1])
    assert run.returncode == 3, (run.returncode, run.stdout, run.stderr)
    job = folder / "job"
    job.mkdir()
    (job / "out").write_text(run.stdout)
    assert l1.sick_l1_sign(l1.Result(job, 3, 1, 0)), run.stdout
    return run.stdout


def test_a_job_ends_sick_on_a_reset_state_triple_fault(tmp_path):
    """l1.job_end, a job's last call: a VMM's stderr in its folder with a triple fault in the
    reset state makes the job exit 3 with a line boots_folder's sick_l1_sign knows (so the job
    runs once more in a new L1); a clean folder, or a triple fault elsewhere, lets it end."""
    from framework import l1
    (tmp_path / "vmm.err").write_text("vmm: info: started\n")
    (tmp_path / "other.err").write_text("vmm: error: vCPU 1: triple fault (KVM_EXIT_SHUTDOWN)\n"
                                        "vmm: error:   rip=ffffffff81000000 rsp=0\n")
    l1.job_end(tmp_path)  # returns: not in the reset state
    (tmp_path / "old-job.err").write_text("vmm: error: vCPU 0: triple fault (KVM_EXIT_SHUTDOWN)\n"
                                          "vmm: error:   rip=000000000000fff0 rsp=0\n")
    l1.job_end(tmp_path, "vmm*.err")  # returns: another job's file
    (tmp_path / "old-job.err").unlink()
    (tmp_path / "vmm.err").write_text("vmm: error: vCPU 0: triple fault (KVM_EXIT_SHUTDOWN)\n"
                                      "vmm: error:   rip=000000000000fff0 rsp=0\n")
    out = job_end_sick(tmp_path)
    assert "vmm.err: vCPU 0: triple fault" in out, out  # which vCPU, kept


def test_a_new_l1_runs_only_the_boot_the_sick_one_broke(tmp_path):
    """l1.boot_to_run, for a job of several boots run again with its folder kept: a boot that
    never ran runs; one that ended, well or not, on something else than L1's failure is kept; one
    that ended on a reset-state triple fault runs again, its files moved to l1-failed/ (out of
    job_end's way, which then lets the job end)."""
    from framework import l1
    assert l1.boot_to_run(tmp_path, "vmm-seabios")  # never ran
    (tmp_path / "vmm-seabios.status").write_text("0\n")
    (tmp_path / "vmm-seabios.err").write_text("vmm: info: powered off\n")
    (tmp_path / "vmm-ovmf.status").write_text("4\n")
    (tmp_path / "vmm-ovmf.log").write_text("console\n")
    (tmp_path / "vmm-ovmf.err").write_text("vmm: error: vCPU 1: triple fault (KVM_EXIT_SHUTDOWN)\n"
                                           "vmm: error:   rip=000000000000fff0 rsp=0\n")
    (tmp_path / "live.vmm-ovmf.err").write_text((tmp_path / "vmm-ovmf.err").read_text())
    assert "vmm-ovmf.err: vCPU 1: triple fault" in l1.sick_files(tmp_path)
    assert not l1.boot_to_run(tmp_path, "vmm-seabios")
    assert l1.boot_to_run(tmp_path, "vmm-ovmf")
    assert not (tmp_path / "vmm-ovmf.status").exists() and not (tmp_path / "vmm-ovmf.log").exists()
    assert (tmp_path / "l1-failed" / "vmm-ovmf.err").exists()
    assert (tmp_path / "l1-failed" / "live.vmm-ovmf.err").exists(), "the live copy stayed for job_end"
    assert (tmp_path / "vmm-seabios.status").exists() and l1.sick_files(tmp_path) is None
    l1.job_end(tmp_path)  # returns: the broken boot's files are out of the way
    (tmp_path / "vmm-seabios.status").write_text("1\n")  # a failure of its own: kept for the checks
    assert not l1.boot_to_run(tmp_path, "vmm-seabios")


class FakeL1:
    """An L1 for run_renewing: each run_file answers the next of RESULTS (status, output)."""
    def __init__(self, tmp_path, results):
        self.tmp_path, self.results, self.calls = tmp_path, list(results), []

    def run_file(self, script, folder, *args, **kw):
        status, out = self.results.pop(0)
        job = self.tmp_path / f"job{len(self.calls)}"
        job.mkdir()
        (job / "out").write_text(out)
        self.calls.append(("run", kw.get("reset"), kw.get("cpu")))
        from framework import l1
        return l1.Result(job, status, 1, 0)

    def renew(self, reason):
        self.calls.append(("renew", reason))


def test_a_sick_job_runs_once_more_in_a_new_l1(tmp_path):
    """l1.run_renewing: a job that ended on a triple fault runs once more after renew() (its
    folder refilled only when reset); a clean end or another failure is returned as it is; the
    test skips when the second try ended sick too."""
    import pytest
    from framework import l1
    sick = (3, "a.err: vCPU triple fault (KVM_EXIT_SHUTDOWN) in the reset state")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "earlier-job.out").write_text("kept")
    fake = FakeL1(tmp_path, [sick, (0, "ok")])
    result = l1.run_renewing(fake, "script.py", folder, "restore", name="t", timeout=10,
                             reset=False, cpu="B")
    assert result.status == 0 and [c[0] for c in fake.calls] == ["run", "renew", "run"]
    assert fake.calls[2] == ("run", False, "B") and (folder / "earlier-job.out").exists()
    fake = FakeL1(tmp_path / "b", [(1, "AssertionError: no")])
    (tmp_path / "b").mkdir()
    assert l1.run_renewing(fake, "s.py", folder, name="t", timeout=10).status == 1
    assert [c[0] for c in fake.calls] == ["run"], "a plain failure was run again"
    (tmp_path / "c").mkdir()
    fake = FakeL1(tmp_path / "c", [sick, sick])
    with pytest.raises(pytest.skip.Exception, match="L1 crashed"):
        l1.run_renewing(fake, "s.py", folder, name="t", timeout=10)
    assert not (folder / "earlier-job.out").exists(), "reset=True did not empty the folder"


# Two vCPU threads in 2 s of a kvm trace (framework/kvm_trace.py's format): vcpu0 caught in a
# loop inside KVM (a nested page fault while it delivers a #PF, the #PF injected again), vcpu1
# halted (the halt watch's kicks reach the VMM).
LOOP = ("           vcpu0-207     [000] .....   154.3449{k:02d}: kvm_exit: vcpu 0 reason npf rip "
        "0xffffffffc071820c info1 0x000000020000000e info2 0x0000000101aeefe0 intr_info "
        "0x80000b0e error_code 0x00000010\n"
        "           vcpu0-207     [000] .....   154.3450{k:02d}: kvm_inj_exception: #PF (0x10)\n")
HALTED = ("           vcpu1-208     [001] .....   154.565846: kvm_userspace_exit: reason restart "
          "(4)\n")


def test_kvm_trace_names_a_loop_inside_kvm():
    """kvm_trace.verdict: a thread with hundreds of exceptions injected a second is a loop inside
    KVM (its SIGN, naming it and its RIP); a guest that spins or sleeps by itself is not."""
    from framework import kvm_trace
    lines = "".join(LOOP.format(k=k % 100) for k in range(500)) + HALTED
    line = kvm_trace.verdict(kvm_trace.summarize(lines.splitlines()), 2)
    assert line.startswith(kvm_trace.SIGN), line
    assert "vcpu0: 500 exceptions injected" in line and "npf 500" in line, line
    assert "rip 0xffffffffc071820c" in line and "GPA 0x101aeefe0" in line, line
    assert "vcpu1" not in line, line
    few = "".join(LOOP.format(k=k) for k in range(5)) + HALTED
    line = kvm_trace.verdict(kvm_trace.summarize(few.splitlines()), 2)
    assert line.startswith("L1's KVM over 2 s: vcpu0: 5 exceptions") and "vcpu1" in line, line
    assert kvm_trace.verdict(kvm_trace.summarize([]), 2) == ""


def test_a_job_ends_sick_on_a_loop_inside_l1s_kvm(tmp_path):
    """l1.job_end: a stall note with kvm_trace.SIGN's line (wait_end_or_stall wrote it) makes the
    job exit 3 with a line sick_l1_sign knows; a stall without it is the boot's own result."""
    from framework import kvm_trace, l1
    (tmp_path / "vmm.stall").write_text("console still for 60 s at 17708 bytes; the vCPUs' "
                                        "exits:\n...\nL1's KVM over 2 s: vcpu0: 0 exceptions\n")
    l1.job_end(tmp_path)  # returns: the guest spun by itself
    (tmp_path / "vmm.stall").write_text("console still for 60 s\n"
                                        f"{kvm_trace.SIGN} over 2 s: vcpu0: 9000 exceptions\n")
    out = job_end_sick(tmp_path)
    assert f"vmm.stall: {kvm_trace.SIGN} over 2 s: vcpu0" in out, out


STALL_TABLE = """console still for 60 s at 27696 bytes; the vCPUs' exits:
VCPU            io         mmio          hlt         intr     shutdown system_event        error        other        total seen          IF  rip                cr3
0            12852         1815            0           70            0            0            0            0        14737 runnable      yes 0xffffffffc080620c {cr3}
1                0            0            0           70            0            0            0            0           70 halted        no  0xf76b11b          0xf801000
"""


def test_a_job_ends_sick_on_a_page_table_base_beyond_the_guests_ram(tmp_path):
    """l1.job_end: a stall note whose vCPU table has a cr3 at or above 4 GiB (firmware_ovmf's
    second boot, fresh clone of 2026-11-30: 0x102aee000 in a 256 MiB guest) is L1's failure; the
    same stall with the cr3 below 4 GiB is the boot's own result."""
    from framework import l1
    (tmp_path / "vmm.stall").write_text(STALL_TABLE.format(cr3="0x2aee000"))
    l1.job_end(tmp_path)  # returns: a plausible cr3
    assert l1.cr3_beyond_ram(STALL_TABLE.format(cr3="0x2aee000")) is None
    (tmp_path / "vmm.stall").write_text(STALL_TABLE.format(cr3="0x102aee000"))
    out = job_end_sick(tmp_path)
    assert f"vmm.stall: {l1.CR3_SIGN}: vCPU 0's cr3 0x102aee000 (bit 32 set)" in out, out
    assert l1.SICK.search(out), out


class StillVm:
    """What wait_end_or_stall reads of a Vm: a console file that never grows, no API socket."""

    def __init__(self, folder):
        self.out_path = folder / "still.out"
        self.out_path.write_text("[    4.13] alg: self-tests for CTR-KDF (hmac(sha256)) pas")
        self.sock, self.pid, self.stopped, self.name = None, os.getpid(), False, "vmm"
        self.popen = type("popen", (), {"returncode": 143})()

    @property
    def out(self):
        return self.out_path.read_text()

    def alive(self):
        return not self.stopped

    def stop(self):
        self.stopped = True


def test_a_loop_inside_l1s_kvm_ends_a_stalled_boot_early(tmp_path, monkeypatch):
    """l1.wait_end_or_stall: once the console has been still for LOOP_LOOK_S s, a loop inside
    L1's KVM (kvm_trace.exit_loop's SIGN) ends the boot then, not at STALL, and its line is in
    the note; with no loop the boot runs on to STALL."""
    import time

    from framework import kvm_trace, l1
    monkeypatch.setattr(l1, "LOOP_LOOK_S", 0.5)
    monkeypatch.setattr(kvm_trace, "exit_loop",
                        lambda pid: f"{kvm_trace.SIGN} over 2 s: vcpu1: 15546 exceptions")
    start = time.monotonic()
    status, note = l1.wait_end_or_stall(StillVm(tmp_path), 120, stall=60)
    assert time.monotonic() - start < 30, "the loop did not end the boot before STALL"
    assert status == 143 and f"\n{kvm_trace.SIGN} over 2 s: vcpu1" in note, note
    monkeypatch.setattr(kvm_trace, "exit_loop", lambda pid: "L1's KVM over 2 s: vcpu0: 0")
    status, note = l1.wait_end_or_stall(StillVm(tmp_path), 120, stall=2)
    assert note.startswith("console still for 2 s") and kvm_trace.SIGN not in note, note


def test_l1_wait_out_ends_on_a_loop_inside_l1s_kvm(tmp_path, monkeypatch):
    """l1.wait_out: a line that is there is returned; a console still for LOOP_LOOK_S s while L1's
    KVM loops raises L1Loop (a WaitTimeout) with kvm_trace.SIGN's line; without a loop the wait
    ends at its deadline as Process.wait_out's does."""
    from framework import kvm_trace, l1
    from framework.proc import WaitTimeout
    monkeypatch.setattr(l1, "LOOP_LOOK_S", 0.5)
    vm = StillVm(tmp_path)
    assert l1.wait_out(vm, r"CTR-KDF", 5)
    monkeypatch.setattr(kvm_trace, "exit_loop",
                        lambda pid: f"{kvm_trace.SIGN} over 2 s: vcpu1: 15546 exceptions")
    with pytest.raises(l1.L1Loop) as loop:
        l1.wait_out(vm, r"^VMM-STOCK-VCPUHP: waiting$", 60)
    assert loop.value.line.startswith(kvm_trace.SIGN) and "vcpu1" in str(loop.value)
    monkeypatch.setattr(kvm_trace, "exit_loop", lambda pid: "L1's KVM over 2 s: vcpu0: 0")
    with pytest.raises(WaitTimeout, match="not within 2 s") as late:
        l1.wait_out(vm, r"^VMM-STOCK-VCPUHP: waiting$", 2)
    assert not isinstance(late.value, l1.L1Loop)


def test_l1_wait_out_with_stall_ends_a_still_console_with_a_note(tmp_path, monkeypatch):
    """l1.wait_out(..., stall=S): a console still for S s (no loop inside L1's KVM) raises
    Stalled, whose note has the vCPUs read twice, L1's KVM seen between and COM1's registers; job_end turns such a
    note into L1's failure only when it shows one of L1's signatures (a cr3 beyond the RAM)."""
    import time

    from framework import kvm_trace, l1
    monkeypatch.setattr(kvm_trace, "exit_loop", lambda pid: "L1's KVM over 2 s: vcpu0: 0")
    reads = iter(["vcpus: first read", "vcpus: second read"])
    monkeypatch.setattr(l1, "_vcpus", lambda vm: next(reads))
    monkeypatch.setattr(l1, "uart_line", lambda vm: "0 bytes dropped ...; IER 0x07 MCR 0x0b "
                        "IIR 0x02, IRQ line 1")
    monkeypatch.setattr(time, "sleep", lambda s: None)
    vm = StillVm(tmp_path)
    with pytest.raises(l1.Stalled, match="console still for 0.5 s") as stalled:
        l1.wait_out(vm, r"^VMM-DEBIAN-DONE", 60, stall=0.5)
    note = stalled.value.note
    assert "first read" in note and "5 s later:\nvcpus: second read" in note, note
    assert "L1's KVM over 2 s" in note and not vm.stopped, note
    assert "\nCOM1: 0 bytes dropped ...; IER 0x07 MCR 0x0b IIR 0x02, IRQ line 1\n" in note, note
    (tmp_path / "vmm-ovmf.stall").write_text(note + "\n")
    (tmp_path / "vmm-ovmf.err").write_text("")
    l1.job_end(tmp_path)  # a stall without L1's signature: the boot's own result, no exit 3
