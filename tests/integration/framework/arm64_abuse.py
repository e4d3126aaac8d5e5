"""x86's abuse tests on arm64 (issue 67): their guests on our arm64 VMM in the arm64 L1, with
x86's checks, as runs of framework/arm64_guests.py (its `host` kinds "mmds" and "blk_crash",
whose L1 lines and host checks are here). L1 has busybox and no Python nor qemu-img: its side is
shell and small cross-built C programs (lib/net_host.c, lib/blk_crash_host.c, vmmctl), and what
it leaves in WORK is checked on the host afterwards.

  mmds_flood   net/test_mmds_flood.py: the guest on a NIC with MMDS V1 on a tap, configured
               through the API (vmmctl raw: boot source, machine, NIC, /mmds/config, the store,
               InstanceStart); L1 runs the echo server (busybox nc) and a sniffer on the tap
               (net_host sniff); once the guest waits, GET /mmds must hold the store and a PATCH
               must reach the guest; no frame to 169.254.169.254 on the tap, no crash in the
               VMM's log (net/mmds_flood_checks.py, shared with x86).
  blk_crash_*  storage/test_blk_crash_consistency.py on each of x86's disk kinds: the VMM is
               killed (SIGKILL) a fixed delay after the guest starts writing, or once it printed
               its Nth "flushed" line (seeded: the same kill points every run), restarted from
               the round after the last flushed one, then a run that is not killed; each qcow2
               kind also gets a kill in the first round of a new image. After each run L1 keeps
               the image (blk_crash_host keep: once the killed VMM's lock is gone) and the
               console; the host replays them with x86's checker (storage/blk_crash.py's
               Runner.replay(): qemu-img check, every flushed round's blocks).
"""
import json
import random
import re
import shlex
from types import SimpleNamespace

from storage import blk_crash
from net import mmds_flood_checks as mmds

from . import arm64_guests as guests

HOSTS = ("mmds", "blk_crash")

MMDS_TAP = "mftap0"
MMDS_SOCK = "/tmp/arm64-mmds.sock"  # L1's tmpfs: 9p cannot hold a socket
MMDS_TIMEOUT = 240

CRASH_SEED = 20261128  # x86's default
CRASH_ROUNDS = 400  # a killed run's rounds=: more than it reaches
LAST_ROUNDS = 3  # the run after the kills, not killed
# per disk kind: kills of the running image; qcow2 kinds also one in round 1 of a new one
CRASH_KILLS = {"qcow2": 4, "qcow2-4k": 3, "raw-none": 2, "raw-writeback": 3}
CRASH_DELAY_S = (0.05, 1.5)  # a delay kill: uniform in this range after "writing from round"
CRASH_FLUSHED = (1, 3)  # a count kill: after this many "flushed" lines (randint)


def crash_name(kind):
    return "blk_crash_" + kind.replace("-", "_")


def crash_image(kind, work):
    """Where L1's VMM writes KIND's image: L1's tmpfs (fast; holes seen by SEEK_DATA), but for
    cache=none, whose O_DIRECT L1's 6.1 tmpfs refuses: WORK (9p)."""
    return f"{work}/{kind}.live.img" if kind == "raw-none" else f"/tmp/arm64-crash-{kind}.img"


def crash_plan(kind):
    """KIND's kills, from the seed: [(mode, arg)], mode "d" (ARG seconds after the guest starts
    writing) or "n" (once it printed ARG "flushed" lines), one of each in turn."""
    rng = random.Random(f"{CRASH_SEED}:{kind}")
    plan = []
    for i in range(CRASH_KILLS[kind]):
        if i % 2 == 0:
            plan.append(("d", f"{rng.uniform(*CRASH_DELAY_S):.2f}"))
        else:
            plan.append(("n", str(rng.randint(*CRASH_FLUSHED))))
    return plan


def abuse_runs(work):
    """The runs (framework/arm64_guests.py's Run) of mmds_flood and blk_crash."""
    # the shared lines end with "$": the PL011's lines end with "\r\n"
    lines = [re.sub(r"\$$", r"\\r?$", x) for x in mmds.LINES]
    out = [guests.Run("mmds_flood", "mmds_flood", [], mmds.BOOT_ARGS, MMDS_TIMEOUT, lines,
                      host="mmds")]
    for kind in CRASH_KILLS:
        out.append(guests.Run(crash_name(kind), "blk_crash", ["--cpus", "1", "--mem", "128M"],
                              "", 300, [r"^writing from round [0-9]+, 16384 blocks",
                                        r"^done: rounds [0-9]+\.\.[0-9]+\r?$"],
                              host="blk_crash"))
    return out


def prepare(work):
    """The qcow2 images (qemu-img is on the host only) and the helpers for L1."""
    for name, kind in blk_crash.KINDS.items():
        if kind.fmt == "qcow2":
            blk_crash.create(str(work / f"{name}.img"), kind)
    guests.build_helper(work, "blk_crash_host")


# Busybox sh functions of the runs' lines (after arm64_guests.FUNCTIONS: waitfor).
FUNCTIONS = [
    # waitsock SOCK PID: 0 once the Unix socket SOCK exists (30 s at most), 2 when PID ended
    'waitsock() { i=0; while [ ! -S "$1" ]; do kill -0 "$2" 2>/dev/null || return 2; '
    'i=$((i+1)); [ $i -gt 300 ] && return 1; sleep 0.1; done; }',
    # crashrun VMM IMAGE IMG DISKOPTS TAG ROUNDS MODE ARG: the blk_crash guest (IMAGE) on
    # --disk IMG,DISKOPTS from round $next, its console in TAG.out; MODE d: SIGKILL ARG s after
    # it starts writing, n: once it printed ARG "flushed" lines, f: as soon as it starts writing
    # (polled without a pause: a round takes 10-40 ms in L1; its whole line, or the kill lands
    # while the PL011 prints it), -: not killed (120 s at most).
    # Then IMG kept as TAG.img, "CRASHRUN TAG FIRST STATUS" in crash.log, and $next the round
    # after the last one flushed. Its status: the VMM's (137: killed).
    'crashrun() { t=; [ "$7" = - ] && t="timeout 120"; '
    '$t "$1" --kernel "$2" --cpus 1 --mem 128M --disk "$3,$4" '
    '--append "round=$next rounds=$6" > "$5.out" 2> "$5.err" & p=$!; '
    'if [ "$7" = f ]; then i=0; while ! grep -q "^writing from round .* blocks" "$5.out" && '
    'kill -0 $p 2>/dev/null && [ $i -lt 20000 ]; do i=$((i+1)); done; '
    'else waitfor "$5.out" "^writing from round .* blocks" $p 600; fi; '
    'case $7 in d) sleep "$8" ;; n) i=0; while [ "$(grep -c "^flushed" "$5.out")" -lt "$8" ] '
    '&& ! grep -q "^GUEST-EXIT" "$5.out" && [ $i -lt 1200 ]; do i=$((i+1)); sleep 0.05; done ;; '
    'esac; [ "$7" = - ] || kill -9 $p 2>/dev/null; wait $p; st=$?; '
    './blk_crash_host keep "$3" "$5.img" >> crash.log 2>&1; '
    'echo "CRASHRUN $5 $next $st" >> crash.log; '
    'l=$(sed -n "s/^flushed \\([0-9]*\\) .*/\\1/p" "$5.out" | tail -n 1); '
    '[ -n "$l" ] && next=$((l + 1)); return $st; }',
]


def _ctl(vmmctl, method, path, body=None):
    """A vmmctl raw line whose answer goes to mmds_flood.host with "API METHOD PATH STATUS"."""
    q = shlex.quote
    arg = f" {q(json.dumps(body))}" if body is not None else ""
    return (f"{q(str(vmmctl))} -s {MMDS_SOCK} raw {method} {path}{arg} >> mmds_flood.host 2>&1; "
            f'echo "API {method} {path} $?" >> mmds_flood.host')


def _mmds_lines(r, vmm, images):
    """net/test_mmds_flood.py's flow in L1."""
    q = shlex.quote
    vmmctl = vmm.parent / "tools" / "vmmctl" / "vmmctl"
    h = "mmds_flood.host"
    start = [_ctl(vmmctl, "PUT", "/boot-source",
                  {"kernel_image_path": str(images / "mmds_flood.Image"),
                   "boot_args": mmds.BOOT_ARGS}),
             _ctl(vmmctl, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256}),
             _ctl(vmmctl, "PUT", "/network-interfaces/eth0",
                  {"iface_id": "eth0", "host_dev_name": MMDS_TAP}),
             _ctl(vmmctl, "PUT", "/mmds/config",
                  {"network_interfaces": ["eth0"], "version": "V1"}),
             _ctl(vmmctl, "PUT", "/mmds", mmds.STORE),
             _ctl(vmmctl, "PUT", "/actions", {"action_type": "InstanceStart"})]
    return [f"rm -f {MMDS_SOCK} {h}; pt=", f"./net_host tap {MMDS_TAP} >> {h}",
            f"ip link set {MMDS_TAP} up", f"ip addr add {mmds.HOST_IP}/24 dev {MMDS_TAP}",
            f"nc -ll -p {mmds.PORT} -e ./net_echo.sh & sv=$!",
            f"./net_host sniff {MMDS_TAP} {r.timeout} > mmds_flood.sniff & sn=$!",
            "waitfor mmds_flood.sniff '^sniffing' $sn 100",
            f"timeout {r.timeout} {q(str(vmm))} --api-sock {MMDS_SOCK} < /dev/null "
            f"> {r.name}.out 2> {r.name}.err & pid=$!",
            f"waitsock {MMDS_SOCK} $pid", *start,
            f"if waitfor {r.name}.out {q(mmds.WAITING)} $pid 1800; then "
            f"{q(str(vmmctl))} -s {MMDS_SOCK} raw GET /mmds > mmds_flood.get 2>&1; "
            f'echo "API GET /mmds $?" >> {h}; {_ctl(vmmctl, "PATCH", "/mmds", mmds.PATCH)}; '
            "pt=$(date +%s); fi",
            "wait $pid; r=$?",
            f'[ -n "$pt" ] && echo "AFTER-PATCH $(($(date +%s) - pt)) s" >> {h}',
            "kill $sn; wait $sn; kill $sv; wait $sv", f"tunctl -d {MMDS_TAP} > /dev/null",
            f"rm -f {MMDS_SOCK}", f'echo "L1-SECONDS $(($(date +%s) - s))" >> {h}']


def _crash_lines(r, vmm, images, work):
    """storage/blk_crash.py's disk_kind() and fresh_images() in L1, for the kind of run R."""
    kind = next(k for k in blk_crash.KINDS.values() if crash_name(k.name) == r.name)
    image, img = images / "blk_crash.Image", crash_image(kind.name, work)
    opts = f"format={kind.fmt}{kind.opts}"
    q = shlex.quote

    def run(tag, mode, arg, rounds=CRASH_ROUNDS, disk=img):
        return f"crashrun {q(str(vmm))} {q(str(image))} {disk} {opts} {tag} {rounds} {mode} {arg}"

    def fresh(disk):
        if kind.fmt == "qcow2":
            return f"cp {kind.name}.img {disk}"
        return f"rm -f {disk}; truncate -s {blk_crash.DISK_BYTES} {disk}"

    lines = [fresh(img), "next=1"]
    for i, (mode, arg) in enumerate(crash_plan(kind.name)):
        lines.append(run(f"{r.name}-kill{i + 1}", mode, arg))
    lines += [run(r.name, "-", "-", LAST_ROUNDS), "r=$?"]
    if kind.fmt == "qcow2":  # a kill in round 1 of a new image, then a run not killed
        new = f"/tmp/arm64-crash-{kind.name}.fresh.img"
        lines += ["rr=$r", fresh(new), "next=1", run(f"{r.name}-fresh", "f", "-", disk=new),
                  run(f"{r.name}-fresh-last", "-", "-", LAST_ROUNDS, new), f"rm -f {new}",
                  "r=$rr"]
    return lines + [f"rm -f {img}",
                    f'echo "L1-SECONDS {r.name} $(($(date +%s) - s))" >> crash.log']


def host_lines(r, vmm, images, work):
    """L1's lines of run R (R.host one of HOSTS); the status of its guest's run in $r."""
    if r.host == "mmds":
        return _mmds_lines(r, vmm, images)
    return _crash_lines(r, vmm, images, work)


def _l1_seconds(text, prefix):
    """The run's time in L1 from its "L1-SECONDS [NAME ]N" line ("?" without one)."""
    m = re.search(rf"^L1-SECONDS {re.escape(prefix)}(\d+)$", text, re.M)
    return m.group(1) if m else "?"


def _mmds_problems(r, work):
    host = (work / "mmds_flood.host").read_text(errors="replace")
    err = (work / f"{r.name}.err").read_text(errors="replace")
    bad = [f"vmmctl {m} {p}: exit {s}" for m, p, s in
           re.findall(r"^API (\S+) (\S+) (\d+)$", host, re.M) if s != "0"]
    if not re.search(r"^API PATCH /mmds 0$", host, re.M):
        bad.append("no PATCH /mmds (the guest never said it waits for it)")
    try:
        got = json.loads((work / "mmds_flood.get").read_text())["latest"]["meta-data"]["ami-id"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        got = f"unreadable ({e})"
    if got != mmds.WANT:
        bad.append(f"GET /mmds while the guest waits: ami-id {got}, want {mmds.WANT}")
    after = re.search(r"^AFTER-PATCH (\d+) s$", host, re.M)
    if after and int(after.group(1)) > 60:
        bad.append(f"the VMM ended {after.group(1)} s after the PATCH (x86's bound: 60)")
    sniffed = (work / "mmds_flood.sniff").read_text(errors="replace")
    bad += [p for p in [mmds.sniff_problem(sniffed)] if p]
    if re.search(mmds.CRASH, err):
        bad.append("the VMM's log shows a crash")
    print(mmds.summary((work / f"{r.name}.out").read_text(errors="replace").replace("\r", "")))
    print(sniffed.strip())
    print(f"{r.name}: {_l1_seconds(host, '')} s in L1")
    return bad


def _crash_runs(r, work, log, tags):
    """Runner.replay()'s runs of TAGS: (tag, output, kept image, rounds, killed); problems."""
    status = {t: s for t, _, s in re.findall(r"^CRASHRUN (\S+) (\d+) (\d+)$", log, re.M)}
    runs, bad = [], []
    for tag, rounds, killed in tags:
        if tag not in status:
            return [], [f"{tag}: never ran"]
        if killed and status[tag] != "137":
            bad.append(f"{tag}: not killed (the VMM's status {status[tag]}): it never started "
                       "writing or ended by itself")
        runs.append((tag, (work / f"{tag}.out").read_bytes(), str(work / f"{tag}.img"), rounds,
                     killed))
    return runs, bad


def _crash_problems(r, work):
    kind = next(k for k in blk_crash.KINDS.values() if crash_name(k.name) == r.name)
    log = (work / "crash.log").read_text(errors="replace")
    runner = blk_crash.Runner(SimpleNamespace(tmp=str(work), seed=CRASH_SEED), None)
    blocks = blk_crash.DISK_BYTES // blk_crash.BLOCK
    kills = [(f"{r.name}-kill{i + 1}", CRASH_ROUNDS, True)
             for i in range(len(crash_plan(kind.name)))]
    sequences = [kills + [(r.name, LAST_ROUNDS, False)]]
    if kind.fmt == "qcow2":
        sequences.append([(f"{r.name}-fresh", CRASH_ROUNDS, True),
                          (f"{r.name}-fresh-last", LAST_ROUNDS, False)])
    bad, total, main = [], blk_crash.new_stats(), None
    for tags in sequences:
        runs, why = _crash_runs(r, work, log, tags)
        bad += why
        if runs:
            stats = runner.replay(kind, blocks, runs)
            main = main or runner.last
            for key in ("kills", "checked", "corrupt", "leaks", "sectors", "rounds"):
                total[key] = total.get(key, 0) + stats.get(key, 0)
    if kind.name == "qcow2" and main and not runner.failed:  # x86's: the checks can fail
        runner.qcow2_last = main
        runner.self_check()
    print(f"{r.name}: {total['kills']} kills, {total['checked']} qcow2 checks "
          f"({total['corrupt']} corrupt, {total['leaks']} leaked clusters), {total['rounds']} "
          f"flushed rounds verified ({total['sectors']} sector reads of flushed data); "
          f"{_l1_seconds(log, r.name + ' ')} s in L1")
    return bad + runner.failures


def problems(r, work):
    """What the host finds wrong with run R's files in WORK (R.host one of HOSTS; [] else)."""
    if r.host == "mmds":
        return _mmds_problems(r, work)
    if r.host == "blk_crash":
        return _crash_problems(r, work)
    return []
