"""Helpers of the snapshot and migration tests (snapshot/, migration/).

  start_counter(vms, *args)   the snap_counter test guest on our VMM with an API socket
  start_guest(vms, guest, *args)  any test guest so (landlock=FOLDER: --landlock-rules FOLDER:rw)
  progress(text)              the last SNAP-PROGRESS number of a console's text (0 if none)
  wait_progress(vm, n)        waits until the console shows SNAP-PROGRESS >= n
  result(text)                the last "SNAP-RESULT checksum=... sectors=..." of a console's text
  take(api, folder)           pauses the VM and writes FOLDER/state and FOLDER/memory
  expect_refused(vm)          a run that ended with 2, a message on stderr, no guest output
  load_body(folder, **more)   PUT /snapshot/load's body for FOLDER
  pid_alive, wait_pid_gone, kill_pids   processes a tool started (vmmctl fork's VMMs)
  vmmctl(*args)               tools/vmmctl to its end
  edit_sections, section      a state file's sections read, or rewritten with the CRC fixed
  env(**more)                 os.environ with more (VMM_TEST_HOST_CPU_HIDE...)
  LIB                         tests/integration/lib (its Python helpers: snapshot_craft.py...)
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

from . import paths
from .guests import PASS, guest_path
from .proc import wait_until

LIB = paths.SOURCE_DIR / "tests" / "integration" / "lib"
_RESULT = re.compile(r"SNAP-RESULT checksum=[0-9a-f]+ sectors=[0-9]+")


def start_counter(vms, *args, name="snap_counter", **kw):
    """snap_counter on our VMM (--debug-exit, --console stdio) with an API socket; returns the
    running Vm once the API answers (a VM the command line gives is built before it does)."""
    return start_guest(vms, "snap_counter", *args, name=name, **kw)


def start_guest(vms, guest, *args, name=None, api=True, landlock=None, **kw):
    """Test guest GUEST on our VMM with ARGS, --debug-exit, --console stdio and an API socket;
    LANDLOCK (a folder) adds --landlock-rules FOLDER:rw (where its snapshot is written)."""
    extra = ["--landlock-rules", f"{landlock}:rw"] if landlock else []
    return vms.start(["--kernel", guest_path(guest), "--debug-exit", "--console", "stdio",
                      *extra, *map(str, args)], name=name or guest, api=api, **kw)


def progress(text):
    found = re.findall(r"^SNAP-PROGRESS (\d+)$", text, re.M)
    return int(found[-1]) if found else 0


def wait_progress(run, n, timeout=300):
    """Waits until RUN's console shows SNAP-PROGRESS >= N while it still runs."""
    wait_until(lambda: progress(run.out) >= n, timeout, f"{run.name}: SNAP-PROGRESS {n}",
               alive=run.alive)
    return progress(run.out)


def result(text):
    """The last result line; taken from anywhere in a line, as a migrated guest's console may
    start its destination output mid-line or another vCPU's bytes may come before it."""
    found = _RESULT.findall(text)
    return found[-1] if found else ""


def take(api, folder, pause=True, timeout=300):
    """Pauses the VM (PAUSE) and snapshots it into FOLDER (state, memory): both answers 204."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if pause:
        api.want(204, "PATCH", "/vm", {"state": "Paused"})
    api.want(204, "PUT", "/snapshot/create",
             {"snapshot_type": "Full", "snapshot_path": str(folder / "state"),
              "mem_file_path": str(folder / "memory")}, timeout=timeout)
    return folder


def load_body(folder, **more):
    body = {"snapshot_path": str(Path(folder) / "state"),
            "mem_file_path": str(Path(folder) / "memory")}
    body.update(more)
    return body


def expect_refused(run):
    """The run ended with status 2, a message on stderr (not an info line), no guest output."""
    assert run.status == 2, f"{run.name}: status {run.status}, want 2\n{run.tail()}"
    messages = [line for line in run.err.splitlines() if line and not line.startswith("vmm: info:")]
    assert messages, f"{run.name}: no message on stderr\n{run.tail()}"
    assert not run.out, f"{run.name}: the guest printed something\n{run.tail()}"
    return messages[0]


def expect_pass(run, status=None):
    status = run.status if status is None else status
    assert status == PASS and re.search(r"^TEST PASS$", run.out, re.M), \
        f"{run.name}: status {status}, want {PASS} and TEST PASS\n{run.tail()}"


def du(folder):
    """`du -sh FOLDER` for a log line."""
    return subprocess.run(["du", "-sh", str(folder)], capture_output=True,
                          text=True).stdout.split("\t")[0]


def has_qemu_img():
    return shutil.which("qemu-img") is not None


def pid_alive(pid):
    """PID runs (a zombie does not: the VMMs vmmctl starts are not ours to reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_pid_gone(pid, timeout, what):
    wait_until(lambda: not pid_alive(pid), timeout, what)


def kill_pids(pids):
    """SIGKILL to each of PIDS still running (processes a tool started, not the harness)."""
    import os
    import signal
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def vmmctl(*args, timeout=180):
    """tools/vmmctl with ARGS to its end: the CompletedProcess (text)."""
    return subprocess.run([str(paths.VMMCTL), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def first_progress(text):
    found = re.search(r"^SNAP-PROGRESS (\d+)$", text, re.M)
    return int(found.group(1)) if found else None


def smaps_field(text, name):
    """kB of NAME in a smaps-style text."""
    return sum(int(line.split()[1]) for line in text.splitlines()
               if line.split()[:1] == [f"{name}:"])


def edit_sections(path, edit):
    """Rewrites the snapshot state file PATH section by section: EDIT(tag, bytearray) returns the
    section's new bytes, or None to drop it; then fixes the header's length and the trailer's
    CRC32 (vmm/snapshot/format/snap_format.h)."""
    import struct
    import zlib
    data = open(path, "rb").read()
    body, off, out = data[:-8], 24, bytearray(data[:24])
    while off < len(body):
        tag, inst, length = struct.unpack_from("<IIQ", body, off)
        sec = bytearray(body[off + 16:off + 16 + length])
        off += 16 + length + (-length) % 8
        sec = edit(tag, sec)
        if sec is None:
            continue
        out += struct.pack("<IIQ", tag, inst, len(sec)) + sec + b"\0" * ((-len(sec)) % 8)
    struct.pack_into("<Q", out, 16, len(out) + 8)
    out += struct.pack("<II", zlib.crc32(bytes(out)) & 0xFFFFFFFF, 0x444E4553)
    open(path, "wb").write(out)


def section(path, tag):
    """The bytes of the first section TAG of the state file PATH (None if it has none)."""
    import struct
    data = open(path, "rb").read()
    body, off = data[:-8], 24
    while off < len(body):
        t, _inst, length = struct.unpack_from("<IIQ", body, off)
        if t == tag:
            return body[off + 16:off + 16 + length]
        off += 16 + length + (-length) % 8
    return None


def env(**more):
    """os.environ with MORE (a VMM's env= in vms.start/run)."""
    import os
    return {**os.environ, **more}


def saved_records(state):
    """The devices' records a state file's configuration holds (docs/snapshots.md: section
    version 2, {"disk": [{"path": ..., "id": ...}], ...}); STATE is the file's path or bytes."""
    data = state if isinstance(state, bytes) else Path(state).read_bytes()
    at = data.find(b'"devices":')
    start = data.rfind(b'{"version":', 0, at) if at >= 0 else -1
    assert start >= 0, "the state file has no configuration with devices' records"
    config, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
    return config["devices"]


def expect_record(state, device, **members):
    """A record of DEVICE in the state file has every member given (with "_" for "-" in names:
    hotplug_slot= is "hotplug-slot"); a value ending in "..." is a prefix, one starting with "..."
    a suffix, True a flag, None any value. Returns the record."""
    recs = saved_records(state).get(device, [])

    def matches(rec):
        for key, want in members.items():
            got = rec.get(key.replace("_", "-"))
            if got is None or want is None:
                if got is None:
                    return False
                continue
            if isinstance(want, str) and want.startswith("..."):
                if not str(got).endswith(want[3:]):
                    return False
            elif isinstance(want, str) and want.endswith("..."):
                if not str(got).startswith(want[:-3]):
                    return False
            elif got != want:
                return False
        return True

    found = [r for r in recs if matches(r)]
    assert found, f"no {device} record with {members} in the snapshot: {recs}"
    return found[0]
