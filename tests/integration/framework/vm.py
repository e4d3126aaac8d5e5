"""Runs of our VMM and of QEMU, made through one factory (`vms`, a fixture of conftest.py) that
gives each its files in the test's folder and ends every one of them when the test ends; on a
failure the test's report shows each run's last output."""
import json
import signal
from pathlib import Path

from . import paths
from .api import Api
from .proc import Process, wait_until


class Vm(Process):
    """Our VMM with ARGS. api=True adds --api-sock (self.api) and waits for it unless
    api_wait=False (a --migrate-from destination opens it once the VM has arrived); config=DICT
    writes it as the --config-file; console_in=True lets type() write to the console."""

    def __init__(self, workdir, args, name="vmm", api=False, config=None, console_in=False,
                 env=None, wrap=(), pass_fds=(), api_wait=True):
        workdir = Path(workdir)
        argv = [*wrap, paths.VMM, *args]
        self.api = None
        if config is not None:
            config_path = workdir / f"{name}.json"
            config_path.write_text(json.dumps(config, indent=1))
            argv += ["--config-file", config_path]
        if api:
            self.sock = workdir / f"{name}.sock"
            argv += ["--api-sock", self.sock]
            self.api = Api(self.sock)
        super().__init__(argv, workdir, name, stdin="pipe" if console_in else None, env=env,
                         pass_fds=pass_fds)
        if api and api_wait:
            self.api.wait_ready(alive=self.alive)

    def type(self, line):
        """Types LINE and Enter at the guest's console."""
        self.send(line + "\n")

    def wait_state(self, state, timeout=60):
        """Waits until GET / reports STATE ("Running", "Paused", "Not started")."""
        def current():
            answer = self.api.get("/")
            return answer.status == 200 and (answer.json() or {}).get("state") == state
        wait_until(current, timeout, f"{self.name}: state {state}", alive=self.alive)


class Qemu(Process):
    """QEMU (the peer) with ARGS, on KVM where it is usable, else TCG. binary: another QEMU
    than paths.QEMU (paths.QEMU_AARCH64 for arm64 guests; give its accel too)."""

    def __init__(self, workdir, args, name="qemu", accel=None, console_in=False, binary=None):
        from . import host
        if accel is None:
            accel = (["-enable-kvm", "-cpu", "host,-arch-capabilities"] if host.kvm_usable()
                     else ["-accel", "tcg", "-cpu", "max"])
        argv = [binary or paths.QEMU, *accel, "-nodefaults", "-no-user-config", "-nographic",
                *args]
        super().__init__(argv, workdir, name, stdin="pipe" if console_in else None)

    def type(self, line):
        self.send(line + "\n")


class Vms:
    """The runs of one test: every VMM and QEMU it starts, in its folder WORKDIR."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.runs = []
        self._names = {}

    def _name(self, base):
        n = self._names.get(base, 0) + 1
        self._names[base] = n
        return base if n == 1 else f"{base}{n}"

    def start(self, args, name="vmm", **kw):
        """Starts our VMM with ARGS (Vm's keywords) and returns it, running."""
        vm = Vm(self.workdir, args, name=self._name(name), **kw)
        self.runs.append(vm)
        return vm

    def run(self, args, timeout=60, name="vmm", **kw):
        """Runs our VMM with ARGS to its end; returns the Vm, its status in .status."""
        vm = self.start(args, name=name, **kw)
        vm.status = vm.wait(timeout)
        return vm

    def qemu(self, args, name="qemu", **kw):
        """Starts QEMU with ARGS and returns it, running."""
        run = Qemu(self.workdir, args, name=self._name(name), **kw)
        self.runs.append(run)
        return run

    def process(self, argv, name, **kw):
        """Starts any other program the test needs beside its VMs (a back-end, a client)."""
        run = Process(argv, self.workdir, self._name(name), **kw)
        self.runs.append(run)
        return run

    def stop_all(self):
        for run in reversed(self.runs):
            run.stop(grace=5)

    def report(self):
        return "\n".join(run.tail() for run in self.runs)


def sigterm_then_wait(vm, timeout=30):
    """Asks the VMM to stop as an operator does (SIGTERM) and returns its status."""
    vm.signal(signal.SIGTERM)
    return vm.wait(timeout)
