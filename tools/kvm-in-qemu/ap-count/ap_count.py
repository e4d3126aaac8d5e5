#!/usr/bin/env python3
"""Counts AP (second vCPU) failures of Debian's stock kernel booted in L1 (tools/kvm-in-qemu),
our VMM against QEMU as the L2 VMM, in the same L1, alternating (ours, qemu, qemu, ours, ...),
2 vCPUs each (issue 66, "Find out whose the AP failures are").

How to run (as root, on the host, from anywhere; L1 is booted with tools/kvm-in-qemu/run.sh):

  sudo python3 tools/kvm-in-qemu/ap-count/ap_count.py run OUT [--until HH:MM] \
       [--plan pci=12,ovmf=10,grub=5] [--timeout-pci 120] [--timeout-ovmf 180]
       [--timeout-grub 300] [--vmm PATH]

  python3 tools/kvm-in-qemu/ap-count/ap_count.py summary OUT     # the table again

`run` boots ONE L1 (run.sh --cpu EPYC,+svm,+npt,+erms, as the tests' shared L1) whose command is
this script's `inner` mode; when L1 itself dies (a panic, QEMU's abort, run.sh's stall watch) it
boots another and the boots go on (L1 deaths are counted in OUT/l1-boots.txt). The inner loop
boots, per configuration of --plan in its order, pairs until each VMM has N boots, then the
configuration with the fewest boots, until --until (UTC, default: 50 min from now) less one
boot's timeout; `touch OUT/stop` ends it after the boot under way (L1 then powers off). A run
given an OUT that holds boots goes on from them (the plan counts them). Configurations:
  pci   direct kernel boot over PCI: ours `--kernel --initrd --transport pci`; QEMU `-M q35
        -kernel -initrd` (SeaBIOS's linuxboot), the same command line
  ovmf  OVMF direct: ours `--firmware /usr/share/ovmf/OVMF.fd --no-reboot --kernel ...`;
        QEMU `-M pc -bios OVMF.fd -kernel ...` (as firmware_stock_checks.py's peer)
  grub  OVMF through GRUB: the Debian cloud-style GPT image of test_firmware_debian.py
        (guest-images/debian-image.sh; a qcow2 overlay each boot, 512 MiB, --net user), ours
        `--firmware OVMF.fd --no-reboot --disk ...`, QEMU `-M pc -bios OVMF.fd` (its peer's
        machine); systemd to the image's check (VMM-DEBIAN-CPUS, VMM-DEBIAN-DONE) and the login
        prompt, then the VMM is stopped (SIGTERM): no power-off here
pci and ovmf boot the tests' guest (guest-images/stock.sh: Debian 12's cloud kernel, the busybox
initramfs whose /init prints VMM-STOCK-* lines and ends with `reboot -f`), 256 MiB, an 8 MiB
virtio-blk disk, STOCK_CMDLINE_NORMAL + noxsave vmmstock.disk=1 (as test_linux_stock.py in L1).

Each boot's files: OUT/boots/NNN-CONFIG-VMM/{console,stderr,result.json[,dmesg-l1]}; one line
per boot in OUT/results.jsonl. Outcomes (the first that applies):
  triple      ours: stderr "triple fault (KVM_EXIT_SHUTDOWN)"; QEMU: it ended (-no-reboot) on
              a reset the guest did not ask for (no "reboot: Restarting system" on the console)
  panic       "Kernel panic" on the console (panic=-1 resets at once)
  softlockup  "soft lockup", an RCU stall, or smp_call_function on the console
  one-cpu     /init saw fewer than 2 CPUs, or the kernel said CPU1 failed to come up
  l1-loop     (checked after triple) the console was still for 20 s and L1's KVM held a vCPU
              in a loop (tests/integration/framework/kvm_trace.py; its look, every still
              spell, in kvm-trace): the boot is stopped then
  timeout     no end within the boot's timeout (the VMM killed)
  ok          /init printed "VMM-STOCK-CPUS: 2 online=0-1" and "VMM-STOCK-END", status 0
              (grub: "VMM-DEBIAN-CPUS: 2 online=0-1", VMM-DEBIAN-DONE and a login prompt)
  other       anything else (see result.json's status and the console's tail)
"""
import calendar
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OVMF = "/usr/share/ovmf/OVMF.fd"
L1_CPU = "EPYC,+svm,+npt,+erms"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


def log(out, text):
    line = f"[{time.strftime('%H:%M:%S', time.gmtime())}] {text}"
    print(line, flush=True)
    with open(Path(out) / "progress.log", "a") as f:
        f.write(line + "\n")


def stock_env(script="stock.sh"):
    """guest-images/SCRIPT --print-env as a dict (tests/integration/framework/guest_env.py)."""
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from framework import guest_env
    env, run = guest_env.print_env(script)
    if run.returncode != 0:
        raise RuntimeError(f"guest-images/{script} --print-env failed: {run.stderr[-300:]}")
    return env


# ---------------------------------------------------------------- classification

# A grub boot is done once the image's check has printed its last line and the getty's prompt
# is up. The prompt's hostname and " login:" may be cut apart by the check's lines (boot 18 of
# 2026-12-01: "debianVMM-DEBIAN-KERNEL: ...\n login: "), so a line may begin with " login:".
LOGIN_DONE = re.compile(r"(?s)\A(?=.*VMM-DEBIAN-DONE)(?=.*(?:[a-z0-9-]+|\n) login:)")


def classify(vmm, console, err, status, timed_out, reached=None):
    """(outcome, flags, note) of one boot; REACHED (grub): the boot got to its login prompt (and
    was stopped then, its status not the guest's)."""
    flags = []
    if reached is not None:
        console = re.sub(r"[^\x20-\x7e\n\t]", "", console)
        # the kernel's lines cut into the check unit's (boot 55: "VMM-DEBIAN-CPUS:[   28.04] SVM:
        # PMU virtualization is disabled\n 2 online=0-1")
        unit = re.sub(r"\[ *[0-9]+\.[0-9]+\] [^\n]*\n", "", console)
        cpus = re.search(r"VMM-DEBIAN-CPUS: ([^\r\n]*)", unit)
        ended = reached
        status = 0 if reached else status
    else:
        cpus = re.search(r"^VMM-STOCK-CPUS: (.*)$", console, re.M)
        ended = re.search(r"^VMM-STOCK-END:", console, re.M)
    guest_reset = "reboot: Restarting system" in console or "reboot: Power down" in console
    if "triple fault (KVM_EXIT_SHUTDOWN)" in err:
        flags.append("triple")
    if vmm == "qemu" and not timed_out and not reached and status == 0 and not guest_reset \
            and "Kernel panic" not in console:
        flags.append("triple")  # -no-reboot: a reset nobody asked for
    if "Kernel panic" in console:
        flags.append("panic")
    if re.search(r"soft lockup|rcu_sched self-detected stall|rcu: INFO: rcu_\w+ detected stall|"
                 r"smp_call_function|rcu_preempt detected stall", console):
        flags.append("softlockup")
    if (cpus and not cpus.group(1).startswith("2 online=0-1")) or \
            re.search(r"CPU1 failed to report alive|do_boot_cpu failed|CPU1: Stuck|"
                      r"smp: Brought up 1 node, 1 CPU", console):
        flags.append("one-cpu")
    if timed_out:
        flags.append("timeout")
    ok = bool(cpus and cpus.group(1).startswith("2 online=0-1") and ended and status == 0)
    for outcome in ("triple", "panic", "softlockup", "one-cpu", "timeout"):
        if outcome in flags:
            break
    else:
        outcome = "ok" if ok else "other"
    note = ""
    m = re.search(r".*vCPU \d+: triple fault.*", err)
    if m:
        note = m.group(0).strip()
    elif "triple fault" in err:
        note = next(x for x in err.splitlines() if "triple fault" in x).strip()
    return outcome, flags, note


def stamp(console, what):
    for line in console.splitlines():
        if what in line:
            m = re.match(r"^\[ *([0-9.]+)\] ", line)
            return float(m.group(1)) if m else None
    return None


# ---------------------------------------------------------------- one boot (in L1)

def boot(out, n, config, vmm, env, cmdline, timeout, vmm_bin):
    name = f"{n:03d}-{config}-{vmm}"
    bdir = Path(out) / "boots" / name
    if bdir.exists():  # a boot that L1's end cut short: not counted, its files kept
        bdir.rename(bdir.with_name(f"{name}.cut.{int(time.time())}"))
    bdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="apc."))
    img = work / "disk.img"
    img.write_text(f"AP-COUNT-MARKER {name}\n")
    os.truncate(img, 8 << 20)
    con_path, err_path = work / "console", work / "stderr"
    done_re = None
    if config == "grub":
        image = env["DEBIAN_IMAGE"]
        overlay = work / "overlay.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "raw",
                        str(overlay)], check=True)
        done_re = LOGIN_DONE
        if vmm == "ours":
            argv = [vmm_bin, "--firmware", OVMF, "--no-reboot", "--firmware-log",
                    str(work / "fw.log"), "--cpus", "2", "--mem", "512M", "--transport", "pci",
                    "--disk", f"{overlay},backing_files=on,backing_dirs={Path(image).parent}",
                    "--net", "user"]
        else:
            argv = [QEMU, "-enable-kvm", "-cpu", "host,-arch-capabilities", "-nodefaults",
                    "-no-user-config", "-nographic", "-M", "pc", "-smp", "2", "-m", "512M",
                    "-no-reboot", "-serial", "stdio", "-bios", OVMF,
                    "-drive", f"id=d0,if=none,format=qcow2,file={overlay}",
                    "-device", "virtio-blk-pci,drive=d0",
                    "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]
    elif vmm == "ours":
        argv = [vmm_bin]
        if config == "ovmf":
            argv += ["--firmware", OVMF, "--no-reboot", "--firmware-log", str(work / "fw.log")]
        argv += ["--kernel", env["STOCK_KERNEL"], "--initrd", env["STOCK_INITRAMFS"],
                 "--cpus", "2", "--mem", "256M", "--transport", "pci", "--disk", str(img),
                 "--append", cmdline]
    else:
        argv = [QEMU, "-enable-kvm", "-cpu", "host,-arch-capabilities", "-nodefaults",
                "-no-user-config", "-nographic", "-smp", "2", "-m", "256M", "-no-reboot",
                "-serial", "stdio"]
        argv += ["-M", "q35"] if config == "pci" else ["-M", "pc", "-bios", OVMF]
        argv += ["-kernel", env["STOCK_KERNEL"], "-initrd", env["STOCK_INITRAMFS"],
                 "-append", cmdline, "-drive", f"id=d0,if=none,format=raw,file={img}",
                 "-device", "virtio-blk-pci,drive=d0"]
    (bdir / "argv").write_text(shlex.join(argv) + "\n")
    start = time.monotonic()
    began = time.time()
    with open(con_path, "wb") as so, open(err_path, "wb") as se:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=so, stderr=se,
                                cwd=work, start_new_session=True)
    timed_out = False
    copied = 0.0
    lockup_seen = None
    reached = False if done_re else None
    size, still_since, looked, kvm_loop = -1, time.monotonic(), False, None
    while proc.poll() is None:
        # a console still for 20 s: what L1's KVM does with the vCPUs, 2 s of its tracepoints
        # (tests/integration/framework/kvm_trace.py); a vCPU caught in a loop inside L1's KVM
        # ends the boot, as in the tests
        cur = con_path.stat().st_size
        if cur != size:
            size, still_since, looked = cur, time.monotonic(), False
        elif not looked and time.monotonic() - still_since >= 20:
            looked = True
            line = kvm_look(proc.pid)
            with open(bdir / "kvm-trace", "a") as f:
                f.write(f"console still {time.monotonic() - still_since:.0f} s at {size} bytes: "
                        f"{line or '(no trace)'}\n")
            if line.startswith("exit loop in L1's KVM"):
                kvm_loop = line
                break
        if done_re and done_re.search(con_path.read_text(errors="replace")):
            reached = True
            time.sleep(2)
            break
        now = time.monotonic()
        if now - start > timeout:
            timed_out = True
            break
        if now - copied > 5:  # the share sees the boot as it goes
            copied = now
            for src, dst in ((con_path, "console"), (err_path, "stderr")):
                shutil.copyfile(src, bdir / dst)
            text = con_path.read_text(errors="replace")
            if lockup_seen is None and re.search(r"soft lockup|detected stall", text):
                lockup_seen = now
            if lockup_seen is not None and now - lockup_seen > 30:
                timed_out = True  # the trace is in; do not wait the whole timeout
                break
        time.sleep(0.5)
    if proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(5)
                break
            except subprocess.TimeoutExpired:
                pass
    secs = round(time.monotonic() - start, 1)
    status = proc.wait()
    console = con_path.read_text(errors="replace")
    err = err_path.read_text(errors="replace")
    outcome, flags, note = classify(vmm, console, err, None if timed_out else status, timed_out,
                                    reached)
    if kvm_loop:
        outcome, flags, note = "l1-loop", flags + ["l1-loop"], kvm_loop
    result = {"n": n, "name": name, "config": config, "vmm": vmm, "outcome": outcome,
              "flags": flags, "status": status, "timed_out": timed_out, "secs": secs,
              "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
              "init_at": stamp(console, "Run /init as init process"),
              "smp_up_at": stamp(console, "smp: Brought up"), "note": note, "reached": reached,
              "l1_boot": os.environ.get("APC_L1_BOOT", "?")}
    for src, dst in ((con_path, "console"), (err_path, "stderr"), (work / "fw.log", "fw.log")):
        if src.exists():
            shutil.copyfile(src, bdir / dst)
    if outcome != "ok":
        dmesg = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
        (bdir / "dmesg-l1").write_text("\n".join(dmesg.splitlines()[-80:]) + "\n")
    (bdir / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    with open(Path(out) / "results.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return result


def kvm_look(pid):
    """kvm_trace.exit_loop(PID) (tests/integration/framework), "" when it cannot run; only in
    L1 (the inner mode run by run.sh), never on a host's own tracing."""
    if "APC_L1_BOOT" not in os.environ or Path("/sys/module/kvm_pvm").exists():
        return ""
    try:
        sys.path.insert(0, str(REPO / "tests" / "integration"))
        from framework import kvm_trace
        os.environ.setdefault("L1_BOOT", os.environ.get("APC_L1_BOOT", "1"))
        return kvm_trace.exit_loop(pid)
    except Exception as e:  # noqa: BLE001 - a look that failed is only a note
        return f"(kvm_trace failed: {e})"


def load(out):
    path = Path(out) / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def inner(out, until, plan, timeouts, vmm_bin):
    """In L1: the boots until UNTIL (epoch), resuming after the boots in OUT/results.jsonl."""
    env = json.loads((Path(out) / "stock-env.json").read_text())
    if (Path(out) / "debian-env.json").exists():
        env.update(json.loads((Path(out) / "debian-env.json").read_text()))
    cmdline = env["STOCK_CMDLINE_NORMAL"] + " noxsave vmmstock.disk=1"
    log(out, f"L1 boot {os.environ.get('APC_L1_BOOT')}: {os.uname().release}, "
        f"kvm_amd nested={Path('/sys/module/kvm_amd/parameters/nested').read_text().strip() if Path('/sys/module/kvm_amd/parameters/nested').exists() else '?'}")
    order = ["ours", "qemu", "qemu", "ours"]
    # the plan's stages, then round the configurations for ever
    stages = [(c, k) for c, k in plan]
    configs = [c for c, _ in plan]
    while True:
        done = load(out)
        n = len(done) + 1
        counts = {}
        for r in done:
            counts[(r["config"], r["vmm"])] = counts.get((r["config"], r["vmm"]), 0) + 1
        config = None
        for c, k in stages:
            if counts.get((c, "ours"), 0) < k or counts.get((c, "qemu"), 0) < k:
                config = c
                break
        if config is None:  # the plan is done: the configuration with the fewest boots
            config = min(configs, key=lambda c: counts.get((c, "ours"), 0) + counts.get((c, "qemu"), 0))
        total = counts.get((config, "ours"), 0) + counts.get((config, "qemu"), 0)
        vmm = order[total % 4]
        timeout = timeouts[config]
        if (Path(out) / "stop").exists():  # `touch OUT/stop`: no more boots, L1 powers off
            log(out, "OUT/stop: no more boots")
            return 0
        if time.time() + timeout > until:
            log(out, "deadline: no time for another boot")
            return 0
        log(out, f"boot {n}: {config} on {vmm}")
        r = boot(out, n, config, vmm, env, cmdline, timeout, vmm_bin)
        log(out, f"boot {n}: {r['outcome']} {r['flags']} status {r['status']} {r['secs']} s "
            f"{r['note']}")


# ---------------------------------------------------------------- the host's side

def reclassify(out, r):
    """R's outcome from its boot's files again (the classification as it is now)."""
    bdir = Path(out) / "boots" / r["name"]
    if not (bdir / "console").exists() or r["outcome"] == "l1-loop":
        return r
    console = (bdir / "console").read_text(errors="replace")
    err = (bdir / "stderr").read_text(errors="replace") if (bdir / "stderr").exists() else ""
    reached = bool(LOGIN_DONE.search(console)) if r["config"] == "grub" else None
    timed_out = r["timed_out"] and not reached  # a login the inner loop missed (see LOGIN_DONE)
    outcome, flags, note = classify(r["vmm"], console, err,
                                    None if timed_out else r["status"], timed_out, reached)
    if outcome != r["outcome"]:
        # its seconds are the timeout's, not the boot's: left out of the times
        r = dict(r, outcome=outcome, flags=flags, secs=None if r["timed_out"] else r["secs"],
                 note=(r["note"] + f" (reclassified; logged as {r['outcome']})").strip())
    return r


ANALYZE = re.compile(r"VMM-DEBIAN-ANALYZE: Startup finished in ([0-9.]+)s \(kernel\) \+ "
                     r"([0-9.]+)s \(userspace\) = ([0-9.]+)s")


def spread(values):
    """min/median/max of VALUES (seconds), "-" for none."""
    v = sorted(values)
    return f"{v[0]:.1f}/{v[len(v) // 2]:.1f}/{v[-1]:.1f}" if v else "-"


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if v else None


def timing_table(out, rows):
    """The ok boots' times per configuration and VMM: L1's wall clock from the VMM's start to its
    end (pci, ovmf: /init's reboot; grub: stopped at the login prompt), the kernel's own stamp of
    both CPUs up ("smp: Brought up"), and for grub what systemd-analyze said in the guest (kernel,
    userspace, total); each min/median/max and the median's ratio ours/QEMU. L1 runs under TCG:
    only the ratio means anything."""
    lines = ["times of the ok boots, s (min/median/max); ratio = median ours/QEMU:"]
    for config in ("pci", "ovmf", "grub"):
        cols = {}
        for vmm in ("ours", "qemu"):
            ok = [r for r in rows if r["config"] == config and r["vmm"] == vmm
                  and r["outcome"] == "ok"]
            smp = [r["smp_up_at"] for r in ok if r.get("smp_up_at") is not None]
            ok_timed = [r for r in ok if r["secs"] is not None]
            consoles = [Path(out) / "boots" / r["name"] / "console" for r in ok]
            found = [ANALYZE.search(c.read_text(errors="replace")) for c in consoles
                     if config == "grub"]
            found = [m for m in found if m]
            cols[vmm] = {"n": len(ok), "smp": smp, "wall": [r["secs"] for r in ok_timed],
                         **{k: [float(m.group(i + 1)) for m in found]
                            for i, k in enumerate(("kernel", "userspace", "total"))}}
        for what in ("wall", "smp", "kernel", "userspace", "total"):
            if not cols["ours"][what] and not cols["qemu"][what]:
                continue
            a, b = median(cols["ours"][what]), median(cols["qemu"][what])
            ratio = f"{a / b:.2f}" if a and b else "-"
            label = {"wall": "L1 wall, start to end", "smp": "CPUs up (kernel's stamp)"}.get(
                what, f"systemd-analyze {what}")
            lines.append(f"  {config:<5} {label:<27} ours {spread(cols['ours'][what]):<16} "
                         f"(n={len(cols['ours'][what])})  qemu {spread(cols['qemu'][what]):<16} "
                         f"(n={len(cols['qemu'][what])})  ratio {ratio}")
    return lines


def summary(out):
    rows = [reclassify(out, r) for r in load(out)]
    outcomes = ["ok", "triple", "l1-loop", "panic", "softlockup", "one-cpu", "timeout", "other"]
    lines = []
    if rows:
        lines.append(f"boots: {len(rows)}, {rows[0]['started_utc']} .. {rows[-1]['started_utc']}")
    lines.append(f"{'config':<6} {'vmm':<5} {'n':>3} " + " ".join(f"{o:>10}" for o in outcomes)
                 + "   secs(ok) min/median/max")
    for config in ("pci", "ovmf", "grub"):
        for vmm in ("ours", "qemu"):
            sel = [r for r in rows if r["config"] == config and r["vmm"] == vmm]
            if not sel:
                continue
            c = {o: sum(1 for r in sel if r["outcome"] == o) for o in outcomes}
            secs = sorted(r["secs"] for r in sel if r["outcome"] == "ok" and r["secs"] is not None)
            spread = (f"{secs[0]}/{secs[len(secs) // 2]}/{secs[-1]}" if secs else "-")
            lines.append(f"{config:<6} {vmm:<5} {len(sel):>3} "
                         + " ".join(f"{c[o]:>10}" for o in outcomes) + f"   {spread}")
    lines += timing_table(out, rows)
    bad = [r for r in rows if r["outcome"] != "ok"]
    if bad:
        lines.append("not ok:")
        for r in bad:
            lines.append(f"  {r['name']}: {r['outcome']} {r['flags']} status {r['status']} "
                         f"{r['secs']} s (L1 boot {r['l1_boot']}) {r['note']}")
    l1 = Path(out) / "l1-boots.txt"
    if l1.exists():
        lines.append("L1 boots:\n" + l1.read_text().rstrip())
    text = "\n".join(lines)
    (Path(out) / "summary.txt").write_text(text + "\n")
    return text


def parse_plan(text):
    plan = []
    for part in text.split(","):
        c, _, k = part.partition("=")
        plan.append((c, int(k or 10)))
    return plan


def shares(out):
    """run.sh's --rw options: the repository's parent (its default), and OUT when it lies
    elsewhere (L1 would write it into its tmpfs overlay, where the boots' files are lost)."""
    rw = [REPO.parent]
    if not Path(out).resolve().is_relative_to(REPO.parent):
        rw.append(Path(out).resolve())
    return [x for d in rw for x in ("--rw", str(d))]


def host_run(out, until, plan_text, t_pci, t_ovmf, t_grub, vmm_bin):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stock-env.json").write_text(json.dumps(stock_env(), indent=1) + "\n")
    if "grub" in plan_text:
        (out / "debian-env.json").write_text(json.dumps(stock_env("debian-image.sh"), indent=1)
                                             + "\n")
    l1_n = len(list(out.glob("l1-console.*")))
    while time.time() + 120 + max(t_pci, t_ovmf) / 2 < until:
        l1_n += 1
        argv = [str(REPO / "tools" / "kvm-in-qemu" / "run.sh"), "--cpu", L1_CPU, *shares(out),
                "--timeout", str(int(until - time.time()) + 120), "--stall", "100",
                "--log", str(out / f"l1-console.{l1_n}"),
                "--", "python3", str(Path(__file__).resolve()), "inner", str(out),
                "--until", str(until), "--plan", plan_text,
                "--timeout-pci", str(t_pci), "--timeout-ovmf", str(t_ovmf),
                "--timeout-grub", str(t_grub), "--vmm", vmm_bin]
        log(out, f"L1 boot {l1_n}: {shlex.join(argv)}")
        start = time.monotonic()
        with open(out / f"l1-run.{l1_n}.out", "wb") as f:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, APC_L1_BOOT=str(l1_n)), cwd=str(out))
            (out / "l1-run.pid").write_text(f"{proc.pid}\n")
            status = proc.wait()
        console = (out / f"l1-console.{l1_n}").read_text(errors="replace") \
            if (out / f"l1-console.{l1_n}").exists() else ""
        crash = re.search(r"Kernel panic - not syncing: [^\r\n]*|tcg_handle_interrupt: assertion "
                          r"failed[^\r\n]*|kvm-in-qemu: L1 stalled[^\r\n]*|BUG: [^\r\n]*", console)
        line = (f"L1 boot {l1_n}: ended with {status} after {time.monotonic() - start:.0f} s"
                + (f": {crash.group(0)}" if crash else ""))
        with open(out / "l1-boots.txt", "a") as f:
            f.write(line + "\n")
        log(out, line)
        if status == 0:
            break
    print(summary(out))


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in ("run", "inner", "summary") or not rest:
        raise SystemExit(f"ap_count: {cmd} needs an OUT folder\n{__doc__}" if cmd in ("run", "inner", "summary")
                         else f"ap_count: unknown command {cmd}\n{__doc__}")
    if cmd == "summary":
        print(summary(rest[0]))
        return 0
    out = rest[0]
    opts = {"--until": None, "--plan": "pci=12,ovmf=10", "--timeout-pci": "120",
            "--timeout-ovmf": "180", "--timeout-grub": "300", "--vmm": str(REPO / "build" / "vmm")}
    i = 1
    while i < len(rest):
        if rest[i] not in opts or i + 1 >= len(rest):
            raise SystemExit(f"ap_count: unknown option or missing value: {rest[i]}")
        opts[rest[i]] = rest[i + 1]
        i += 2
    t_pci, t_ovmf = int(opts["--timeout-pci"]), int(opts["--timeout-ovmf"])
    t_grub = int(opts["--timeout-grub"])
    if cmd == "inner":
        return inner(out, float(opts["--until"]), parse_plan(opts["--plan"]),
                     {"pci": t_pci, "ovmf": t_ovmf, "grub": t_grub}, opts["--vmm"])
    if cmd == "run":
        if opts["--until"] is None:
            until = time.time() + 50 * 60
        elif ":" in opts["--until"]:
            h, m = map(int, opts["--until"].split(":"))
            now = time.gmtime()
            until = calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, h, m, 0, 0, 0, 0))
        else:
            until = float(opts["--until"])
        return host_run(out, until, opts["--plan"], t_pci, t_ovmf, t_grub, opts["--vmm"])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
