"""One L1 per suite run: the tests that need a hardware-style KVM (Debian's stock kernel, firmware,
vCPU hotplug, CPU models) run their boots inside an L1 Linux under QEMU's TCG with nested SVM
(tools/kvm-in-qemu) on hosts whose KVM cannot (kvm_pvm). An L1 boot costs about 30 s of both
cores, so one L1 serves every such test of a CTest run.

The pieces:
  supervisor  `python3 l1.py serve DIR` on the host: boots L1 (tools/kvm-in-qemu/run.sh) with the
              agent as its command, watches it, and boots it again when it dies on its own;
              CTest's fixture test integration/l1_start starts it (outside any test's guard, so
              it outlives the test) and integration/l1_stop ends it (tests/CMakeLists.txt)
  agent       `python3 l1.py agent DIR` in L1: runs the jobs the host writes into DIR/jobs (a
              folder under the build, shared read-write with L1) one at a time, each in its own
              process group, its output, status and time in the job's folder
  L1 / get()  a test's handle: run(argv, env, timeout) submits a job and waits for its end
              (run_file(): a test file's own __main__ as the job, its files in a new_dir)
  boots_folder  a test's boots here when this host's KVM can run them, else in L1 by
              run_file(); yields their folder for the checks

What is L1's own failure, and only that, is retried, once, at this level: L1's kernel panicked,
QEMU aborted under it (TCG's nested SVM: "tcg_handle_interrupt: assertion failed"), or run.sh's
stall watch stopped it (a CPU stuck, or no heartbeat: tools/kvm-in-qemu/README.md). The
supervisor sees QEMU end, names the reason from L1's console, marks the job that was running as
failed by L1, and boots a new L1; the test then runs the job again (after its reset, when given)
and skips, saying so, when L1 failed a second time. Whatever our guest does in L1 (a triple
fault, a stall of its console) is the job's result, not presumed to be L1's, but for two
signatures of a guest state L1 corrupted: a triple fault in the reset state
(reset_state_triple_fault: QEMU's guests end so in L1 too) and a stall with a vCPU caught in a
loop inside L1's KVM (framework/kvm_trace.py). A test may boot such a boot again, once, and skip
as L1's failure when the second ends so as well. A job that ends with a status other than 0 on a
VMM that hung in L1, a triple fault or such a loop (sick_l1_sign; a job's l1.job_end turns
either signature into such an end) runs once more in a new L1 (run_renewing, which boots_folder
uses; L1.renew asks the supervisor): an L1 that went wrong so tends to stay wrong (CI failed
on three triple faults in a row in one L1; in a fresh-clone run here, 2026-11-29, guest_cpuid's
guest stopped mid-line). When it ends so in the new L1 too, the test skips as "L1 crashed",
saying both.

A test run by hand (no supervisor running) starts one of its own for its process, ended with it.
"""
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__:
    from . import host, kvm_trace, paths
    from .proc import WaitTimeout, read_text, wait_until
else:  # run as a program (serve, agent, start, stop): framework/ is not a package then
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from framework import host, kvm_trace, paths  # noqa: E402
    from framework.proc import WaitTimeout, read_text, wait_until  # noqa: E402

SHARED = paths.CACHE / "l1"
# L1's CPU: EPYC with SVM and nested paging (run.sh's default) and ERMS, which guest_cpuid's CPU
# templates need to see on the host (T2A).
CPU = "EPYC,+svm,+npt,+erms"
# The run's other L1 kind: a CPU without SSSE3, SSE4.x, POPCNT, XSAVE... (snapshot_cpu_hosts'
# host B), with the VFIO devices (vfio_l1): both tests' jobs share its boots, so that a run boots
# L1 four times (the shared one, this, the shared kind again for snapshot_cpu_hosts, this)
# instead of five.
CPU_SMALL = "qemu64,+svm,+npt"
BOOT_TIMEOUT = 300      # L1 to its agent: ~15 s alone, ~30 s beside a loaded host
LIFETIME = 4 * 3600     # run.sh --timeout: an L1 nobody stopped ends by itself
# run.sh --stall: L1's kernel reporting a CPU stuck this long ends that L1 (its default, 240 s,
# cost a fresh-clone run 4 minutes, 2026-11-30: khugepaged's CPU stuck in L1 from 22 s on, the
# watchdog's count growing 22, 48, 74, 100, 126 s; nothing in L1 recovers from that)
STUCK_S = 100
QUEUE_LIMIT = 1800      # a job waits so long at most for the jobs before it (and an L1 boot)
IDLE_LIMIT = 3600       # the supervisor stops an L1 with no job for so long (l1_stop never came)
MAX_FAILURES = 4        # L1's own failures before the supervisor gives up
# The agent writes agent.beat every 5 s (AGENT_POLL while a job runs). Once it has not for so long
# while a job runs, L1 is stuck and is ended as failed, its job marked so (retried in a new L1):
# in a fresh-clone run (2026-12-01) the agent and the job's files on the shared folder stopped 60
# s into firmware_debian's first boot while stage2.sh's heartbeat on the other share went on, so
# run.sh's stall watch saw nothing, and the run would have waited the job's 17 minutes, then
# every later job its queue limit behind it.
AGENT_SILENCE = 120
CRASH = re.compile(r"Kernel panic - not syncing: [^\r\n]*|tcg_handle_interrupt: assertion failed"
                   r"[^\r\n]*|kvm-in-qemu: L1 stalled[^\r\n]*|Bail out! [^\r\n]*")
# The test's own deadline (CTest's TIMEOUT, given as VMM_TEST_TIMEOUT; this module is imported as
# the test starts): a second try of a job after L1's own failure gets what is left of it.
TEST_DEADLINE = (time.monotonic() + float(os.environ["VMM_TEST_TIMEOUT"]) - 30
                 if os.environ.get("VMM_TEST_TIMEOUT") else None)
WHY = ("this host's KVM is kvm_pvm, where Debian's stock kernel stops at an emulation failure "
       "(cmpxchg16b, then its INT3 self-test) before any driver")


class L1Failed(Exception):
    """L1 itself died under a job (its reason: the console's panic, abort or stall line)."""


def wanted(force_direct=False):
    """True when the boots must run in L1: this host's KVM is kvm_pvm (unless FORCE_DIRECT)."""
    return os.path.exists("/sys/module/kvm_pvm") and not force_direct


def inside():
    """True in a job of an L1 (its agent sets L1_BOOT): the guest under an emulated KVM."""
    return bool(os.environ.get("L1_BOOT"))


def peer_wanted(var, in_l1):
    """Whether a test boots its QEMU peer beside ours: the environment's VAR (1 or 0) says; unset,
    yes directly on a KVM and no in L1, where the peer took as long as our boots for lines that
    are printed, not counted."""
    return os.environ.get(var, "0" if in_l1 else "1") == "1"


def require(why=WHY):
    """Skips unless tools/kvm-in-qemu can run here (root, busybox, cpio)."""
    if not host.is_root():
        host.skip("kvm_pvm", f"{why}; tools/kvm-in-qemu needs root")
    for tool in ("busybox", "cpio"):
        if not host.has(tool):
            host.skip("kvm_pvm", f"{why}; tools/kvm-in-qemu needs {tool}")


def python():
    """The interpreter of a job or of L1's agent: this one when it is the system's (L1 has the
    host's /usr), else python3 on L1's PATH."""
    return sys.executable if sys.executable.startswith("/usr/") else "python3"


def job_env(env=None, keep=()):
    """A job's environment: the harness's paths (framework/paths.py), the variables named in KEEP
    that are set here, then ENV."""
    out = {"VMM": paths.VMM, "VMMCTL": paths.VMMCTL, "QEMU": paths.QEMU, "GUESTS": paths.GUESTS,
           "SOURCE_DIR": paths.SOURCE_DIR, "BUILD_DIR": paths.BUILD_DIR}
    out.update({k: os.environ[k] for k in keep if k in os.environ})
    out.update(env or {})
    return out


def _write_json(path, data):
    tmp = Path(f"{path}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    tmp.rename(path)


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _pid_alive(pid):
    """True while PID runs: not a zombie (a supervisor this process started, ended and not yet
    reaped, would hold stop() for its whole wait)."""
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# ---------------------------------------------------------------- the agent (in L1)

# How often the agent looks for work and for a cancel (s). Every look is file operations on L1's
# 9p share, run by TCG; with a look every 0.3 s over every job the run had made, the idle L1 took
# a fifth of a host CPU (2026-11-29; how much of that the looking was is not measured).
AGENT_POLL = 1.0


def _waiting_jobs(jobs, profile, finished):
    """The jobs of PROFILE ready to run, in order; a job seen taken or cancelled goes into the
    set FINISHED and is not looked at again."""
    todo = []
    for job in sorted(jobs.iterdir()) if jobs.exists() else []:
        if job.name in finished:
            continue
        if (job / "taken").exists() or (job / "cancel").exists():
            finished.add(job.name)
        elif (job / "ready").exists() and read_text(job / "profile") == profile:
            todo.append(job)
    return todo


def agent(folder):
    """L1's command: runs DIR/jobs/*/cmd (those with a 'ready' file) in their order, one at a
    time, until DIR/stop appears; a job's 'cancel' file (the host's deadline, or its test gone)
    ends its process group."""
    folder = Path(folder)
    jobs = folder / "jobs"
    boot = os.environ.get("L1_BOOT", "0")
    profile = os.environ.get("L1_PROFILE", "")
    (folder / f"ready.{boot}").write_text(f"{time.time()}\n")
    beat = 0.0
    finished = set()

    def stopping():
        return (folder / "stop").exists() or (folder / f"stop.{boot}").exists()
    while not stopping():
        now = time.time()
        if now - beat >= 5:
            (folder / "agent.beat").write_text(f"{boot} {now}\n")
            beat = now
        todo = _waiting_jobs(jobs, profile, finished)
        if not todo:
            time.sleep(AGENT_POLL)
            continue
        job = todo[0]
        (job / "taken").write_text(f"{boot}\n")
        finished.add(job.name)
        start = time.monotonic()
        with open(job / "out", "wb") as out:
            child = subprocess.Popen(["bash", str(job / "cmd")], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        while child.poll() is None:
            if time.time() - beat >= 5:
                (folder / "agent.beat").write_text(f"{boot} {time.time()}\n")
                beat = time.time()
            if (job / "cancel").exists() or stopping():
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(child.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        child.wait(10)
                        break
                    except subprocess.TimeoutExpired:
                        pass
            time.sleep(AGENT_POLL)
        try:  # whatever the job left in its group
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _write_json(job / "result", {"status": child.returncode,
                                     "seconds": round(time.monotonic() - start, 1)})


# ---------------------------------------------------------------- the supervisor (host)

def agent_silent(folder, boot, limit):
    """Whether the agent of L1 boot BOOT has written no beat into FOLDER for LIMIT s (the file's
    time, as this host's clock has it; a beat of another boot, or none yet, is not silence)."""
    beat = Path(folder) / "agent.beat"
    try:
        if read_text(beat).split()[:1] != [str(boot)]:
            return False
        return time.time() - beat.stat().st_mtime > limit
    except OSError:
        return False


def profile_text(cpu=None, vfio=False):
    """A job's L1: its CPU model and whether it has the VFIO devices (run.sh --vfio-devices)."""
    return json.dumps({"cpu": cpu or CPU, "vfio": bool(vfio)}, sort_keys=True)


class Supervisor:
    """Boots L1 with the agent; boots it again when it dies on its own, marking the job that ran
    then as failed by L1 (file 'l1failed' with the reason); boots an L1 of another profile (CPU
    model, VFIO devices) when the next job wants one and none runs; ends it on DIR/stop. One L1
    at a time, always."""

    def __init__(self, folder, rw=()):
        self.folder = Path(folder)
        self.rw = list(rw)
        self.state = {"boots": [], "pid": os.getpid()}

    def log(self, text):
        line = f"[{time.strftime('%H:%M:%S')}] {text}"
        with open(self.folder / "supervisor.log", "a") as f:
            f.write(line + "\n")

    def save(self):
        _write_json(self.folder / "state.json", self.state)

    def shares(self):
        rw = [paths.SOURCE_DIR.parent, *self.rw]
        if not any(self.folder.resolve().is_relative_to(Path(d).resolve()) for d in rw):
            rw.append(self.folder)
        return [a for d in rw for a in ("--rw", str(d))]

    def boot(self, n, profile):
        console = self.folder / f"console.{n}"
        want = json.loads(profile)
        argv = [str(paths.tool("kvm-in-qemu", "run.sh")), "--cpu", want["cpu"], "--timeout",
                str(LIFETIME), "--stall", str(STUCK_S), "--log", str(console), *self.shares()]
        if want["vfio"]:
            argv.append("--vfio-devices")
        argv += ["--", python(), str(Path(__file__).resolve()), "agent", str(self.folder)]
        env = dict(os.environ, L1_BOOT=str(n), L1_PROFILE=profile)
        with open(self.folder / f"run.{n}.out", "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, cwd=str(self.folder),
                                    start_new_session=True)
        return proc, console

    def jobs(self):
        jobs = self.folder / "jobs"
        return sorted(jobs.iterdir()) if jobs.exists() else []

    def running_job(self):
        """The job the current L1's agent took and has not finished."""
        current = str(self.state["boots"][-1]["n"]) if self.state["boots"] else ""
        for job in self.jobs():
            if read_text(job / "taken").strip() == current and not (job / "result").exists():
                return job
        return None

    def next_profile(self):
        """The profile of the oldest job waiting, or None."""
        for job in self.jobs():
            if (job / "ready").exists() and not (job / "taken").exists() \
                    and not (job / "cancel").exists():
                return read_text(job / "profile")
        return None

    def cancel_orphans(self):
        """Cancels the jobs whose test process is gone (CTest or the guard ended it)."""
        for job in self.jobs():
            if (job / "result").exists() or (job / "cancel").exists():
                continue
            owner = read_text(job / "owner").strip()
            if owner and not _pid_alive(owner):
                (job / "cancel").write_text("its test ended\n")

    def serve(self, profile):
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "jobs").mkdir(exist_ok=True)
        (self.folder / "stop").unlink(missing_ok=True)
        self.save()
        last_job = time.time()
        failures = 0
        n = 0
        while not (self.folder / "stop").exists():
            n += 1
            profile = self.next_profile() or profile
            start = time.monotonic()
            proc, console = self.boot(n, profile)
            record = {"n": n, "started": time.time(), "pid": proc.pid,
                      "profile": json.loads(profile)}
            self.state["boots"].append(record)
            self.save()
            self.log(f"boot {n} ({profile}): run.sh pid {proc.pid}")
            ready = self.folder / f"ready.{n}"
            switching = False
            stuck = None
            while proc.poll() is None:
                if "ready_s" not in record and ready.exists():
                    record["ready_s"] = round(time.monotonic() - start, 1)
                    self.save()
                    self.log(f"boot {n}: agent ready after {record['ready_s']} s")
                if "ready_s" not in record and time.monotonic() - start > BOOT_TIMEOUT:
                    self.log(f"boot {n}: no agent within {BOOT_TIMEOUT} s; stopping it")
                    self.kill(proc)
                    break
                if (self.folder / "stop").exists():
                    self.log("stop asked")
                    self.end(proc)
                    return
                self.cancel_orphans()
                running = self.running_job()
                if running is not None and agent_silent(self.folder, n, AGENT_SILENCE):
                    stuck = (f"the agent wrote no beat for {AGENT_SILENCE} s while "
                             f"{running.name} ran: L1 stuck")
                    self.log(f"boot {n}: {stuck}; stopping it")
                    self.kill(proc)
                    break
                wanted = self.next_profile()
                if running is not None or wanted is not None:
                    last_job = time.time()
                elif time.time() - last_job > IDLE_LIMIT:
                    self.log(f"no job for {IDLE_LIMIT} s: stopping")
                    (self.folder / "stop").write_text("idle\n")
                if not switching and "ready_s" in record and running is None \
                        and wanted is not None and wanted != profile:
                    self.log(f"boot {n}: the next job wants {wanted}: ending this L1")
                    (self.folder / f"stop.{n}").write_text("another profile\n")
                    switching = True
                    switch_asked = time.monotonic()
                renew = self.folder / "renew"
                if not switching and "ready_s" in record and running is None and renew.exists():
                    self.log(f"boot {n}: a new L1 asked ({read_text(renew).strip()}): ending this one")
                    renew.unlink(missing_ok=True)
                    (self.folder / f"stop.{n}").write_text("a new L1 asked\n")
                    switching = True
                    switch_asked = time.monotonic()
                if switching and time.monotonic() - switch_asked > 60:
                    self.kill(proc)
                time.sleep(0.5)
            record["ran_s"] = round(time.monotonic() - start, 1)
            if switching:
                self.save()
                continue
            # L1 ended without being asked: its own failure.
            text = read_text(console) + read_text(self.folder / f"run.{n}.out")
            found = CRASH.findall(text)
            reason = stuck or (found[0] if found else
                               "L1 ended: " + " | ".join(text.splitlines()[-3:]))
            record["failed"] = reason
            self.log(f"boot {n} failed after {record['ran_s']} s: {reason}")
            job = self.running_job()
            if job is not None:
                (job / "l1failed").write_text(reason + "\n")
                self.log(f"job {job.name} marked as failed by L1")
            failures += 1
            if failures >= MAX_FAILURES:
                self.state["broken"] = f"L1 failed {failures} times; the last: {reason}"
                self.log(self.state["broken"])
                self.save()
                return
            self.save()

    def kill(self, proc):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def end(self, proc):
        """L1 powers off once the agent sees 'stop' (its job, if any, cancelled first)."""
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            self.log("L1 did not power off within 60 s; killing it")
            self.kill(proc)
        self.state["stopped"] = time.time()
        self.save()
        self.log("stopped")


# ---------------------------------------------------------------- a test's side

class Result:
    def __init__(self, job, status, seconds, l1_failures):
        self.job = job
        self.status = status
        self.seconds = seconds
        self.l1_failures = l1_failures  # L1's own failures that were retried

    @property
    def out(self):
        return read_text(self.job / "out")

    def tail(self, lines=40):
        return "\n".join(self.out.splitlines()[-lines:])


class L1:
    """A handle on the supervisor in FOLDER (started by `start()` or CTest's l1_start)."""

    def __init__(self, folder=SHARED):
        self.folder = Path(folder)
        self.own = None  # a supervisor this process started (stopped with it)

    def state(self):
        return _read_json(self.folder / "state.json")

    def up(self):
        state = self.state()
        return bool(state) and _pid_alive(state.get("pid")) and not state.get("broken") \
            and not (self.folder / "stop").exists()

    def ensure(self, **kw):
        """Attaches to the running supervisor, or starts one for this process."""
        if not self.up():
            self.own = start(self.folder, **kw)
        return self

    def new_dir(self, name):
        """A fresh folder for a job's files, shared with L1 (not /tmp: L1 has its own)."""
        base = self.folder / "work"
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"{name}.{os.getpid()}.{time.monotonic_ns() % 10**9}"
        path.mkdir()
        return path

    def submit(self, argv, env=None, cwd=None, name="job", cpu=None, vfio=False):
        jobs = self.folder / "jobs"
        jobs.mkdir(parents=True, exist_ok=True)
        job = jobs / f"{time.time_ns()}-{name}"
        job.mkdir()
        exports = "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in (env or {}).items())
        job.joinpath("cmd").write_text(
            "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            f"{exports}cd {shlex.quote(str(cwd or paths.BUILD_DIR))} || exit 125\n"
            "exec " + " ".join(shlex.quote(str(a)) for a in argv) + "\n")
        job.joinpath("owner").write_text(f"{os.getpid()}\n")
        job.joinpath("profile").write_text(profile_text(cpu, vfio))
        job.joinpath("ready").write_text("")
        return job

    def wait(self, job, timeout):
        """Waits for JOB's result; raises L1Failed when L1 died under it."""
        def done():
            if (job / "result").exists():
                return "result"
            if (job / "l1failed").exists():
                return "l1failed"
            state = self.state()
            if state.get("broken"):
                return "broken"
            if not _pid_alive(state.get("pid")):
                return "gone"
            return None
        try:
            # its turn first (another test's job may run: one at a time), then TIMEOUT for it
            wait_until(lambda: (job / "taken").exists() or done(), QUEUE_LIMIT,
                       f"L1 job {job.name}: its turn")
            what = wait_until(done, timeout, f"L1 job {job.name}")
        except WaitTimeout:
            (job / "cancel").write_text("the test's deadline\n")
            raise
        if what == "l1failed":
            raise L1Failed(read_text(job / "l1failed").strip())
        if what in ("broken", "gone"):
            raise L1Failed(self.state().get("broken") or "the L1 supervisor is gone")
        return _read_json(job / "result")

    def run(self, argv, env=None, cwd=None, timeout=600, name="job", reset=None, cpu=None,
            vfio=False):
        """Runs ARGV in L1 (as root, in CWD, with ENV besides L1's PATH) and returns a Result.
        CPU (L1's QEMU -cpu, default CPU) and VFIO (run.sh --vfio-devices) choose the L1: the
        supervisor boots one of that kind when the job's turn comes.
        When L1 itself dies under it, RESET (if given) is called and it runs once more, within
        what is left of the test's time (VMM_TEST_TIMEOUT) when that is less than TIMEOUT, and
        not at all when it is less than a third of it; when L1 dies again, or there is no time
        for a second try, the test is skipped, saying so."""
        failures = []
        for attempt in (1, 2):
            if failures and TEST_DEADLINE is not None:
                left = TEST_DEADLINE - time.monotonic()
                if left < timeout / 3:
                    host.skip("L1 crashed", f"L1 itself failed under the job, not the boots in it: "
                              f"{failures[-1]}; the test has {max(0, left):.0f} s left, too few for "
                              f"a second try (its job's timeout {timeout} s)")
                timeout = min(timeout, left)
            if failures and not self.up():
                self.ensure()
            job = self.submit(argv, env, cwd, name, cpu, vfio)
            try:
                result = self.wait(job, timeout)
                return Result(job, result.get("status"), result.get("seconds"), failures)
            except L1Failed as failed:
                failures.append(str(failed))
                print(f"note: L1 itself failed under {job.name} (attempt {attempt}): {failed}")
                print(read_text(job / "out")[-2000:])
                if attempt == 1 and reset is not None:
                    reset()
        host.skip("L1 crashed", "L1 itself failed twice, not the boots in it: "
                  f"{failures[-1]} (QEMU's TCG under tools/kvm-in-qemu)")

    def run_file(self, script, folder, *args, env=None, keep=(), reset=True, prepare=None, **kw):
        """Runs `python3 SCRIPT FOLDER ARGS...` (a test file's side in L1, its files in FOLDER, a
        new_dir) with job_env(ENV, KEEP); prints its output and returns its Result. RESET: before
        a retry after L1's own failure FOLDER is emptied and PREPARE(FOLDER) called again (False
        when the folder holds earlier jobs' files). KW: run()'s (timeout, name, cpu, vfio)."""
        result = self.run([python(), Path(script).resolve(), folder, *args],
                          env=job_env(env, keep),
                          reset=(lambda: refill(folder, prepare)) if reset else None, **kw)
        print(result.out)
        return result

    def renew(self, reason, timeout=60):
        """Asks the supervisor for a new L1 (of the next job's kind) and waits until it has ended
        the running one's agent (which then takes no job), at most TIMEOUT s."""
        renew = self.folder / "renew"
        renew.write_text(reason + "\n")
        try:
            wait_until(lambda: not renew.exists(), timeout, "the supervisor to end this L1")
        except WaitTimeout:
            renew.unlink(missing_ok=True)
            print(f"note: no new L1 within {timeout} s: the job runs in this one", flush=True)

    def stop_own(self):
        if self.own is not None:
            stop(self.folder, wait=60)
            self.own = None

    def boot_seconds(self):
        """Each boot's time to a ready agent, for the report."""
        return [b.get("ready_s") for b in self.state().get("boots", [])]


def refill(folder, prepare=None):
    """Empties a job's FOLDER for another try and calls PREPARE(folder) again, when given."""
    for f in Path(folder).iterdir():
        if f.is_dir():
            shutil.rmtree(f)
        else:
            f.unlink()
    if prepare is not None:
        prepare(folder)


@contextlib.contextmanager
def boots_folder(name, script, direct, args=(), force_direct=False, where=WHY, folder=None,
                 tmp_dir=None, prepare=None, timeout=600, **kw):
    """`with l1.boots_folder(NAME, __file__, DIRECT, ...) as folder:` a test's boots, here or in
    the run's L1, and the folder of their files for the checks. Here (not wanted(FORCE_DIRECT)):
    DIRECT(folder) in FOLDER, or in a temporary folder (prefix NAME, under TMP_DIR) removed after
    the block. In L1 (printing WHERE): SCRIPT's __main__ as `python3 SCRIPT FOLDER ARGS...` in
    new_dir(NAME) (L1.run_file: KW are its env, keep), which must end with status 0.
    PREPARE(folder), when given, is called on the empty folder before the boots either way."""
    if not wanted(force_direct):
        print(f"where: directly on this host's KVM ({host.kvm_line()})")
        with contextlib.ExitStack() as stack:
            if folder is None:
                folder = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix=f"{name}.", dir=tmp_dir))
            folder = Path(folder)
            if prepare is not None:
                prepare(folder)
            direct(folder)
            yield folder
        return
    print(f"where: {where}")
    shared = get()
    folder = shared.new_dir(name)
    if prepare is not None:
        prepare(folder)
    result = run_renewing(shared, script, folder, *args, prepare=prepare, timeout=timeout,
                          name=name, **kw)
    assert result.status == 0, f"{name} in L1 ended with status {result.status}:\n{result.tail()}"
    yield folder


def run_renewing(shared, script, folder, *args, name, timeout, prepare=None, reset=True, **kw):
    """SHARED.run_file(SCRIPT, FOLDER, ARGS...) (KW: its env, keep, cpu, vfio), and once more in a
    new L1 when it ended on sick_l1_sign (FOLDER emptied and PREPARE(folder) called again first
    when RESET; a job that keeps earlier jobs' files there passes reset=False); the test skips as
    "L1 crashed" when the second ended so too. Returns the last Result."""
    result = shared.run_file(script, folder, *args, prepare=prepare, reset=reset,
                             timeout=timeout, name=name, **kw)
    sick = sick_l1_sign(result)
    if sick and TEST_DEADLINE is not None and TEST_DEADLINE - time.monotonic() < timeout / 3:
        print(f"note: {name} in L1 ended on {sick!r}, too late in the test for another try",
              flush=True)
    elif sick:
        # once more in a new L1: the same one stays sick (reset_state_triple_fault's counts)
        print(f"note: {name} in L1 ended with status {result.status} on {sick!r}: once more in "
              "a new L1", flush=True)
        shared.renew(f"{name}: {sick}")
        if reset:
            refill(folder, prepare)
        result = shared.run_file(script, folder, *args, prepare=prepare, reset=reset,
                                 timeout=timeout, name=name, **kw)
        again = sick_l1_sign(result)
        if again:
            host.skip("L1 crashed", f"{name}: ended on {sick!r} in one L1 and on {again!r} in "
                      "a new one (l1.sick_l1_sign: QEMU's own guests triple-fault in L1 too)")
    return result


# What a job's output shows when a VMM in L1 hung or its guest triple-faulted in the reset state:
# L1's sickness as often as not (reset_state_triple_fault), so boots_folder runs such a job once
# more in a new L1.
# L1's signature seen on both VMMs (issue 66, 2026-11-30): a stalled vCPU whose page-table base
# (cr3 in a stall note's vCPU table, vmm/api `vmmctl vcpus`) is a plausible one with bit 32 set,
# beyond a guest's RAM (every guest booted in L1 has at most 512 MiB, all of it below 4 GiB):
# ours 0x102aee000 and 0x102394000 in 256 MiB guests, QEMU's nested page faults at 0x102486fe0
# and 0x10098efe0 (kvm_trace) in 512 MiB ones. It is L1's own CR3 (L1 has RAM above 4 GiB): TCG's
# nested SVM saved L1's state into the guest's save area on a #VMEXIT taken outside guest mode
# (tools/kvm-in-qemu/qemu-patches/0004 fixes it; kept as a net for an L1 built without it).
CR3_SIGN = "page-table base beyond the guest's RAM"
_VCPU_ROW = re.compile(r"^(\d+)(?:\s+\d+){9}\s+\S+\s+(?:yes|no)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s*$",
                       re.M)


def cr3_beyond_ram(note):
    """CR3_SIGN's line for the first vCPU of a stall NOTE whose cr3 is at or above 4 GiB, or
    None."""
    for vcpu, cr3 in _VCPU_ROW.findall(note):
        if int(cr3, 16) >= 1 << 32:
            return f"{CR3_SIGN}: vCPU {vcpu}'s cr3 0x{cr3} (bit 32 set)"
    return None


SICK = re.compile(r"WaitTimeout: vmm-[\w.-]+: still running after \d+ s|"
                  r"triple fault \(KVM_EXIT_SHUTDOWN\)|" + re.escape(kvm_trace.SIGN) + "|"
                  + re.escape(CR3_SIGN))


def sick_l1_sign(result):
    """The line of a failed RESULT's output that shows a VMM hung in L1 or a triple fault; None
    for a job that ended with 0 or without such a line."""
    m = SICK.search(result.out) if result.status != 0 else None
    return m.group(0) if m else None


def job_end(folder, pattern="*.err"):
    """A job's last call in L1 (its __main__, after its boots wrote FOLDER): when a VMM's stderr
    there (FOLDER/PATTERN: the job's own files) shows a triple fault in the reset state
    (reset_state_triple_fault), the job prints that line and exits with 3, so run_renewing runs
    it once more in a new L1 instead of handing the test a boot that L1 broke (CI, 2026-11-29:
    linux_stock_hotplug's guest, 8 s into its boot, in a run whose linux_debian had just seen
    three such faults). Under kvm_amd every triple fault reports the reset state (its SHUTDOWN
    intercept reinitialises the VMCB), so this matches any triple fault in L1. So does a stall
    note there (FOLDER/*.stall beside PATTERN's files) naming a vCPU caught in a loop inside
    L1's KVM (wait_end_or_stall, kvm_trace.SIGN), or a vCPU whose page-table base lies beyond
    the guest's RAM (cr3_beyond_ram(), CR3_SIGN)."""
    line = sick_files(folder, pattern)
    if line:
        print(line, flush=True)
        sys.exit(3)


def sick_files(folder, pattern="*.err"):
    """job_end's verdict on FOLDER/PATTERN (and the .stall notes beside them) without exiting: the
    line that shows L1's failure, or None."""
    for stall in sorted(Path(folder).glob(pattern.replace(".err", ".stall"))):
        note = read_text(stall)
        loop = re.search(f"^{re.escape(kvm_trace.SIGN)}.*$", note, re.M)
        if loop:  # a vCPU caught in a loop inside L1's KVM (framework/kvm_trace.py)
            return f"{stall.name}: {loop.group(0)}"
        cr3 = cr3_beyond_ram(note)
        if cr3:
            return f"{stall.name}: {cr3}"
    for err in sorted(Path(folder).glob(pattern)):
        text = read_text(err)
        if reset_state_lines(text):
            # which vCPU, kept in the job's output: a retry empties the folder (or, for a boot
            # run again alone, moves its files to l1-failed/: boot_to_run)
            which = re.search(r"vCPU \d+: triple fault", text)
            return (f"{err.name}: {which.group(0) if which else 'vCPU triple fault'} "
                    "(KVM_EXIT_SHUTDOWN) in the reset state")
    return None


def boot_to_run(folder, name):
    """For a job of several boots that run_renewing may run again (reset=False): True when boot
    NAME (its files FOLDER/NAME.*) has still to run: it never ran, or it ended on L1's failure
    (sick_files), whose files then move to FOLDER/l1-failed/ (kept for a look, out of the
    checks' and job_end's way), its live copies (mirrored: live.NAME.*) too. A boot that ended
    otherwise is kept as it is, so a new L1 runs only the boots that the sick one broke."""
    folder = Path(folder)
    if not (folder / f"{name}.status").exists():
        return True
    if not sick_files(folder, f"{name}.err"):
        return False
    failed = folder / "l1-failed"
    failed.mkdir(exist_ok=True)
    for f in [*folder.glob(f"{name}.*"), *folder.glob(f"live.{name}.*")]:
        f.replace(failed / f.name)
    return True


def reset_state_triple_fault(status, err):
    """True when a VMM ended (STATUS, its stderr ERR) with a vCPU's triple fault whose registers
    are the reset state (rip fff0): what kvm_amd reports after any SHUTDOWN intercept. In L1
    (QEMU's TCG with nested SVM) QEMU's own L2 guests end so too: side by side in L1, 1 of 5
    boots of Debian's kernel on QEMU q35 and 3 of 5 on ours (2026-11-28, issue 66), while L1's
    own kernel panicked from a corrupted GS base at its world switches. Again on 2026-11-29 (CI
    failed so: three in a row), with the host loaded and every boot alone in L1: of 5 tries, a
    triple fault on vCPU 1, one on vCPU 0, a vCPU that answered no NMI for 500 s, L1's own
    kernel dead on a bad GS base (its recursive page faults in our VMM's vcpu0 thread), one
    boot passed; L1 at nice -10, or with `-fsgsbase`, or TCG's single thread did not help (the
    last halted every L2 vCPU with IF=0 early in the boot). Nothing pointed at a VMM: the
    corruption reaches L1's own kernel. A test may boot such a boot again, once, and skips as
    L1's failure when the second ends so too (linux_debian)."""
    return status == 4 and reset_state_lines(err)


def reset_state_lines(err):
    """True when a VMM's stderr ERR reports a vCPU's triple fault with its registers in the reset
    state (reset_state_triple_fault, whatever status the VMM ended with)."""
    return "triple fault (KVM_EXIT_SHUTDOWN)" in err and "rip=000000000000fff0" in err


def wait_end_or_stall(vm, timeout, stall=60):
    """Waits for VM (a Vm with an API socket) to end, at most TIMEOUT s; returns (status, note).
    When its console stays still for STALL s, its vCPUs' exit counters are read twice, 5 s
    apart (do they move: the guest spins; or not: a vCPU stuck in KVM_RUN), the boot is stopped
    and NOTE says so with them: in L1 (TCG's nested SVM) a boot's console now and then stopped
    mid-line early in the kernel's boot (linux_stock, firmware_stock, 2026-11-27). The kernel's
    kvm tracepoints are sampled for 2 s (kvm_trace.exit_loop(), where this process may: L1's
    root) once the console has been still for LOOP_LOOK_S s, and between the two reads: when a
    vCPU is caught in a loop inside L1's KVM the boot is stopped then and NOTE has
    kvm_trace.SIGN's line, which job_end() turns into L1's failure; any other stall is the
    boot's result, reported, not retried. A status of None: the deadline passed (stopped)."""
    deadline = time.monotonic() + timeout
    still = StillConsole(vm)
    while vm.alive():
        now = time.monotonic()
        if now >= deadline:
            vm.stop()
            return None, f"no end within {timeout} s"
        kvm = still.loop(min(stall, LOOP_LOOK_S)) if stall else ""
        if kvm:
            return _stalled(vm, still.seconds(), still.size, kvm)
        if stall and still.seconds() >= stall:
            return _stalled(vm, stall, still.size)
        time.sleep(0.5)
    return vm.popen.wait(), ""


# A console still for this long in L1 is looked at for a loop inside L1's KVM (kvm_trace), which
# ends the boot at once; a guest quiet for longer by itself is left to STALL.
LOOP_LOOK_S = 20


class StillConsole:
    """How long VM's console has been still, and a look at L1's KVM once per still spell."""

    def __init__(self, vm):
        self.vm, self.size, self.since, self.looked = vm, -1, time.monotonic(), False

    def seconds(self):
        """Seconds since the console last grew (read now)."""
        current = self.vm.out_path.stat().st_size if self.vm.out_path.exists() else 0
        if current != self.size:
            self.size, self.since, self.looked = current, time.monotonic(), False
        return time.monotonic() - self.since

    def loop(self, after):
        """kvm_trace.SIGN's line when the console has been still for AFTER s and L1's KVM then
        holds a vCPU in a loop (looked at once per still spell), else ""."""
        if self.seconds() < after or self.looked:
            return ""
        self.looked = True
        kvm = kvm_trace.exit_loop(self.vm.pid)
        return kvm if kvm.startswith(kvm_trace.SIGN) else ""


class L1Loop(WaitTimeout):
    """wait_out()'s end when a vCPU was caught in a loop inside L1's KVM; .line is
    kvm_trace.SIGN's line, for the job's stall note (job_end() then ends it as L1's failure)."""

    def __init__(self, message, line):
        super().__init__(message)
        self.line = line


class Stalled(WaitTimeout):
    """wait_out()'s end when the console was still for its STALL s (and no loop inside L1's KVM
    was seen); .note is stall_note()'s, for the job's stall note (job_end() ends the job as L1's
    failure when it shows one of L1's signatures, cr3_beyond_ram(); else it is the boot's)."""

    def __init__(self, message, note):
        super().__init__(message)
        self.note = note


def wait_out(vm, regex, timeout, stall=None):
    """VM.wait_out(REGEX, TIMEOUT) for a boot in L1 that also ends, raising L1Loop, once its
    console has been still for LOOP_LOOK_S s while L1's KVM holds a vCPU in a loop, and with
    STALL, Stalled once it has been still for STALL s (CI, 2026-12-01: an OVMF boot of Debian's
    kernel whose console stopped mid-line 3 s into the kernel waited out all of its 300 s)."""
    pattern = re.compile(regex, re.M)
    deadline = time.monotonic() + timeout
    still = StillConsole(vm)
    while True:
        match = pattern.search(vm.out)
        if match:
            return match
        if not vm.alive():
            match = pattern.search(vm.out)
            if match:
                return match
            raise WaitTimeout(f"{vm.name}: /{regex}/ in its output: the process ended first")
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{vm.name}: /{regex}/ in its output: not within {timeout} s")
        kvm = still.loop(LOOP_LOOK_S)
        if kvm:
            raise L1Loop(f"{vm.name}: /{regex}/ in its output: {kvm}", kvm)
        if stall and still.seconds() >= stall:
            raise Stalled(f"{vm.name}: /{regex}/ in its output: its console still for {stall} s",
                          stall_note(vm, still.seconds(), still.size))
        time.sleep(0.2)


def stall_note(vm, still, size, kvm=None):
    """A stalled VM's note: its vCPUs read twice, 5 s apart (with 2 s of L1's KVM between them
    unless KVM is what was seen already)."""
    first = _vcpus(vm)
    time.sleep(3 if kvm is None else 5)  # a measurement over 5 s: do the exit counters move?
    if kvm is None:
        kvm = kvm_trace.exit_loop(vm.pid)  # 2 s of L1's KVM: a loop in it (L1's failure)?
    second = _vcpus(vm)
    threads = kvm_trace.thread_states(vm.pid)
    uart = uart_line(vm)
    return (f"console still for {still:.0f} s at {size} bytes; the vCPUs' exits:\n{first}\n"
            f"5 s later:\n{second}" + (f"\n{kvm}" if kvm else "")
            + (f"\nCOM1: {uart}" if uart else "")
            + (f"\nthe VMM's threads:\n{threads}" if threads else ""))


UART_LINE = re.compile(r"^uart: +(.*IER 0x[0-9a-f]{2}.*)$", re.M)


def uart_line(vm):
    """vmmctl metrics' line of COM1's registers as the guest's driver left them ("" without an
    API socket or the registers)."""
    if getattr(vm, "sock", None) is None:
        return ""
    run = subprocess.run([str(paths.VMMCTL), "--sock", str(vm.sock), "--timeout", "10",
                          "metrics"], capture_output=True, text=True)
    m = UART_LINE.search(run.stdout)
    return m.group(1) if m else ""


def _stalled(vm, still, size, kvm=None):
    """wait_end_or_stall's end of a stalled VM: its stall_note(), then stopped; (status, note)."""
    note = stall_note(vm, still, size, kvm)
    vm.stop()
    return vm.popen.returncode, note


class mirrored:
    """`with l1.mirrored(vms, out):` copies the output files of every run of VMS (a Vms whose
    folder is L1's own /tmp: Unix sockets cannot be bound on the 9p share) into OUT every 2 s
    and once more at the end, so that the host sees a boot in L1 as it goes (a job that hangs
    can be told from one that is slow)."""

    def __init__(self, vms, out):
        self.vms = vms
        self.out = Path(out)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def copy(self):
        for run in list(self.vms.runs):
            for path in (run.out_path, run.err_path):
                try:
                    shutil.copyfile(path, self.out / f"live.{path.name}")
                except OSError:
                    pass

    def loop(self):
        while not self.done.wait(2):
            self.copy()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()
        self.copy()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _vcpus(vm):
    if getattr(vm, "sock", None) is None:
        return "(no API socket)"
    run = subprocess.run([str(paths.VMMCTL), "--sock", str(vm.sock), "--timeout", "10", "vcpus"],
                         capture_output=True, text=True)
    return (run.stdout + run.stderr).strip()


_handles = {}


def get(folder=SHARED, **kw):
    """The L1 for this test: the shared one, or one started for this process (and stopped at its
    exit) when none is running (a test run by hand)."""
    require()
    folder = Path(folder)
    handle = _handles.get(folder)
    if handle is None:
        handle = _handles[folder] = L1(folder)
        import atexit
        atexit.register(handle.stop_own)
    return handle.ensure(**kw)


def start(folder=SHARED, cpu=CPU, vfio=False, rw=(), timeout=BOOT_TIMEOUT):
    """Starts a supervisor in FOLDER (in its own session, its output in FOLDER) unless one is
    running, and waits for its first L1's agent; returns its pid. CPU and VFIO: the first L1's
    profile (later ones follow the jobs)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = _read_json(folder / "state.json")
    if state and _pid_alive(state.get("pid")) and not state.get("broken") \
            and not (folder / "stop").exists():
        return state["pid"]
    # The last run's files: its jobs, their folders, consoles and marks
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name != "supervisor.log":
            path.unlink(missing_ok=True)
    (folder / "supervisor.log").write_text("")
    argv = [sys.executable, str(Path(__file__).resolve()), "serve", str(folder), "--cpu", cpu]
    if "BUILD_DIR" not in os.environ:  # paths.CACHE for the supervisor too
        os.environ["BUILD_DIR"] = str(paths.BUILD_DIR)
    if vfio:
        argv.append("--vfio")
    for d in rw:
        argv += ["--rw", str(d)]
    with open(folder / "supervisor.out", "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)

    def ready():
        st = _read_json(folder / "state.json")
        if st.get("broken"):
            raise L1Failed(st["broken"])
        boots = st.get("boots", [])
        return any("ready_s" in b for b in boots)
    wait_until(ready, timeout * 2, "L1's first agent", alive=lambda: proc.poll() is None)
    return proc.pid


def stop(folder=SHARED, wait=90):
    """Asks the supervisor in FOLDER to end L1 and waits for it."""
    folder = Path(folder)
    state = _read_json(folder / "state.json")
    if not state or not _pid_alive(state.get("pid")):
        return
    (folder / "stop").write_text("asked\n")
    try:
        wait_until(lambda: not _pid_alive(state["pid"]), wait, "the L1 supervisor's end")
    except WaitTimeout:
        os.kill(state["pid"], signal.SIGKILL)


def summary(folder=SHARED):
    state = _read_json(Path(folder) / "state.json")
    boots = state.get("boots", [])
    lines = [f"L1 boots: {len(boots)}"]
    for b in boots:
        failed = f"; failed after {b.get('ran_s')} s: {b['failed']}" if b.get("failed") else ""
        lines.append(f"  boot {b['n']}: agent ready after {b.get('ready_s')} s{failed}")
    jobs = Path(folder) / "jobs"
    for job in sorted(jobs.iterdir()) if jobs.exists() else []:
        result = _read_json(job / "result")
        mark = " (L1 failed under it)" if (job / "l1failed").exists() else ""
        lines.append(f"  job {job.name.split('-', 1)[-1]}: status {result.get('status')}, "
                     f"{result.get('seconds')} s{mark}")
    return "\n".join(lines)


def main(argv):
    """l1.py serve DIR [--cpu M] [--vfio] [--rw D]... | agent DIR | start | stop  (CTest's
    integration/l1_start and l1_stop: start and stop print what they did and exit 0 when this
    host needs no L1)."""
    cmd = argv[0] if argv else ""
    if cmd == "agent":
        agent(argv[1])
    elif cmd == "serve":
        cpu, vfio, rw, rest = CPU, False, [], argv[2:]
        while rest:
            if rest[0] == "--cpu":
                cpu, rest = rest[1], rest[2:]
            elif rest[0] == "--vfio":
                vfio, rest = True, rest[1:]
            elif rest[0] == "--rw":
                rw.append(rest[1])
                rest = rest[2:]
            else:
                raise SystemExit(f"l1.py serve: unknown {rest[0]}")
        Supervisor(argv[1], rw=rw).serve(profile_text(cpu, vfio))
    elif cmd == "start":
        if not wanted():
            print(f"l1: not needed here ({host.kvm_line()})")
            return 0
        if not host.is_root() or not host.has("busybox") or not host.has("cpio"):
            print("l1: tools/kvm-in-qemu cannot run here (root, busybox, cpio); the L1 tests skip")
            return 0
        begin = time.monotonic()
        try:
            pid = start()
        except (L1Failed, WaitTimeout) as failed:
            print(f"l1: L1 did not start: {failed}\n{read_text(SHARED / 'supervisor.log')}")
            return 0  # the L1 tests then start their own (and say why when that fails too)
        print(f"l1: supervisor {pid}, L1 ready in {time.monotonic() - begin:.1f} s "
              f"(folder {SHARED})")
    elif cmd == "stop":
        stop()
        print(summary())
    else:
        raise SystemExit(main.__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
