"""snapshot: snapshot and restore of a paused guest, restores through the API (File and Uffd),
and the memory of many clones of one snapshot."""

import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

from .control import ApiClient
from .runner import available, rounds
from .vm import LiveVM, boot_timer_report, reap, smaps_rollup


def disk_usage(*paths):
    """Bytes allocated on disk (what du counts: sparse holes are free)."""
    return sum(os.stat(p).st_blocks * 512 for p in paths)


def snap_create(impl, c, snapdir):
    """Pauses the guest, then times the snapshot from request to answer (ns). Ours: PUT
    /snapshot/create; QEMU: QMP migrate to exec:cat > FILE, query-migrate polled every ~1 ms
    until completed. Returns (ns, [files])."""
    if impl == "vmm":
        status, body = c._http("PATCH", "/vm", {"state": "Paused"})
        if b" 204 " not in status:
            raise OSError(f"pause: {status.decode().strip()} {body.decode(errors='replace')}")
        files = [os.path.join(snapdir, "state"), os.path.join(snapdir, "memory")]
        t0 = time.monotonic_ns()
        status, body = c._http("PUT", "/snapshot/create",
                               {"snapshot_type": "Full", "snapshot_path": files[0],
                                "mem_file_path": files[1]})
        t1 = time.monotonic_ns()
        if b" 204 " not in status:
            raise OSError(f"snapshot: {status.decode().strip()} "
                          f"{body.decode(errors='replace')}")
        return t1 - t0, files
    r = c._qmp("stop")
    if "error" in r:
        raise OSError(f"stop: {r['error']}")
    files = [os.path.join(snapdir, "migration")]
    t0 = time.monotonic_ns()
    r = c._qmp("migrate", {"uri": "exec:cat > " + shlex.quote(files[0])})
    if "error" in r:
        raise OSError(f"migrate: {r['error']}")
    deadline = time.monotonic() + 120
    while True:
        st = c._qmp("query-migrate").get("return", {}).get("status")
        if st == "completed":
            break
        if st in ("failed", "cancelled") or time.monotonic() > deadline:
            raise OSError(f"migrate: {st}")
        time.sleep(0.001)
    return time.monotonic_ns() - t0, files


def wait_running(impl, vm, sock, timeout=60):
    """ns from the restoring process's launch until its control socket says the guest runs
    (polled every ~1 ms). QEMU keeps a guest that was stopped when saved paused after the
    incoming migration: it gets a `cont` as soon as query-status leaves 'inmigrate'."""
    c = ApiClient(impl, sock, poll=0.001, timeout=timeout)
    try:
        deadline = time.monotonic() + timeout
        sent_cont = False
        while time.monotonic() < deadline:
            if impl == "vmm":
                _, body = c._http("GET", "/")
                state = json.loads(body or b"{}").get("state")
                if state == "Running":
                    return time.monotonic_ns() - vm.t0
            else:
                state = c._qmp("query-status").get("return", {}).get("status")
                if state == "running":
                    return time.monotonic_ns() - vm.t0
                if state in ("paused", "postmigrate") and not sent_cont:
                    c._qmp("cont")
                    sent_cont = True
                    continue
                if state not in ("inmigrate", "prelaunch", "paused", "postmigrate"):
                    raise OSError(f"QEMU status {state!r} while restoring")
            if not vm.alive():
                raise OSError("the restoring VMM exited")
            time.sleep(0.001)
        raise OSError(f"not running after {timeout} s")
    finally:
        c.close()


def snapshot_clones(env, res, snapdir, n, settle=2.0, extra=()):
    """n restores of one snapshot at once (ours, `extra` options added), `settle` s of running,
    then their memory."""
    procs, mems = [], []
    errf = tempfile.TemporaryFile()
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([env.vmm, "--restore", snapdir] + list(extra),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=errf))
        time.sleep(settle)
        for p in procs:
            if p.poll() is not None:
                continue
            try:
                mems.append(smaps_rollup(p.pid))
            except (OSError, ValueError):
                pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        reap(procs, timeout=10)
        errf.seek(0)
        err = errf.read()[-600:].decode(errors="replace")
        errf.close()
    if len(mems) < n:
        res.fail("snapshot", "vmm", f"{n - len(mems)} of {n} clones were not running after "
                 f"{settle} s; their stderr ends:\n    " + err.replace("\n", "\n    "))
    if not mems:
        return
    mib = 1024.0
    private = [m.get("Private_Clean", 0) + m.get("Private_Dirty", 0) for m in mems]
    pss = [m.get("Pss", 0) for m in mems]
    rss = [m.get("Rss", 0) for m in mems]
    k = len(mems)
    res.add("snapshot", f"{n} clones: private memory per clone, mean", "MiB", "lower", "vmm",
            statistics.mean(private) / mib)
    res.add("snapshot", f"{n} clones: PSS per clone, mean", "MiB", "lower", "vmm",
            statistics.mean(pss) / mib)
    res.add("snapshot", f"{n} clones: summed RSS", "MiB", "lower", "vmm", sum(rss) / mib)
    res.add("snapshot", f"{n} clones: summed PSS", "MiB", "lower", "vmm", sum(pss) / mib)
    res.note(f"snapshot: {k} clones of one snapshot restored at once (`vmm --restore`, guest RAM "
             f"mapped privately from the memory file, copy-on-write), read after {settle:.0f} s "
             f"from /proc/PID/smaps_rollup: private (Private_Clean+Private_Dirty) "
             f"{statistics.mean(private) / mib:.2f} MiB per clone, PSS "
             f"{statistics.mean(pss) / mib:.2f} MiB, summed RSS {sum(rss) / mib:.1f} MiB vs "
             f"summed PSS {sum(pss) / mib:.1f} MiB (the difference is shared: the page cache "
             "of the memory file and the VMM's libraries).")


def api_load_ns(env, files, backend, tag):
    """Our restore through the API as a Firecracker client does it: `vmm --api-sock S` launched
    bare, then PUT /snapshot/load with mem_backend `backend` (File: the memory file; Uffd: the
    socket of tools/uffd-handler serving that file, started first) and resume_vm. Returns ns
    from the VMM's launch until GET / says Running; the handler must end with status 0."""
    sock = os.path.join(env.tmp, f"load-{tag}.sock")
    handler = None
    backend_path = files[1]
    if backend == "Uffd":
        hsock = os.path.join(env.tmp, f"uffd-{tag}.sock")
        hbin = os.path.join(os.path.dirname(env.vmm), "vmm-uffd-handler")
        handler = subprocess.Popen([hbin, "--timeout", "60", hsock, files[1]],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(hsock):
            if time.monotonic() > deadline or handler.poll() is not None:
                handler.kill()
                raise OSError(f"{hbin} did not listen on {hsock}")
            time.sleep(0.001)
        backend_path = hsock
    # the snapshot's read-only disk is in env.tmp, outside its folder: the operator allows it
    vm = LiveVM([env.vmm, "--api-sock", sock, "--landlock-rules", f"{env.tmp}:ro"])
    try:
        c = ApiClient("vmm", sock, poll=0.001)
        try:
            status, body = c._http("PUT", "/snapshot/load", {
                "snapshot_path": files[0], "resume_vm": True,
                "mem_backend": {"backend_type": backend, "backend_path": backend_path}})
            if b" 204 " not in status:
                raise OSError(f"load ({backend}): {status.decode().strip()} "
                              f"{body.decode(errors='replace')}")
        finally:
            c.close()
        ns = wait_running("vmm", vm, sock)
        time.sleep(0.2)
        if not vm.alive():
            raise OSError(f"the VM loaded with {backend} exited within 0.2 s of running")
        return ns
    finally:
        vm.stop()
        if handler:
            try:
                handler.wait(timeout=10)
            except subprocess.TimeoutExpired:
                handler.kill()
                handler.wait()
            if handler.returncode != 0:
                raise OSError("vmm-uffd-handler: " + handler.stderr.read().decode(errors="replace"))
            handler.stderr.close()


def bench_api_loads(env, res, files, i):
    """The File and Uffd rows of api_load_ns(), in alternating order from round to round."""
    for backend in (("File", "Uffd") if i % 2 == 0 else ("Uffd", "File")):
        try:
            ns = api_load_ns(env, files, backend, f"{i}{backend}")
        except OSError as e:
            res.fail("snapshot", "vmm", f"PUT /snapshot/load with {backend}: {e}")
            continue
        res.add("snapshot", f"restore: PUT /snapshot/load, mem_backend {backend}: launch to "
                "running", "ms", "lower", "vmm", ns / 1e6)


def bench_snapshot(env, res, a):
    if not os.path.exists(env.guest("blk_bench")):
        res.note("snapshot: skipped: blk_bench guest missing")
        return
    impls = available(env, res, "snapshot", ["blk_bench"])
    guest = env.guest("blk_bench")
    disk = os.path.join(env.tmp, "snap.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(64 << 20))
    args = "qd=32 seconds=30 requests=1000000000"
    ready = b" s per depth"  # blk_bench's 'disk: ...' line: setup done, ring-3 loop starts
    qemu_base = ["-global", "virtio-mmio.force-legacy=false",
                 "-drive", f"id=d0,file={disk},format=raw,if=none,readonly=on",
                 "-device", "virtio-blk-device,drive=d0"]
    sizes = {}
    clone_dir = None
    for i, impl in rounds(impls, a.runs):
        snapdir = os.path.join(env.tmp, f"snap{i}{impl}")
        os.makedirs(snapdir, exist_ok=True)
        sock = os.path.join(env.tmp, f"snap{i}{impl}.sock")
        # The snapshot's source: a cold boot, timed to the guest's 'disk:' line.
        # --landlock-rules: the snapshot directory is named through the API later (Landlock).
        src = LiveVM(env.cmd(impl, guest, args, ["--api-sock", sock, "--disk", f"{disk},ro",
                                                 "--landlock-rules", f"{snapdir}:rw"],
                             qemu_base + ["-qmp", f"unix:{sock},server=on,wait=off"]),
                     {"ready": ready})
        files = None
        try:
            cold = src.wait_seen("ready", 60)
            if cold is None:
                raise OSError("no 'disk:' line from the guest within 60 s")
            time.sleep(0.5 if a.quick else 1.0)  # 32 requests in flight by now
            c = ApiClient(impl, sock)
            try:
                snap_ns, files = snap_create(impl, c, snapdir)
            finally:
                c.close()
        except (OSError, ValueError) as e:
            res.fail("snapshot", impl, f"source VM: {e}", src.stop())
            continue
        src.stop()
        res.add("snapshot", "snapshot of the paused guest, request to answer", "ms", "lower",
                impl, snap_ns / 1e6)
        sizes.setdefault(impl, []).append(disk_usage(*files))
        rep = boot_timer_report(src.err) if impl == "vmm" else {}
        # The restore.
        rsock = os.path.join(env.tmp, f"restore{i}{impl}.sock")
        if impl == "vmm":
            # the disk is outside the snapshot's folder: the operator gives it
            cmd = [env.vmm, "--restore", snapdir, "--api-sock", rsock, "--disk", disk]
        else:
            cmd = env.cmd(impl, guest, args, (), qemu_base + [
                "-qmp", f"unix:{rsock},server=on,wait=off",
                "-incoming", "exec:cat " + shlex.quote(files[0])])
        dst = LiveVM(cmd)
        try:
            run_ns = wait_running(impl, dst, rsock)
            time.sleep(0.2)
            if not dst.alive():
                raise OSError("the restored VM exited within 0.2 s of running")
        except (OSError, ValueError) as e:
            res.fail("snapshot", impl, f"restore: {e}", dst.stop())
            continue
        dst.stop()
        res.add("snapshot", "restore: launch to running (control socket)", "ms", "lower", impl,
                run_ns / 1e6)
        res.add("snapshot", "cold boot: launch to the guest's `disk:` line", "ms", "lower", impl,
                cold / 1e6)
        if impl == "vmm":
            bench_api_loads(env, res, files, i)
            rrep = boot_timer_report(dst.err)
            if rrep.get("setup-to-first-run-us") is not None:
                res.add("snapshot", "restore: process start to first KVM_RUN (--boot-timer)",
                        "ms", "lower", impl, rrep["setup-to-first-run-us"] / 1e3)
            if rep.get("setup-to-first-run-us") is not None:
                res.add("snapshot", "cold boot: process start to first KVM_RUN (--boot-timer)",
                        "ms", "lower", impl, rep["setup-to-first-run-us"] / 1e3)
            if clone_dir is None:
                clone_dir = snapdir  # kept for the clones
                continue
        shutil.rmtree(snapdir, ignore_errors=True)
    size_text = "; ".join(f"{impl} {statistics.median(v) / 2**20:.2f} MiB"
                          for impl, v in sizes.items())
    res.note("snapshot: blk_bench guest (qd=32, 64 MiB read-only disk), snapshotted ~"
             f"{0.5 if a.quick else 1:g} s into its ring-3 loop, paused first (ours PATCH /vm, "
             "QEMU stop). Snapshot: ours PUT /snapshot/create (state + memory files), QEMU QMP "
             "migrate to `exec:cat > FILE` until query-migrate says completed (ours also fsyncs "
             "the files and their directory; cat does not). Restore: ours "
             "`vmm --restore DIR --api-sock S` until GET / says Running; QEMU the same command "
             "line with `-incoming \"exec:cat FILE\"` until query-status says running (QEMU "
             "keeps a guest saved while stopped paused, so it gets a QMP `cont` as soon as the "
             "migration is in: counted). Both polled every ~1 ms. Cold boot is the snapshot's "
             "source VM (with its control socket) to the guest's `disk: ... per depth` line. "
             "Ours also restores as a Firecracker client does: `vmm --api-sock S` launched bare, "
             "PUT /snapshot/load with resume_vm and mem_backend File (the memory file) or "
             "Uffd (vmm-uffd-handler serving the same file, each page on its first "
             "touch), until GET / says Running; both in alternating order. "
             f"Snapshot on disk (du, median): {size_text or '—'}.")
    if env.boot_timer:
        res.note("snapshot: our restore inherits --boot-timer from the snapshotted VM (a "
                 "restore refuses VM-shaping options such as --boot-timer on its own command "
                 "line).")
    if clone_dir:
        snapshot_clones(env, res, clone_dir, 5 if a.quick else 20, extra=("--disk", disk))
        shutil.rmtree(clone_dir, ignore_errors=True)
