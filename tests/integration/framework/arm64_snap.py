"""snap_counter (tests/guests/snap_counter.c) on the arm64 VMM in the arm64 L1: a run's result
must not depend on a snapshot taken in the middle and restored (x86's
snapshot/test_snapshot_restore.py and test_snapshot_clones.py). Part of the guests part of
linux/test_arm64_linux.py, beside framework/arm64_guests.py:

  prepare(work)                          a blank disk in WORK
  l1_lines(vmm, vmmctl, images, work)    busybox sh lines (after arm64_guests.l1_lines(), whose
                                         waitfor they use): each step's status as "ARM64_SNAP
                                         <run> <step> <status>", each run's time in L1 as
                                         "ARM64_SNAP_TIME <run> <seconds> s"
  check(console, work)                   what went wrong (a list of messages)
  qemu_runs(images, work)                the guest on QEMU's virt board
                                         (boot/test_arm64_guests_qemu.py)

The runs ($ARM64_GUESTS selects among them as among arm64_guests.py's; snap_ref comes with
either of the others), each with 2 vCPUs (the secondary, started by PSCI CPU_ON, counts too),
128 MiB (dirty=8: 8 MiB rewritten each step), the guest's disk in L1's tmpfs (copied to WORK
for the checks), the snapshots there too:
  snap_ref    uninterrupted, on virtio-mmio: its SNAP-RESULT and disk are the reference
  snap_mmio   virtio-mmio (the disk's SPI), --track-dirty-pages: paused (vmmctl pause) after
              SNAP-PROGRESS SNAP_AT, a Full snapshot (snapshot-create), resumed and paused again
              30 steps or more later, a Diff snapshot onto a copy of the Full's
              memory file (which it must change); the VMM killed (SIGKILL); a new VMM
              (--api-sock) loads the Diff (snapshot-load --resume)
  snap_pci    virtio-pci (MSI-X through the ITS): a snapshot of the running VM refused; paused at
              SNAP_AT, a Full snapshot, the VMM killed; then two VMMs at once from that one
              snapshot, each on its own copy of the disk: one loads it over the API
              (snapshot-load --resume), the other is `vmm --restore DIR --disk COPY`; before
              them x86's bad snapshots (_bad_cases()), each refused by `vmm --restore` (status
              2, a message, no guest output), and one by the API's VMM before its good load
Each restored guest must go on where it was (no SNAP-START, its first SNAP-PROGRESS past the
snapshot's), end with TEST PASS (every sector read again and checked, more timer ticks after the
loop: the virtual timer survived), the VMM exit 0, and print the reference's SNAP-RESULT; each
one's disk must be the reference's byte for byte. The snapshotted run itself must not have ended
before its pause.
"""
import os
import re
import shlex

from .arm64_guests import QEMU_BASE, QemuRun, check_output

# 2-10 s of the guest in L1 (2026-12-02, the host loaded by other L1s: 300 steps of 2 Mi rounds);
# a pause asked for at SNAP-PROGRESS N comes 20-90 steps later (waitfor's poll, vmmctl's start
# under TCG; 100-200 before the VMMs were reniced)
STEPS = 300
WORK_ROUNDS = 2 << 20  # the guest's work= (its ring-3 rounds per step; the secondary's half)
SNAP_AT = 20  # the SNAP-PROGRESS after which a snapshot is taken
# dirty=: the guest also rewrites every page of 8 MiB each step (for one tick) and, once in the
# middle of the run, most pages of the 16 MiB after them: a Diff that missed a page the dirty
# log should have named changes the result
ARGS = f"cpus=2 steps={STEPS} work={WORK_ROUNDS} dirty=8 dirty_ticks=1"
VM = ["--cpus", "2", "--mem", "128M"]
TIMEOUT = 240  # each VMM, under `timeout`
DISK_SIZE = 1 << 20
TMP = "/tmp/snap"  # L1's tmpfs: sockets cannot live in WORK (9p), and RAM is written faster here
RUNS = ("snap_ref", "snap_mmio", "snap_pci")
# ws_touch (the working-set benchmark's guest, tools/benchmarks): filled, snapshotted at
# WS-READY, killed, restored: it answers once the VM generation ID changed (the device tree's
# microsoft,vmgenid), which a restore does before any vCPU runs
WS_STEPS = {"ready": "0", "snapshot": "0", "answer": "0"}
# each run's steps and the status each must end with (the restored VMMs' 0: the guest's
# SYSTEM_OFF; 124 would be the timeout)
STEPS_WANT = {
    "snap_ref": {"run": "0"},
    "snap_mmio": {"at": "0", "full": "0", "diff": "0", "diff-changed": "1",
                  "load": "0", "restored": "0"},
    "snap_pci": {"running-refused": "1", "at": "0", "full": "0", "api-bad-refused": "1",
                 "load": "0", "restored": "0", "clone": "0"},
}
# the consoles of the restored guests, per run
RESTORED = {"snap_mmio": ("snap_mmio-restored",),
            "snap_pci": ("snap_pci-restored", "snap_pci-clone")}
# The checksum is the guest's arithmetic alone: this command line's result on QEMU's virt board
# (-smp 2) over virtio-mmio and virtio-pci is x86's too (qemu-system-x86_64, q35, 2026-12-02)
# (with the dirty region: at 64 MiB on q35, 64 MiB into RAM on both arm64 boards; 2026-12-02)
QEMU_ARGS = "cpus=2 steps=40 work=65536 dirty=8 dirty_ticks=1"
QEMU_RESULT = "SNAP-RESULT checksum=c1cb8a27a3c60a72 sectors=10"
_RESULT = re.compile(r"SNAP-RESULT checksum=[0-9a-f]+ sectors=[0-9]+")


def ws_selected():
    only = os.environ.get("ARM64_GUESTS")
    return not only or bool(re.fullmatch(only, "ws_touch"))


def selected():
    """The runs $ARM64_GUESTS names (all without it); snap_ref with any."""
    only = os.environ.get("ARM64_GUESTS")
    out = [r for r in RUNS if not only or re.fullmatch(only, r)]
    if out and "snap_ref" not in out:
        out.insert(0, "snap_ref")
    return out


def prepare(work):
    if selected():
        with open(work / "snap-blank.img", "wb") as f:
            f.truncate(DISK_SIZE)


def _lines(run, vmm, ctl, image):
    """L1's lines of RUN, in its folder of L1's tmpfs (its consoles too: waitfor reads them
    there faster than over 9p), copied to WORK at its end."""
    q = shlex.quote
    d = f"{TMP}/{run}"
    # niced (L1's busybox has renice, no nice): vmmctl and waitfor, beside the guest's two busy
    # vCPUs on L1's two, then get L1's CPU at once (a pause asked for at SNAP-PROGRESS 20 came
    # at 130-220 of 400 without)
    boot = f"sh -c 'renice -n 10 -p $$ > /dev/null; exec \"$@\"' - timeout {TIMEOUT} {q(str(vmm))}"
    guest = f"--kernel {q(str(image))} {' '.join(VM)}"
    api = f"{ctl} -s {d}/api.sock"
    pci = run == "snap_pci"
    args = q(("transport=pci " if pci else "") + ARGS)

    def step(name):
        return f"snapstep {run} {name} $?"

    def at(n):
        return f"waitline {d}/{run}.out '^SNAP-PROGRESS {n}[^0-9]*$' $pid 1200"

    def paused(name):  # where the guest was when the snapshot was taken
        return (f'echo "ARM64_SNAP_AT {run} {name} $(grep -c "^SNAP-PROGRESS" {d}/{run}.out)0" '
                "| tee -a snap.log")

    def vmm_out(name):
        return f"> {d}/{name}.out 2> {d}/{name}.err"

    out = [f"rm -rf {d}; mkdir -p {d}/full {d}/diff; cp snap-blank.img {d}/disk.img"]
    if run == "snap_ref":
        return out + [f"{boot} {guest} --disk {d}/disk.img --append {args} {vmm_out(run)}",
                      step("run"), f"cp {d}/disk.img {run}.img; cp {d}/*.out {d}/*.err ."]
    out += [f"{boot} --api-sock {d}/api.sock --landlock-rules {d}:rw "
            + ("--transport pci " if pci else "--track-dirty-pages ")
            + f"{guest} --disk {d}/disk.img --append {args} {vmm_out(run)} & pid=$!"]
    if pci:  # a running VM's snapshot is refused (vmmctl exits 1 on the API's 400)
        out += [f"snapsock {d}/api.sock; {api} snapshot-create {d}/running-state "
                f"{d}/running-memory >> {run}.api 2>&1", step("running-refused")]
    out += [at(SNAP_AT), step("at"),
            f"{{ {api} pause && {api} snapshot-create {d}/full/state {d}/full/memory; }} "
            f">> {run}.api 2>&1", step("full"), paused("full")]
    if not pci:  # resumed for 30 steps or more (each rewrites the dirty region), paused
        # again: a Diff onto a copy of the Full's memory file
        out += [f'n=$((($(grep -c "^SNAP-PROGRESS" {d}/{run}.out) + 3) * 10))',
                f"{api} resume >> {run}.api 2>&1 && "
                f"waitline {d}/{run}.out \"^SNAP-PROGRESS $n[^0-9]*$\" $pid 1200 && "
                f"{api} pause >> {run}.api 2>&1 && cp {d}/full/memory {d}/diff/memory && "
                f"{api} snapshot-create {d}/diff/state {d}/diff/memory --type diff "
                f">> {run}.api 2>&1", step("diff"), paused("diff"),
                f"cmp -s {d}/full/memory {d}/diff/memory", step("diff-changed")]
    snap = f"{d}/diff" if not pci else f"{d}/full"
    out += ["kill -9 $pid; wait $pid 2>/dev/null"]
    if pci:  # spoilt copies of the Full snapshot, each refused (x86's bad_cases())
        out += _bad_lines(d, boot)
    if pci:  # a second VMM from the same snapshot at once, on its own copy of the disk
        out += [f"cp {d}/disk.img {d}/clone.img",
                f"{boot} --restore {d}/full --disk {d}/clone.img {vmm_out(run + '-clone')} "
                "& cpid=$!"]
    out += [f"{boot} --api-sock {d}/load.sock --landlock-rules {d}:rw "
            f"{vmm_out(run + '-restored')} & pid=$!", f"snapsock {d}/load.sock"]
    if pci:  # a bad snapshot refused over the API first, then the good one in the same VMM
        out += [f"{ctl} -s {d}/load.sock snapshot-load {d}/bad/state {d}/bad/memory --resume "
                f">> {run}.api 2>&1", step("api-bad-refused")]
    out += [f"{ctl} -s {d}/load.sock snapshot-load {snap}/state "
            f"{snap}/memory --resume >> {run}.api 2>&1", step("load"),
            '[ "$l" = 0 ] || kill $pid',  # a VMM that loaded nothing waits for ever
            "wait $pid", step("restored"), f"cp {d}/disk.img {run}-restored.img"]
    if pci:
        out += ["wait $cpid", step("clone"), f"cp {d}/clone.img {run}-clone.img"]
    return out + [f"cp {d}/*.out {d}/*.err ."]


def _bad_cases(d):
    """(label, busybox sh lines that spoil {d}/bad, a copy of the Full snapshot) as x86's
    snapshot/test_snapshot_restore.py's bad_cases(), then the two the operator gets wrong: the
    disk file missing, no such folder (the label, "-", the folder, the disk)."""
    st, mem = f"{d}/bad/state", f"{d}/bad/memory"
    size = f"$(stat -c %s {st})"
    cases = [(f"state-truncated-to-{name}", f"truncate -s {n} {st}")
             for name, n in ((0, 0), (7, 7), (11, 11), (64, 64), ("half", f"$(({size} / 2))"),
                             ("size-1", f"$(({size} - 1))"))]
    cases += [(f"state-byte-{name}-flipped",
               f"o={off}; snapput {st} $o $(($(snapbyte {st} $o) ^ 16))")
              for name, off in (("16", 16), ("middle", f"$(({size} / 2))"),
                                ("last", f"$(({size} - 1))"))]
    cases += [("format-version-plus-1", f"snapput {st} 8 $((($(snapbyte {st} 8) + 1) & 255))"),
              ("memory-4KiB-short", f"truncate -s $(($(stat -c %s {mem}) - 4096)) {mem}"),
              ("memory-4KiB-long", f"truncate -s $(($(stat -c %s {mem}) + 4096)) {mem}"),
              ("memory-missing", f"rm {mem}")]
    return cases


BAD_LABELS = [label for label, _ in _bad_cases("")] + ["disk-missing", "no-such-folder"]


def _bad_lines(d, boot):
    """Each spoilt snapshot restored by `vmm --restore`: "ARM64_SNAP_BAD <label> <status>
    <bytes of guest output> <first message>"; last, {d}/bad is the state cut in half (the API's
    refusal)."""
    q = shlex.quote
    lines = [f"snapbad() {{ rm -rf {d}/bad; cp -r {d}/full {d}/bad; eval \"$2\"; "
             f"{boot} --restore \"$3\" --disk \"$4\" > {d}/bad.out 2> {d}/bad.err; st=$?; "
             f"echo \"ARM64_SNAP_BAD $1 $st $(wc -c < {d}/bad.out) "
             f"$(grep -v '^vmm: info:' {d}/bad.err | head -n 1)\"; }}",
             f"cp {d}/disk.img {d}/bad.img"]
    for label, spoil in _bad_cases(d):
        lines.append(f"snapbad {label} {q(spoil)} {d}/bad {d}/bad.img")
    lines += [f"snapbad disk-missing : {d}/bad {d}/no-such.img",
              f"snapbad no-such-folder : {d}/no-such-folder {d}/bad.img",
              f"rm -rf {d}/bad {d}/bad.img; cp -r {d}/full {d}/bad; "
              f"truncate -s $(($(stat -c %s {d}/bad/state) / 2)) {d}/bad/state"]
    return lines


def _ws_lines(vmm, ctl, image):
    """ws_touch's run (WS_STEPS, as "ARM64_SNAP ws_touch STEP STATUS")."""
    q = shlex.quote
    d = f"{TMP}/ws_touch"
    boot = f"timeout {TIMEOUT} {q(str(vmm))}"

    def step(name):
        return f"snapstep ws_touch {name} $?"
    return [f"rm -rf {d}; mkdir -p {d}/snap",
            f"{boot} --api-sock {d}/api.sock --landlock-rules {d}:rw --kernel {q(str(image))} "
            f"--mem 128M --append touch=32M > {d}/ws.out 2> {d}/ws.err & pid=$!",
            f"waitfor {d}/ws.out '^WS-READY' $pid 1200", step("ready"),
            f"{{ {ctl} -s {d}/api.sock pause && {ctl} -s {d}/api.sock snapshot-create "
            f"{d}/snap/state {d}/snap/memory; }} >> ws_touch.api 2>&1", step("snapshot"),
            "kill -9 $pid; wait $pid 2>/dev/null",
            f"{boot} --restore {d}/snap > {d}/ws-restored.out 2> {d}/ws-restored.err & pid=$!",
            f"waitline {d}/ws-restored.out '^WS-ANSWER' $pid 1200", step("answer"),
            "kill $pid; wait $pid 2>/dev/null", f"cp {d}/*.out {d}/*.err .", f"rm -rf {d}"]


def _ws_problems(console, work):
    """ws_touch: filled, snapshotted, and the restored VM's answer (no second WS-READY)."""
    steps = dict(re.findall(r"^ARM64_SNAP ws_touch (\S+) (\d+)\r?$", console, re.M))
    bad = [f"step {s}: status {steps.get(s)}, want {w}" for s, w in WS_STEPS.items()
           if steps.get(s) != w]
    out = _read(work, "ws-restored.out")
    answer = re.search(r"^WS-ANSWER sum=[0-9a-f]{16} read_cycles=[0-9]+\r?$", out, re.M)
    if not answer or "WS-READY" in out:
        bad.append("the restored guest did not answer (or started again)")
    print(f"arm64 ws_touch: {answer.group(0).strip() if answer else 'no answer'}")
    if bad:
        return ["ws_touch: " + "; ".join(bad) + "\n--- first run ---\n"
                f"{_read(work, 'ws.out')[-1000:]}{_read(work, 'ws.err')[-1000:]}"
                f"\n--- restored ---\n{out[-1000:]}{_read(work, 'ws-restored.err')[-1500:]}"
                f"\n--- vmmctl ---\n{_read(work, 'ws_touch.api')[-1000:]}"]
    return []


def l1_lines(vmm, vmmctl, images, work):
    runs = selected()
    if not runs and not ws_selected():
        return []
    # vmmctl from L1's tmpfs: its first start over 9p is slow
    ctl = f"{TMP}/vmmctl"
    lines = [f"mkdir -p {TMP} && cp {shlex.quote(str(vmmctl))} {ctl}",
             'snapsock() { i=0; while [ ! -S "$1" ]; do i=$((i+1)); [ $i -gt 300 ] && return 1; '
             'sleep 0.1; done; }', 'snapstep() { l=$3; echo "ARM64_SNAP $1 $2 $3"; }',
             # a byte of a file (decimal), and a byte written into one (busybox od, printf, dd)
             'snapbyte() { dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | '
             "tr -d ' '; }",
             r'snapput() { printf "\\$(printf %03o "$3")" | '
             'dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }']
    for run in runs:
        lines += ["s=$(date +%s)", *_lines(run, vmm, ctl, images / "snap_counter.Image"),
                  f"rm -rf {TMP}/{run}",
                  f'echo "ARM64_SNAP_TIME {run} $(($(date +%s) - s)) s" | tee -a snap.log']
    if ws_selected():
        lines += ["s=$(date +%s)", *_ws_lines(vmm, ctl, images / "ws_touch.Image"),
                  'echo "ARM64_SNAP_TIME ws_touch $(($(date +%s) - s)) s" | tee -a snap.log']
    return lines + [f"rm -rf {TMP}"]


def _read(work, name):
    path = work / name
    return path.read_text(errors="replace") if path.exists() else ""


def _result(text):
    found = _RESULT.findall(text)
    return found[-1] if found else ""


def _progress(text):
    found = re.findall(r"^SNAP-PROGRESS (\d+)\r?$", text, re.M)
    return [int(n) for n in found]


def _restored_problems(name, out, status, at, want):
    bad = check_output(name, out, status, [r"^[0-9]+ sectors verified; timer: "])
    if re.search(r"^SNAP-START", out, re.M):
        bad.append("it booted again (SNAP-START)")
    seen = _progress(out)
    if not seen or seen[0] <= at:
        bad.append(f"its first SNAP-PROGRESS is {seen[:1]}, want past the snapshot's {at}")
    if _result(out) != want:
        bad.append(f"'{_result(out)}', the uninterrupted run's '{want}'")
    return bad


def _bad_problems(console):
    """Each spoilt snapshot (_bad_lines) refused: status 2, a message, no guest output."""
    got = {label: (status, size, msg) for label, status, size, msg in
           re.findall(r"^ARM64_SNAP_BAD (\S+) (\d+) +(\d+) ?(.*?)\r?$", console, re.M)}
    bad = []
    for label in BAD_LABELS:
        if label not in got:
            bad.append(f"{label}: not tried")
            continue
        status, size, msg = got[label]
        print(f"note: arm64 bad snapshot {label}: status {status}: {msg}")
        if status != "2" or size != "0" or not msg:
            bad.append(f"{label}: status {status} (want 2), {size} bytes of guest output (want "
                       f"0), message '{msg}' (want one)")
    return bad


def check(console, work):
    runs = selected()
    failures = _ws_problems(console, work) if ws_selected() else []
    steps = {}
    for run, step, status in re.findall(r"^ARM64_SNAP (\S+) (\S+) (\d+)\r?$", console, re.M):
        steps.setdefault(run, {})[step] = status
    for run, secs in re.findall(r"^ARM64_SNAP_TIME (\S+) (\d+) s\r?$", console, re.M):
        print(f"note: arm64 {run}: {secs} s in L1")
    for run, name, at in re.findall(r"^ARM64_SNAP_AT (\S+) (\S+) (\d+)\r?$", console, re.M):
        print(f"note: arm64 {run}: the {name} snapshot after SNAP-PROGRESS {at} of {STEPS}")
    want, ref_disk = "", None
    for run in runs:
        got = steps.get(run, {})
        bad = [f"step {s}: status {got.get(s)}, want {w}" for s, w in STEPS_WANT[run].items()
               if got.get(s) != w]
        if run == "snap_pci":
            bad += _bad_problems(console)
        out, err = _read(work, f"{run}.out"), _read(work, f"{run}.err")
        api = _read(work, f"{run}.api")
        if run == "snap_ref":
            bad += check_output(run, out, got.get("run", "?"), [r"^SNAP-START .* dirty=8\r?$",
                                                                r"^[0-9]+ sectors verified; "])
            want = _result(out)
            ref_disk = (work / "snap_ref.img").read_bytes() if (work / "snap_ref.img").exists() \
                else None
            print(f"arm64 {run}: {want}")
        else:
            at = max(_progress(out), default=0)
            if _result(out):
                bad.append("the snapshotted run ended before its pause (make the guest's run "
                           "longer)")
            print(f"arm64 {run}: snapshot after SNAP-PROGRESS {at}")
            for name in RESTORED[run]:
                r_out = _read(work, f"{name}.out")
                status = got.get("clone" if name.endswith("clone") else "restored", "?")
                more = _restored_problems(name, r_out, status, at, want)
                print(f"arm64 {name}: {_result(r_out)}")
                disk = work / f"{name}.img"
                if ref_disk is None or not disk.exists() or disk.read_bytes() != ref_disk:
                    more.append(f"its disk {disk.name} differs from the uninterrupted run's")
                if more:
                    bad.append(f"{name}: " + "; ".join(more) + "\n--- console (end) ---\n"
                               + r_out[-2000:] + "\n--- VMM log (end) ---\n"
                               + _read(work, f"{name}.err")[-1500:])
        if bad:
            failures.append(f"{run}: " + "\n".join(bad) + f"\n--- console (end) ---\n{out[-2000:]}"
                            f"\n--- VMM log (end) ---\n{err[-1500:]}"
                            f"\n--- vmmctl ---\n{api[-1500:]}")
    return failures


def qemu_runs(images, work):
    """snap_counter on QEMU (TCG, 2 CPUs) over virtio-mmio and virtio-pci: QEMU_RESULT."""
    out = []
    for transport in ("mmio", "pci"):
        disk = work / f"q-snap-{transport}.img"
        with open(disk, "wb") as f:
            f.truncate(DISK_SIZE)
        dev = "virtio-blk-pci,disable-legacy=on" if transport == "pci" else "virtio-blk-device"
        words = "transport=pci " if transport == "pci" else ""
        out.append(QemuRun(f"snap_counter_{transport}",
                           [*QEMU_BASE, "-serial", "stdio", "-smp", "2", "-drive",
                            f"id=d0,file={disk},format=raw,if=none", "-device", f"{dev},drive=d0",
                            "-kernel", str(images / "snap_counter.Image"), "-append",
                            words + QEMU_ARGS],
                           [rf"^{QEMU_RESULT}\r?$", r"^10 sectors verified; timer: "]))
    return out
