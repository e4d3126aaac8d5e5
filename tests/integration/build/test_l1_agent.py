# The agent that runs the tests' jobs inside L1 (framework/l1.py, agent()), here on this host on
# a folder made for it: it runs the ready jobs of its own L1 profile in their order, once each,
# and leaves alone a job of another profile, a cancelled one and one another L1 boot took; it
# beats its heartbeat and writes each job's output and result; it ends when the folder says stop.
# labels: harness
# timeout: 60
import json
import os
import sys

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
