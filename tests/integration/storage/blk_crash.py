#!/usr/bin/env python3
"""Host side of test_blk_crash_consistency.py: kills the VMM (started through the harness's
`vms`) with SIGKILL while the blk_crash test guest (tests/guests/blk_crash.c) writes and flushes,
restarts it on the same image, and after every kill checks the image:

  * qcow2: `qemu-img check` finds no corruption (leaked clusters are allowed: exit status 3);
  * the data, read back with `qemu-img convert` (qcow2) or from the file (raw): every 4 KiB block
    that a round whose "flushed R" line came out wrote holds, sector by sector, that round's
    bytes or a later round's; every other sector is zeros or the bytes of a round that wrote
    it; nothing else anywhere on the disk.

The guest's layout (which blocks round R writes, the bytes of a sector) is recomputed here:
keep mix64(), fresh_block(), round_blocks() and sector_bytes() in step with blk_crash.c.

Kill points come from random.Random(seed + kind): the same requests on every run (what the VMM
had done by then varies). Runner.failed says whether a check failed (each one printed with
"FAIL:"); one summary line per disk kind.
"""
import fcntl
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import time

MASK = (1 << 64) - 1
WRITES = 12  # BLK_CRASH_WRITES
FRESH = 8  # FRESH_PER_ROUND
GROUP = 16  # GROUP_BLOCKS
BLOCK = 4096
SECTOR = 512
CHUNK = GROUP * BLOCK
ZERO_CHUNK = bytes(CHUNK)
ZERO_BLOCK = bytes(BLOCK)
ZERO_SECTOR = bytes(SECTOR)
ROUNDS_PER_RUN = 400  # far more than a run reaches before its kill (~10 ms a round)
DISK_BYTES = 64 << 20
FLUSHED_RE = re.compile(rb"^flushed (\d+) n=(\d+) sum=([0-9a-f]{8})\r?$")
LINE_RE = re.compile(rb"s(\d{10}) r(\d{8}) c([0-9a-f]{8})\n")


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def fresh_block(n, blocks):
    groups = blocks // GROUP
    return (((n // GROUP) * 2654435761) & MASK) % groups * GROUP + n % GROUP


def round_blocks(r, blocks):
    out = []
    for j in range(WRITES):
        if j < FRESH:
            out.append(fresh_block(r * FRESH + j, blocks))
        else:
            out.append(fresh_block(mix64((r * 64 + j) & MASK) % (r * FRESH), blocks))
    return out


def round_sum(r, blocks):
    acc = 0
    for b in round_blocks(r, blocks):
        acc = mix64(acc ^ b)
    return acc & 0xFFFFFFFF


def sector_bytes(s, r):
    check = mix64(((s << 32) ^ r) & MASK) & 0xFFFFFFFF
    return (b"s%010d r%08d c%08x\n" % (s, r, check)) * (SECTOR // 32)


def block_bytes(b, r):
    return b"".join(sector_bytes(b * 8 + i, r) for i in range(BLOCK // SECTOR))


def parse_flushed(out):
    """The guest's "flushed R n=N sum=S" lines in OUT (bytes): [(R, N, S)]."""
    flushed = []
    for line in out.split(b"\n"):
        m = FLUSHED_RE.match(line)
        if m:
            flushed.append((int(m.group(1)), int(m.group(2)), int(m.group(3), 16)))
    return flushed


def new_stats():
    return dict(kills=0, checked=0, corrupt=0, repaired=0, leaks=0, leaks_now=0, mismatch=0,
                data_checked=0, sectors=0, t_run=0.0, t_check=0.0, lock_waits=0,
                lock_wait_max=0.0, fresh=0)


class Verifier:
    """What the disk must hold: acked[block] = the last flushed round that wrote it."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.acked = {}
        self.flushed = set()
        self.rmax = 0  # no round above this one was ever asked for
        self.writers = {}  # round -> set of its blocks (cache)

    def wrote(self, r, b):
        if r not in self.writers:
            self.writers[r] = set(round_blocks(r, self.blocks))
        return b in self.writers[r]

    def ack(self, r):
        self.flushed.add(r)
        for b in round_blocks(r, self.blocks):
            if self.acked.get(b, 0) < r:
                self.acked[b] = r

    def sector_problem(self, sec, s, b):
        """None if sector s (of block b) may hold these bytes, else why not."""
        want = self.acked.get(b)
        if sec == ZERO_SECTOR:
            return None if want is None else f"zeros, but round {want} flushed it"
        m = LINE_RE.fullmatch(sec[:32])
        if not m or sec != sec[:32] * (SECTOR // 32):
            return f"garbage {sec[:32]!r}"
        got_s, r = int(m.group(1)), int(m.group(2))
        if got_s != s:
            return f"sector {got_s}'s data (round {r})"
        if sec != sector_bytes(s, r):
            return f"bad check value in {sec[:32]!r}"
        if r > self.rmax or not self.wrote(r, b):
            return f"round {r}'s data, but round {r} never wrote block {b}"
        if want is not None and r < want:
            return f"round {r}'s data, stale: round {want} flushed it"
        return None

    def verify(self, disk):
        """Returns (list of problems, sectors whose flushed round was checked). disk: (size,
        {64 KiB chunk index: bytes}), the chunks not there being zeros."""
        problems, checked = [], 0
        size, chunks = disk
        if size != self.blocks * BLOCK:
            return [f"disk is {size} bytes, want {self.blocks * BLOCK}"], 0
        todo = set(chunks)
        todo.update(b // GROUP for b in self.acked)
        for x in sorted(todo):
            c = x * CHUNK
            chunk = chunks.get(x, ZERO_CHUNK)
            first = c // BLOCK
            if chunk == ZERO_CHUNK:
                for b in range(first, first + GROUP):
                    if b in self.acked:
                        problems.append(
                            f"block {b} (sectors {b * 8}..{b * 8 + 7}): zeros, but round "
                            f"{self.acked[b]} flushed it"
                        )
                continue
            for i in range(GROUP):
                b = first + i
                blk = chunk[i * BLOCK : (i + 1) * BLOCK]
                want = self.acked.get(b)
                if want is not None:
                    checked += BLOCK // SECTOR
                    if blk == block_bytes(b, want):
                        continue
                elif blk == ZERO_BLOCK:
                    continue
                for k in range(BLOCK // SECTOR):
                    why = self.sector_problem(blk[k * SECTOR : (k + 1) * SECTOR], b * 8 + k, b)
                    if why:
                        problems.append(f"sector {b * 8 + k} (block {b}): {why}")
        return problems, checked


def qcow2_check(img):
    """('ok'|'leaks'|'corrupt'|'error', leaked clusters, text)."""
    p = subprocess.run(
        ["qemu-img", "check", "-f", "qcow2", "--output=json", img],
        capture_output=True,
        text=True,
    )
    leaks = 0
    try:
        info = json.loads(p.stdout)
        leaks = int(info.get("leaks", 0))
    except ValueError:
        info = None
    if p.returncode == 0:
        return "ok", leaks, ""
    text = subprocess.run(
        ["qemu-img", "check", "-f", "qcow2", img], capture_output=True, text=True
    )
    text = (text.stdout + text.stderr).strip()
    if p.returncode == 3:
        return "leaks", leaks, text
    if p.returncode == 2:
        return "corrupt", leaks, text
    return "error", leaks, f"status {p.returncode}: {text}"


def create(img, kind):
    """A new, empty image of KIND (DISK_BYTES) at IMG."""
    if os.path.exists(img):
        os.unlink(img)
    if kind.fmt == "qcow2":
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-o", f"cluster_size={kind.cluster}",
             img, str(DISK_BYTES)],
            check=True,
        )
    else:
        with open(img, "wb") as f:
            f.truncate(DISK_BYTES)


class Kind:
    def __init__(self, name, fmt, cluster, opts):
        self.name, self.fmt, self.cluster, self.opts = name, fmt, cluster, opts


KINDS = {
    "qcow2": Kind("qcow2", "qcow2", 65536, ""),
    "qcow2-4k": Kind("qcow2-4k", "qcow2", 4096, ""),
    "raw-none": Kind("raw-none", "raw", 0, ",cache=none"),
    "raw-writeback": Kind("raw-writeback", "raw", 0, ",cache=writeback,flush=on"),
}


class Runner:
    def __init__(self, args, vms):
        self.args = args
        self.vms = vms
        self.failed = False
        self.failures = []

    def say(self, msg):
        print(msg, flush=True)

    def fail(self, msg):
        self.failed = True
        self.failures.append(msg)
        self.say(f"FAIL: {msg}")

    def vmm_args(self, img, kind, first, rounds):
        return ["--kernel", self.args.guest, "--debug-exit", "--console", "stdio",
                "--mem", "128M", "--disk", f"{img},format={kind.fmt}{kind.opts}",
                "--append", f"round={first} rounds={rounds}"]

    def run(self, img, kind, first, rounds, delay):
        """Runs the guest from round `first`; kills it `delay` s after it starts writing
        (None: lets it end). Returns (flushed lines [(r, n, sum)], output, status, killed).
        The output file is polled every millisecond (the kill points are 2-100 ms apart: the
        harness's 20 ms wait would blur them)."""
        vm = self.vms.start(self.vmm_args(img, kind, first, rounds), name=f"vmm-{kind.name}")
        deadline = time.monotonic() + 20
        kill_at = None
        killed = False
        while True:
            now = time.monotonic()
            if kill_at is not None and now >= kill_at:
                vm.popen.send_signal(signal.SIGKILL)
                killed = True
                break
            if now >= (kill_at if kill_at is not None else deadline):  # never wrote or ended
                vm.popen.send_signal(signal.SIGKILL)
                break
            if not vm.alive():
                break
            if kill_at is None and delay is not None and \
                    b"writing from round" in vm.out_path.read_bytes():
                kill_at = time.monotonic() + delay
                continue
            time.sleep(0.001)
        status = vm.wait(30)
        out = vm.out_path.read_bytes()  # what was printed before the kill
        return parse_flushed(out), out, status, killed

    def read_disk(self, img, kind):
        """The disk as (size, {chunk index: its 64 KiB}): only the chunks that the file's data
        extents touch are read (SEEK_DATA / SEEK_HOLE); the others are holes, zeros."""
        path = img
        if kind.fmt == "qcow2":
            path = os.path.join(self.args.tmp, "converted.raw")
            p = subprocess.run(
                ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", img, path],
                capture_output=True,
                text=True,
            )
            if p.returncode:
                return None
        size = os.path.getsize(path)
        chunks = {}
        fd = os.open(path, os.O_RDONLY)
        try:
            off = 0
            while off < size:
                try:
                    start = os.lseek(fd, off, os.SEEK_DATA)
                except OSError:  # ENXIO: no data after off
                    break
                end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
                for c in range(start // CHUNK, (end + CHUNK - 1) // CHUNK):
                    if c not in chunks:
                        chunks[c] = os.pread(fd, CHUNK, c * CHUNK).ljust(CHUNK, b"\0")
                off = end
        finally:
            os.close(fd)
        return size, chunks

    def keep(self, img, kill):
        path = os.path.join(self.args.tmp, f"kill{kill}.{os.path.basename(img)}")
        shutil.copyfile(img, path)
        return path

    def wait_unlocked(self, img, stats):
        """Waits until no process holds the image's lock: a VMM killed with I/O in flight in its
        io_uring keeps the file (and its flock) until the kernel has torn the ring down, a few
        ms after the process is gone; a new VMM would refuse the disk ("cannot lock it")."""
        t = time.monotonic()
        fd = os.open(img, os.O_RDONLY)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    break
                except BlockingIOError:
                    if time.monotonic() - t > 5:
                        return False
                    time.sleep(0.001)
        finally:
            os.close(fd)
        waited = time.monotonic() - t
        stats["lock_wait_max"] = max(stats["lock_wait_max"], waited)
        if waited > 0.0005:
            stats["lock_waits"] += 1
        return True

    def check_image(self, img, kind, ver, stats, tag, kill):
        """qemu-img check (qcow2) and the data after one kill. A corrupt qcow2 image is kept
        (the first few), counted, and repaired with `qemu-img check -r all` to go on; wrong
        data is counted (and stays wrong: later checks see it again). False: stop."""
        if kind.fmt == "qcow2":
            verdict, leaks, text = qcow2_check(img)
            stats["checked"] += 1
            stats["leaks"] += max(0, leaks - stats["leaks_now"])
            stats["leaks_now"] = leaks
            if verdict in ("corrupt", "error"):
                stats["corrupt"] += 1
                if stats["corrupt"] <= 3:
                    lines = text.splitlines()
                    self.fail(
                        f"{kind.name} {tag}: qemu-img check: {verdict} (seed "
                        f"{self.args.seed}; image kept as {self.keep(img, kill)})\n  "
                        + "\n  ".join(lines[:30] + (["..."] if len(lines) > 30 else []))
                    )
                else:
                    self.fail(f"{kind.name} {tag}: qemu-img check: {verdict} again")
                if verdict == "error":
                    return False
                subprocess.run(["qemu-img", "check", "-q", "-r", "all", "-f", "qcow2", img],
                               capture_output=True)
                verdict, leaks, text = qcow2_check(img)
                if verdict != "ok":
                    self.fail(f"{kind.name}: qemu-img check -r all did not repair it: "
                              f"{verdict}\n{text}")
                    return False
                stats["leaks_now"] = 0
                stats["repaired"] += 1
        disk = self.read_disk(img, kind)
        if disk is None:
            self.fail(f"{kind.name} {tag}: qemu-img convert failed")
            return False
        stats["data_checked"] += 1
        problems, checked = ver.verify(disk)
        stats["sectors"] += checked
        if problems:
            stats["mismatch"] += 1
            if stats["mismatch"] <= 3:
                self.fail(
                    f"{kind.name} {tag}: {len(problems)} sector(s) wrong (seed "
                    f"{self.args.seed}, image kept as {self.keep(img, kill)}):\n  "
                    + "\n  ".join(problems[:20])
                )
            else:
                self.fail(f"{kind.name} {tag}: {len(problems)} sector(s) wrong")
        return True

    def take_flushed(self, kind, ver, flushed, tag):
        ok = True
        for r, n, s in flushed:
            if n != WRITES or s != round_sum(r, ver.blocks):
                self.fail(
                    f"{kind.name} {tag}: flushed {r} n={n} sum={s:08x}, want n={WRITES} "
                    f"sum={round_sum(r, ver.blocks):08x} (guest and host layouts differ)"
                )
                ok = False
                continue
            ver.ack(r)
        return ok

    def create(self, img, kind):
        create(img, kind)

    def fresh_images(self, kind, rng, stats):
        """Kills in the first round on new images: the first FLUSH writes an image's first
        L2 table, the moment the metadata order matters most; then a run that is not killed
        (the image must open and allocate again) and the checks. Returns the flushed rounds
        verified."""
        a = self.args
        img = os.path.join(a.tmp, f"{kind.name}.fresh.img")
        verified = 0
        for i in range(a.fresh):
            self.create(img, kind)
            stats["leaks_now"] = 0
            ver = Verifier(DISK_BYTES // BLOCK)
            ver.rmax = ROUNDS_PER_RUN
            delay = rng.uniform(0, a.fresh_ms) / 1000.0
            tag = f"fresh image {i + 1} (killed {delay * 1000:.1f} ms into round 1)"
            flushed, out, status, killed = self.run(img, kind, 1, ROUNDS_PER_RUN, delay)
            if not killed or not self.wait_unlocked(img, stats):
                self.fail(f"{kind.name} {tag}: not killed (status {status}), or still locked")
                return verified
            stats["fresh"] += 1
            self.take_flushed(kind, ver, flushed, tag)
            nxt = max([r for r, _, _ in flushed], default=0) + 1
            self.check_image(img, kind, ver, stats, tag, f"fresh{i + 1}")
            flushed, out, status, killed = self.run(img, kind, nxt, 3, None)
            if status != 1 or len(flushed) != 3:
                self.fail(f"{kind.name} {tag}: the run after the kill did not pass (status "
                          f"{status}):\n{out.decode(errors='replace')[-2000:]}")
                return verified
            self.take_flushed(kind, ver, flushed, tag)
            self.check_image(img, kind, ver, stats, tag + ", then 3 rounds", f"fresh{i + 1}")
            verified += len(ver.flushed)
        return verified

    def disk_kind(self, kind):
        a = self.args
        img = os.path.join(a.tmp, f"{kind.name}.img")
        self.create(img, kind)
        rng = random.Random(f"{a.seed}:{kind.name}")
        ver = Verifier(DISK_BYTES // BLOCK)
        stats = new_stats()
        start = time.monotonic()
        nxt = 1
        for i in range(a.kills):
            delay = rng.uniform(a.min_ms, a.max_ms) / 1000.0
            tag = f"kill {i + 1} ({delay * 1000:.1f} ms, from round {nxt})"
            ver.rmax = max(ver.rmax, nxt + ROUNDS_PER_RUN - 1)
            t = time.monotonic()
            flushed, out, status, killed = self.run(img, kind, nxt, ROUNDS_PER_RUN, delay)
            stats["t_run"] += time.monotonic() - t
            if killed and not self.wait_unlocked(img, stats):
                self.fail(f"{kind.name} {tag}: the image is still locked 5 s after the kill")
                break
            if not killed:
                self.fail(
                    f"{kind.name} {tag}: the guest never started writing or ended by itself "
                    f"(status {status}); its output:\n{out.decode(errors='replace')[-2000:]}"
                )
                break
            stats["kills"] += 1
            self.take_flushed(kind, ver, flushed, tag)
            if flushed:
                nxt = max(nxt, max(r for r, _, _ in flushed) + 1)
            if (i + 1) % a.check_every == 0 or i + 1 == a.kills:
                t = time.monotonic()
                good = self.check_image(img, kind, ver, stats, tag, i + 1)
                stats["t_check"] += time.monotonic() - t
                if not good:
                    break
        # a last run, not killed: the image still works, the guest ends by itself
        if stats["kills"] == a.kills:
            ver.rmax = max(ver.rmax, nxt + 4)
            flushed, out, status, killed = self.run(img, kind, nxt, 5, None)
            text = out.decode(errors="replace").replace("\r", "")
            if status != 1 or "\nTEST PASS\n" not in text or len(flushed) != 5:
                self.fail(f"{kind.name}: the last run (not killed) did not pass (status "
                          f"{status}):\n{text[-2000:]}")
            else:
                self.take_flushed(kind, ver, flushed, "last run")
                self.check_image(img, kind, ver, stats, "last run", "last")
        fresh_rounds = 0
        if kind.fmt == "qcow2":
            fresh_rounds = self.fresh_images(kind, rng, stats)
        secs = time.monotonic() - start
        if kind.fmt == "qcow2":
            what = (f"{stats['kills']} kills + {stats['fresh']} on new images, "
                    f"{stats['checked']} images checked, "
                    f"{stats['corrupt']} corrupt, {stats['leaks']} leaked clusters in total")
        else:
            what = f"{stats['kills']} kills"
        self.say(
            f"{kind.name}: {what}, {stats['data_checked']} data checks "
            f"({stats['mismatch']} with wrong sectors), {len(ver.flushed) + fresh_rounds} flushed rounds "
            f"verified ({stats['sectors']} sector reads of flushed data); "
            f"{secs:.1f} s (runs {stats['t_run']:.1f} s, checks {stats['t_check']:.1f} s); "
            f"image still locked after the kill {stats['lock_waits']} times, at most "
            f"{stats['lock_wait_max'] * 1000:.0f} ms"
        )
        self.last = (img, kind, ver)

    def replay(self, kind, blocks, runs):
        """The checks of runs made elsewhere (the arm64 L1, framework/arm64_abuse.py, which has
        no Python nor qemu-img): RUNS, in order on one new image of BLOCKS 4 KiB blocks, are
        (tag, output, copy of the image after it, rounds asked for, killed), each killed run's
        copy taken after the kill. Every killed run's flushed rounds must be in its copy and
        later ones' (qemu-img check too); a run not killed must pass with all its rounds.
        Returns the stats (new_stats())."""
        ver, stats = Verifier(blocks), new_stats()
        for i, (tag, out, img, rounds, killed) in enumerate(runs):
            m = re.search(rb"^writing from round (\d+), (\d+) blocks", out, re.M)
            if not m or int(m.group(2)) != blocks:
                self.fail(f"{kind.name} {tag}: the guest never started writing on a disk of "
                          f"{blocks} blocks:\n{out.decode(errors='replace')[-2000:]}")
                return stats
            ver.rmax = max(ver.rmax, int(m.group(1)) + rounds - 1)
            flushed = parse_flushed(out)
            self.take_flushed(kind, ver, flushed, tag)
            text = out.decode(errors="replace").replace("\r", "")
            if killed:
                stats["kills"] += 1
            elif "\nTEST PASS\n" not in text or len(flushed) != rounds:
                self.fail(f"{kind.name} {tag} (not killed) did not pass:\n{text[-2000:]}")
            if not self.check_image(img, kind, ver, stats, tag, i + 1):
                break
        stats["rounds"] = len(ver.flushed)
        self.last = (runs[-1][2], kind, ver)
        return stats

    def self_check(self):
        """The checks can fail: a wrong expectation, a clobbered sector and a zeroed refcount
        are each caught."""
        ok = True
        img, kind, ver = self.qcow2_last
        size, chunks = self.read_disk(img, kind)
        b, r = max(ver.acked.items(), key=lambda kv: kv[1])
        # 1. expecting a later round than the one that wrote block b
        wrong = Verifier(ver.blocks)
        wrong.acked, wrong.rmax = dict(ver.acked), ver.rmax
        wrong.acked[b] = r + 1
        problems, _ = wrong.verify((size, chunks))
        if not any(f"(block {b})" in p for p in problems):
            self.fail("self-check: a wrong expected round went unnoticed")
            ok = False
        # 2. one sector of flushed data zeroed
        x, off = divmod(b * BLOCK + 3 * SECTOR, CHUNK)
        chunks[x] = chunks[x][:off] + ZERO_SECTOR + chunks[x][off + SECTOR :]
        problems, _ = ver.verify((size, chunks))
        if not any(f"sector {b * 8 + 3} " in p for p in problems):
            self.fail("self-check: a zeroed sector of flushed data went unnoticed")
            ok = False
        # 3. qcow2: the refcount of the L1 table's cluster set to 0
        bad = os.path.join(self.args.tmp, "selfcheck.qcow2")
        shutil.copyfile(img, bad)
        with open(bad, "r+b") as f:
            hdr = f.read(104)
            cluster = 1 << struct.unpack(">I", hdr[20:24])[0]
            l1 = struct.unpack(">Q", hdr[40:48])[0]
            rt = struct.unpack(">Q", hdr[48:56])[0]
            order = struct.unpack(">I", hdr[96:100])[0] if struct.unpack(">I", hdr[4:8])[0] >= 3 else 4
            width = (1 << order) // 8  # bytes per refcount (16 bits by default)
            per_block = cluster // width
            idx = l1 // cluster
            f.seek(rt + 8 * (idx // per_block))
            rb = struct.unpack(">Q", f.read(8))[0]
            f.seek(rb + (idx % per_block) * width)
            f.write(bytes(width))
        verdict, _, text = qcow2_check(bad)
        if verdict != "corrupt":
            self.fail(f"self-check: qemu-img check of an image with a zeroed refcount: "
                      f"{verdict}, want corrupt\n{text}")
            ok = False
        if ok:
            self.say("self-check: a wrong expected round, a zeroed sector of flushed data and a "
                     "zeroed qcow2 refcount are each caught: ok")


def run_all(vms, guest, tmp, seed=20261128, kills=50, check_every=1, min_ms=2.0, max_ms=100.0,
            fresh=15, fresh_ms=10.0, kinds="qcow2,qcow2-4k,raw-none,raw-writeback"):
    """Every disk kind's kills and checks, then the self-check; returns the Runner (.failed)."""
    from types import SimpleNamespace
    a = SimpleNamespace(guest=str(guest), tmp=str(tmp), seed=seed, kills=kills,
                        check_every=check_every, min_ms=min_ms, max_ms=max_ms, fresh=fresh,
                        fresh_ms=fresh_ms, kinds=kinds)
    r = Runner(a, vms)
    r.say(f"seed {a.seed}, {a.kills} kills per disk kind, {a.min_ms:g}-{a.max_ms:g} ms after the "
          f"guest starts writing, checks every {a.check_every} kill(s)")
    r.qcow2_last = None
    total = time.monotonic()
    for name in a.kinds.split(","):
        r.disk_kind(KINDS[name])
        if r.last[1].fmt == "qcow2" and r.qcow2_last is None:
            r.qcow2_last = r.last
    if r.qcow2_last:
        r.self_check()
    r.say(f"total {time.monotonic() - total:.1f} s: {'FAIL' if r.failed else 'ok'}")
    return r
