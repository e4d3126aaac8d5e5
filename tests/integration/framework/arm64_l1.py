"""One arm64 L1 boot for every arm64 KVM check of a run (issue 67: the arm64 L1 tests share an
L1 boot): an L1 costs ~10 s of both cores to boot under TCG, and the host runs one L1 at a time.

A Part is one group of checks with its own folder (ROOT/NAME, shared read-write with L1 and
outside /tmp, which L1 mounts a tmpfs over):
    prepare(work) -> ctx            on the host, before L1: disks, scripts, what check() needs
    lines(work, ctx) -> [str]       busybox sh lines L1 runs (in a subshell of their own, so that
                                    one part's `cd`, `exec` or failure does not touch the next)
    check(console, work, ctx) -> [str]   after L1: what failed (empty: the part passed)

    failures, console = arm64_l1.run(parts, root)        # an L1 with a GICv3
    failures, console = arm64_l1.run(parts, root, gic=2) # one whose KVM has only a GICv2

Each part's lines are framed by "ARM64_PART NAME begin|end UPTIME" on L1's console (its time in
L1, printed by run()). L1's own failure (tools/kvm-in-qemu/run.sh: "L1 did not finish") is
retried once, in fresh folders.
"""
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable

from framework import paths

RUN = paths.tool("kvm-in-qemu", "run.sh")
# The busybox sh function parts' lines wait with: waitfor FILE REGEX PID TENTHS: 0 once the
# extended REGEX matches in FILE, 1 after TENTHS tenths of a second, 2 when PID ended first;
# waitline the same on FILE's finished lines only (a guest's line read before its newline was cut)
WAITFOR = ('waitfor() { i=0; while ! grep -Eq "$2" "$1" 2>/dev/null; do kill -0 "$3" 2>/dev/null '
           '|| return 2; i=$((i+1)); [ $i -gt "$4" ] && return 1; sleep 0.1; done; }\n'
           'waitline() { i=0; while ! head -n "$(wc -l 2>/dev/null < "$1")" "$1" 2>/dev/null | '
           'grep -Eq "$2"; do kill -0 "$3" 2>/dev/null || return 2; i=$((i+1)); '
           '[ $i -gt "$4" ] && return 1; sleep 0.1; done; }')


@dataclass
class Part:
    name: str
    prepare: Callable
    lines: Callable
    check: Callable


def _script(parts, root, ctxs):
    out = []
    for p in parts:
        work = root / p.name
        out += [f'read -r t _ </proc/uptime; echo "ARM64_PART {p.name} begin $t"', "("]
        out += p.lines(work, ctxs[p.name])
        out += [")", f'read -r t _ </proc/uptime; echo "ARM64_PART {p.name} end $t"']
    return "\n".join(out) + "\n"


def _boot(parts, root, timeout, gic, vfio, kernel):
    if root.exists():
        shutil.rmtree(root)
    ctxs = {}
    for p in parts:
        (root / p.name).mkdir(parents=True)
        ctxs[p.name] = p.prepare(root / p.name)
    (root / "l1.sh").write_text(_script(parts, root, ctxs))
    argv = [str(RUN), "--arch", "aarch64", "--gic", str(gic), "--cpus", "2", "--mem", "2G",
            "--timeout", str(timeout), "--rw", str(paths.BUILD_DIR),
            "--kernel", kernel, *(["--vfio-devices"] if vfio else []), "--", "sh",
            str(root / "l1.sh")]
    r = subprocess.run(argv, cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       errors="replace", timeout=timeout + 60)
    return r.returncode, r.stdout + r.stderr, ctxs


def run(parts, root, timeout=1380, gic=3, vfio=False, kernel="release"):
    """Boots L1 (with a GICv3, or a GICv2: tools/kvm-in-qemu/run.sh --gic; with VFIO: its SMMUv3
    and an NVMe controller for passthrough, run.sh --vfio-devices; on KERNEL, release or
    backports: run.sh --kernel) once for PARTS (in
    ROOT/<name> each) and checks them: (failures, console)."""
    rc, out, ctxs = _boot(parts, root, timeout, gic, vfio, kernel)
    if rc == 2 and "L1 did not finish" in out:  # L1's own failure: once more
        print(out[-3000:])
        rc, out, ctxs = _boot(parts, root, timeout, gic, vfio, kernel)
    spans = {}
    for name, edge, t in re.findall(r"^ARM64_PART (\S+) (begin|end) (\S+)\r?$", out, re.M):
        spans.setdefault(name, {})[edge] = float(t)
    for name, s in spans.items():
        if "begin" in s and "end" in s:
            print(f"note: arm64 L1 part {name}: {s['end'] - s['begin']:.1f} s")
    print("note: " + "; ".join(re.findall(r"^kvm-in-qemu: L1 ran .*$", out, re.M)))
    failures = []
    for p in parts:
        if "end" not in spans.get(p.name, {}):
            failures.append(f"{p.name}: L1 did not run it to its end (run.sh status {rc})\n"
                            + out[-4000:])
            continue
        failures += [f"{p.name}: {f}" for f in p.check(out, root / p.name, ctxs[p.name])]
    return failures, out
