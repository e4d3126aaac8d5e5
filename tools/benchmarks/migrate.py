"""migrate: live migration over a Unix socket on this host, idle, with a writer and (ours) local;
total time, downtime and the pause the guest saw."""

import itertools
import os
import re
import statistics
import subprocess
import sys
import time

from .config import QEMU_MACHINE
from .control import ApiClient, QmpEvents
from .guests import SHELL_ARGS, SHELL_PROMPT, linux_guest
from .runner import available, rounds
from .vm import LiveVM


# The guest's heartbeat: a '.' on the serial console as fast as a shell loop of builtins writes
# them (every few ms on kvm_pvm), started at the prompt. No sleep in the loop: busybox's usleep and
# sleep are not ash builtins, and their fork and exec take 0.2-0.7 s on kvm_pvm (guest kernel code
# is emulated), so a gap between two dots was a beat period, whatever the pause. The gap across
# the move less the usual interval between dots is the pause the guest saw.
MIG_BEAT = "while :; do echo -n .; done &"
# The heartbeat's usual interval is measured over this window before each migration starts.
MIG_BEAT_WINDOW_NS = 1_000_000_000
# The writer: 64 MiB of the initramfs's tmpfs rewritten over and over (page cache: guest RAM).
MIG_WRITER = "while :; do dd if=/dev/zero of=/tmp/mig-writer bs=1M count=64 2>/dev/null; done &"
# QEMU as a user tuning it would run it: no bandwidth cap (QEMU 7.2's default is 128 MiB/s).
MIG_QEMU_TUNED = {"max-bandwidth": 100 << 30}
MIG_LEGS = itertools.count()  # names each leg's sockets
# A migration that has not completed by then is cancelled and counted as failed (QEMU goes on
# for ever when the guest dirties memory faster than the link: it has no round limit).
MIG_LIMIT_S = 120


def mig_cmd(env, impl, g, sock, incoming=None):
    """The command line of a source (incoming None) or of a destination listening on
    `incoming` (a Unix socket path)."""
    append = g["CMDLINE"] + " " + SHELL_ARGS
    if impl == "vmm":
        if incoming:
            return [env.vmm, "--migrate-from", f"unix:{incoming}", "--api-sock", sock]
        return env.vmm_cmd(g["VMLINUX"], append, ["--api-sock", sock], g["INITRAMFS"])
    extra = ["-qmp", f"unix:{sock},server=on,wait=off",
             "-qmp", f"unix:{sock}.ev,server=on,wait=off"]  # for QmpEvents
    if incoming:
        extra += ["-incoming", f"unix:{incoming}"]
    return env.qemu_cmd(QEMU_MACHINE[impl], g["VMLINUX"], append, extra, g["INITRAMFS"])


def mig_send(impl, sock, url, local, src):
    """Starts the migration on the source and waits for its end; (total ms, downtime ms, MiB
    sent, rounds) as the source reports them."""
    c = ApiClient("vmm" if impl == "vmm" else "qemu", sock)
    try:
        if impl == "vmm":
            st, body = c._http("PUT", "/vmm/send-migration",
                               {"destination_url": url, "local": local})
            if b" 204 " not in st and b" 200 " not in st:
                raise OSError(f"send-migration: {st.decode().strip()} {body.decode()}")
        else:
            if impl == "qemu-tuned":
                r = c._qmp("migrate-set-parameters", MIG_QEMU_TUNED)
                if "error" in r:
                    raise OSError(f"migrate-set-parameters: {r['error']}")
            r = c._qmp("migrate", {"uri": url})
            if "error" in r:
                raise OSError(f"migrate: {r['error']}")
            deadline = time.monotonic() + MIG_LIMIT_S
            info = {}
            while time.monotonic() < deadline:
                info = c._qmp("query-migrate").get("return", {})
                if info.get("status") == "completed":
                    ram = info.get("ram", {})
                    return (info.get("total-time"), info.get("downtime"),
                            ram.get("transferred", 0) / 2**20, ram.get("dirty-sync-count"))
                if info.get("status") in ("failed", "cancelled"):
                    raise OSError(f"migrate: {info}")
                time.sleep(0.01)
            c._qmp("migrate_cancel")
            ram = info.get("ram", {})
            raise OSError(f"not completed within {MIG_LIMIT_S} s (cancelled): {info.get('status')}, "
                          f"{ram.get('dirty-sync-count')} dirty syncs, "
                          f"{ram.get('remaining', 0) >> 20} MiB left, "
                          f"{ram.get('dirty-pages-rate')} pages/s dirtied")
    finally:
        c.close()
    try:  # ours: the source exits with 0 once the destination runs the guest
        src.p.wait(timeout=MIG_LIMIT_S)
    except subprocess.TimeoutExpired:
        raise OSError(f"the source did not exit within {MIG_LIMIT_S} s of the migration's start")
    src.stop()
    m = re.search(rb"migration completed: (\d+) rounds, (\d+) pages, (\d+) bytes, "
                  rb"downtime (\d+) ms, (\d+) ms in all", src.err)
    if src.status != 0 or not m:
        raise OSError(f"source ended with {src.status}, no completion line")
    return int(m.group(5)), int(m.group(4)), int(m.group(3)) / 2**20, int(m.group(1))


def mig_leg(env, res, impl, g, src, src_sock, tag, local=False):
    """Migrates `src` to a new destination; adds the rows of leg `tag`; returns (destination,
    its socket), or None after res.fail()."""
    n = next(MIG_LEGS)
    mig = os.path.join(env.tmp, f"mig{n}.sock")
    sock = os.path.join(env.tmp, f"api{n}.sock")
    print(f"bench: migrate: {impl}: {tag} ...", file=sys.stderr, flush=True)
    dst = LiveVM(mig_cmd(env, impl, g, sock, incoming=mig), stdin=True, beat=b".")
    for _ in range(500):
        if os.path.exists(mig) or not dst.alive():
            break
        time.sleep(0.01)
    try:
        if not os.path.exists(mig):
            raise OSError("the destination does not listen")
        if impl != "vmm":
            dst.events = QmpEvents(sock + ".ev")
        t0 = time.monotonic_ns()
        beat = mig_heartbeat_ms(src, t0 - MIG_BEAT_WINDOW_NS, t0)
        total, down, mib, nrounds = mig_send(impl, src_sock, f"unix:{mig}", local, src)
        deadline = time.monotonic() + 60
        while not [b for b in dst.beats if b > t0] and time.monotonic() < deadline:
            time.sleep(0.01)
        after = [b for b in dst.beats if b > t0]
        before = [b for b in src.beats if b <= (after[0] if after else t0)]
        if not after or not before:
            raise OSError("no heartbeat on the destination within 60 s")
        if beat is None:
            raise OSError("no heartbeat on the source in the second before the migration")
        pause = mig_pause_ms(impl, src, dst, t0)
    except (OSError, ValueError) as e:
        res.fail("migrate", impl, f"{tag}: {e}", dst.stop())
        src.stop()
        return None
    if impl != "vmm":
        src.stop()  # QEMU's source stays, stopped ("postmigrate")
    gap = (after[0] - before[-1]) / 1e6
    res.add("migrate", f"{tag}: total time (source's report)", "ms", "lower", impl, total)
    res.add("migrate", f"{tag}: downtime (source's report)", "ms", "lower", impl, down)
    res.add("migrate", f"{tag}: downtime, source's pause to destination's resume", "ms", "lower",
            impl, pause)
    res.add("migrate", f"{tag}: pause the guest saw (heartbeat gap less one beat)", "ms", "lower",
            impl, max(0.0, gap - beat))
    res.add("migrate", f"{tag}: heartbeat gap across the move", "ms", "lower", impl, gap)
    res.add("migrate", f"{tag}: heartbeat interval before it (median)", "ms", "lower", impl, beat)
    res.add("migrate", f"{tag}: sent", "MiB", "lower", impl, mib)
    if nrounds is not None:
        res.add("migrate", f"{tag}: rounds (QEMU: dirty syncs)", "", "lower", impl, nrounds)
    return dst, sock


def mig_pause_ms(impl, src, dst, t0, timeout=5.0):
    """The VMM's pause, on this host's CLOCK_MONOTONIC: from the source's pause to the
    destination's resume. Ours: the source's "paused at" in its completion line and the
    destination's "runs here from" (vCPU 0, just before KVM_RUN); QEMU: the source's STOP
    event and the destination's RESUME (sent just before its vCPUs go on)."""
    deadline = time.monotonic() + timeout
    while True:
        if impl == "vmm":
            m1 = re.search(rb"paused at (\d+) us", src.err)
            m2 = re.search(rb"the guest runs here from (\d+) us", dst.err_so_far())
            if m1 and m2:
                return (int(m2.group(1)) - int(m1.group(1))) / 1000
        else:
            stops = [t for t in src.events.seen.get("STOP", []) if t > t0]
            resumes = [t for t in dst.events.seen.get("RESUME", []) if t > t0]
            if stops and resumes:
                return (resumes[0] - stops[-1]) / 1e6
        if time.monotonic() > deadline:
            raise OSError("no pause and resume times from the source and the destination")
        time.sleep(0.01)


def mig_heartbeat_ms(vm, since, until):
    """Median interval between heartbeats read in [since, until) (CLOCK_MONOTONIC ns), in ms, or
    None with fewer than 3. Only a window after the loop started: every line of the boot log
    has a '.' too (the printk timestamps)."""
    b = [t for t in vm.beats if since <= t < until]
    return statistics.median(y - x for x, y in zip(b, b[1:])) / 1e6 if len(b) > 2 else None


def bench_migrate(env, res, a):
    impls = available(env, res, "migrate", [])
    g = linux_guest(res) if impls else None
    if not g:
        return
    beats = []
    for i, impl in rounds(impls, a.runs):
        sock = os.path.join(env.tmp, f"src{i}{impl}.sock")
        cmd = mig_cmd(env, impl, g, sock)
        if impl == "vmm":
            cmd.append("--mem-shared")  # RAM in a memfd, as every destination has it
        vm = LiveVM(cmd, {"shell": SHELL_PROMPT}, stdin=True, beat=b".")
        alive = [vm]
        try:
            if vm.wait_seen("shell", a.boot_timeout) is None:
                res.fail("migrate", impl, f"no shell prompt within {a.boot_timeout} s", vm.stop())
                continue
            if impl != "vmm":
                vm.events = QmpEvents(sock + ".ev")
            vm.type(MIG_BEAT)
            time.sleep(2)
            now = time.monotonic_ns()
            beats.append(mig_heartbeat_ms(vm, now - MIG_BEAT_WINDOW_NS, now))
            leg = mig_leg(env, res, impl, g, vm, sock, "idle")
            if not leg:
                continue
            vm, sock = leg
            alive.append(vm)
            vm.type(MIG_WRITER)
            time.sleep(1 if a.quick else 5)
            leg = mig_leg(env, res, impl, g, vm, sock, "writer")
            if not leg:
                continue
            vm, sock = leg
            alive.append(vm)
            if impl == "vmm":
                # the heartbeat's pace is measured over the second before a move: not one that
                # still holds the last move's pause
                time.sleep(2)
                leg = mig_leg(env, res, impl, g, vm, sock, "local, writer", local=True)
                if not leg:
                    continue
                vm, sock = leg
                alive.append(vm)
            vm.watch_for("answer", b"MIG-ANSWER-42")
            vm.type("echo MIG-ANSWER-$((6*7))")
            if vm.wait_seen("answer", 60) is None:
                res.fail("migrate", impl, "the migrated guest's shell does not answer", vm.stop())
        finally:
            for v in alive:
                if v.status is None:
                    v.stop()
    period = statistics.median([b for b in beats if b]) if any(beats) else float("nan")
    res.note("migrate: the default Linux guest (256 MiB, 1 vCPU) at its shell prompt, with a "
             f"heartbeat (`{MIG_BEAT}`: a dot every {period:.1f} ms, median of the second "
             "before the first move, shell builtins only) on the serial "
             "console; migrated over a Unix socket on this host to a new process: 'idle', then "
             f"from there with a writer (`{MIG_WRITER}`) for 'writer', then (ours only) "
             "'local, writer' (guest RAM handed over as a memfd, no page copied). Destinations: "
             "ours `vmm --migrate-from unix:PATH`, QEMU the same command line with "
             "`-incoming unix:PATH`. Ours PUT /vmm/send-migration (max_downtime_ms 300 by "
             "default), total and downtime from the source's completion line; QEMU QMP migrate, "
             "query-migrate every 10 ms until completed, its total-time and downtime "
             "(downtime-limit 300 ms by default). qemu-microvm as QEMU's defaults have it "
             "(max-bandwidth 128 MiB/s), qemu-tuned without the bandwidth cap "
             f"(migrate-set-parameters max-bandwidth={MIG_QEMU_TUNED['max-bandwidth']}). "
             "'downtime, source's pause to destination's resume': on this host's monotonic clock, "
             "the same events for both: ours the source's 'paused at' (completion line) to the "
             "destination's 'the guest runs here from' (vCPU 0, just before KVM_RUN); QEMU the "
             "source's STOP event to the destination's RESUME (QMP timestamps, a second QMP "
             "socket listening). "
             "'heartbeat gap across the move': the last heartbeat read from the source to the "
             "first read from the destination; 'pause the guest saw': that gap less the median "
             "interval between heartbeats in the second before the migration started (the "
             "guest's own pace; the gap spans the rest of one beat before the pause and the "
             "start of the next after it), the same measure for both. It counts the guest's "
             "slower pace in the last round (dirty logging) and on a new VM's first accesses "
             "as well as the pause itself. The migrated guest must answer a shell command at "
             "the end.")
