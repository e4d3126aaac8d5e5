# Working-set restores (docs/snapshots.md, "Working-set restore") on the ws_touch guest (256 MiB;
# after each restore it writes 16 MiB and reads 16 MiB of the 32 MiB it filled, then prints
# WS-ANSWER with a checksum):
#   1. the guest snapshotted while it waits;
#   2. `vmm --restore DIR --working-set record`, the answer, then PUT /vmm/working-set stops the
#      recording: 200 with the path, the pages and "stopped_by": "request"; DIR/state.working-set
#      has the header, at least the 8192 pages the guest touched, and written ranges (`w`); a
#      second stop is a 400 saying the first one stopped it and what it wrote;
#   2b. PUT /snapshot/load "working_set": "record", "working_set_record_ms": 4000: the VMM stops
#      the recording itself (its info line), the file is rewritten with the touched pages, and
#      a stop request after it is a 400 saying the time limit stopped it and what it wrote;
#      "working_set_record_ms" without "record", or 0, is a 400;
#   2c. the same on the command line: `--working-set-ms 0` exits 2 saying why; `vmm --restore DIR
#      --working-set record --working-set-ms 3000` stops the recording itself and writes the file;
#   3. `vmm --restore DIR` loads it (the info line says how many pages) and the guest gives the
#      same answer; `--working-set off` does not load it;
#   4. PUT /snapshot/load with mem_backend Uffd, vmm-uffd-handler given the list (--working-set)
#      and not (lazy): the same answer, the pages loaded by the VMM's thread while the guest ran;
#   5. bad input: a working set of another snapshot (its CRC changed), one that does not parse:
#      `vmm --restore` refused with status 2 and the message, PUT /snapshot/load a 400 with it;
#      "working_set": "bogus" a 400; --working-set off restores despite the bad file.
# Under 5 minutes: 16 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: snapshot api
# requires: kvm python3
# timeout: 600
import os
import re

from framework import paths
from framework import snapshot_util as snap
from framework.proc import wait_until

RUN_TIMEOUT = 120
HANDLER = paths.BUILD_DIR / "vmm-uffd-handler"


# the whole sum: the output is read as it comes, and a line may be half there
ANSWER = r"WS-ANSWER sum=[0-9a-f]{16}\b"


def answer(vm):
    found = re.search(ANSWER, vm.out)
    return found.group(0) if found else ""


def pages_of(ws):
    found = re.search(r"^pages (\d+)$", ws.read_text(), re.M)
    return int(found.group(1)) if found else 0


def test_working_set(vms, workdir):
    folder = workdir / "snap"
    ws = folder / "state.working-set"

    def start(name, *args):
        return vms.start([*map(str, args), "--landlock-rules", f"{workdir}:rw"], name=name, api=True)

    def answered(vm):
        return vm.wait_out(ANSWER, 60).group(0)

    def stopped_by_limit(vm, ms):
        vm.wait_out(rf"recording stopped by its time limit \({ms} ms\)", 20, err=True)
        assert ws.exists(), f"no {ws} after the time limit"
        print(f"the VMM stopped it: {re.search(r'working set .*recorded', vm.err)}")

    # ---- 1. the snapshot ----
    vm = snap.start_guest(vms, "ws_touch", "--mem", "256M", "--append", "touch=32M write=16M",
                          landlock=workdir)
    vm.wait_out(r"WS-READY", 60)
    snap.take(vm.api, folder)
    vm.stop(grace=0)

    # ---- 2. record ----
    vm = start("record", "--restore", folder, "--working-set", "record")
    want = answered(vm)
    assert want, "no answer"
    got = vm.api.put("/vmm/working-set", {"action": "stop"})
    assert got.status == 200 and f'"path":"{ws}"' in got.body and \
        '"stopped_by":"request"' in got.body, f"PUT /vmm/working-set -> {got!r}"
    got = vm.api.put("/vmm/working-set", {"action": "stop"})
    assert got.status == 400 and f"already stopped by an earlier request: {ws} holds" in got.body, \
        f"a second stop -> {got!r}"
    vm.stop(grace=0)
    text = ws.read_text()
    pages = pages_of(ws)
    assert text.splitlines()[0] == "vmm-working-set 1" and pages >= 8192 and \
        re.search(r"^mem_size 268435456$", text, re.M), f"the file: {text[:300]}"
    assert re.search(r"^[0-9]+ [0-9]+ w$", text, re.M), "no written range"

    # ---- 2b. record, stopped by its time limit ----
    vm = start("record-api")
    body = snap.load_body(folder, resume_vm=True)
    got = vm.api.put("/snapshot/load", {**body, "working_set_record_ms": 4000})
    assert got.status == 400 and 'working_set_record_ms needs \\"working_set\\": \\"record\\"' in got.body, \
        f"a limit without record -> {got!r}"
    got = vm.api.put("/snapshot/load", {**body, "working_set": "record", "working_set_record_ms": 0})
    assert got.status == 400 and "working_set_record_ms must be from 1 to" in got.body, \
        f"a limit of 0 -> {got!r}"
    ws.unlink()
    vm.api.want(204, "PUT", "/snapshot/load",
                {**body, "working_set": "record", "working_set_record_ms": 4000})
    assert answered(vm) == want, "loaded, recording for 4000 ms: another answer"
    stopped_by_limit(vm, 4000)
    got = vm.api.put("/vmm/working-set", {"action": "stop"})
    assert got.status == 400 and "already stopped by its time limit (4000 ms)" in got.body and \
        f"{ws} holds" in got.body, f"a stop after the time limit -> {got!r}"
    vm.stop(grace=0)
    assert pages_of(ws) >= 8192, f"the time limit's file: {ws.read_text()[:300]}"

    # ---- 2c. the same time limit on the command line ----
    run = vms.run(["--restore", folder, "--working-set", "record", "--working-set-ms", "0"],
                  name="ms0")
    assert run.status == 2 and "--working-set-ms 0: 1 to 3600000" in run.err, \
        f"status {run.status}: {run.err}"
    ws.unlink()
    vm = start("record-cli", "--restore", folder, "--working-set", "record", "--working-set-ms", "3000")
    assert answered(vm) == want
    stopped_by_limit(vm, 3000)
    vm.stop(grace=0)
    pages = pages_of(ws)
    assert pages >= 8192, f"the command line's file: {ws.read_text()[:300]}"

    # ---- 3. load ----
    vm = start("load", "--restore", folder)
    assert answered(vm) == want
    # the File backend's pages load on a thread while the guest runs: its line may follow the answer
    vm.wait_out(rf"working set {re.escape(str(ws))}: {pages} pages \(.* MiB\) loaded in", 10, err=True)
    vm.stop(grace=0)
    vm = start("off", "--restore", folder, "--working-set", "off")
    assert answered(vm) == want, f"off: answer '{answer(vm)}'"
    assert "loaded in" not in vm.err, "off loaded the working set"
    vm.stop(grace=0)

    # ---- 4. Uffd: the handler given the list too, and a lazy one (the VMM's loader drives it) ----
    if os.access(HANDLER, os.X_OK):
        for label, options in (("list", ["--working-set", ws]), ("lazy", [])):
            hsock = workdir / "h.sock"
            if hsock.exists():
                hsock.unlink()
            handler = vms.process([HANDLER, "--timeout", "60", *options, hsock, folder / "memory"],
                                  name=f"handler-{label}")
            wait_until(hsock.is_socket, 10, "the handler's socket", alive=handler.alive)
            vm = start(f"uffd-{label}")
            vm.api.want(204, "PUT", "/snapshot/load", {
                "snapshot_path": str(folder / "state"), "resume_vm": True,
                "mem_backend": {"backend_type": "Uffd", "backend_path": str(hsock)}})
            assert answered(vm) == want, f"{label}: answer '{answer(vm)}'"
            # the pages load on a thread while the guest runs, the handler serving its reads
            vm.wait_out(rf"working set {re.escape(str(ws))}: {pages} pages \(.* MiB\) loaded in .* "
                        r"\(while the vCPUs ran\)", 10, err=True)
            vm.stop(grace=0)
            handler.stop(grace=0)
    else:
        print(f"note: {HANDLER} not built: no Uffd load")

    # ---- 5. bad input ----
    ws.write_text(re.sub(r"^state_crc32 .*$", "state_crc32 0x00000001", ws.read_text(), flags=re.M))
    run = vms.run(["--restore", folder], name="mismatched", timeout=RUN_TIMEOUT)
    snap.expect_refused(run)
    assert f"working set {ws} does not match this snapshot" in run.err, f"message: {run.err}"
    vm = start("mismatched-api")
    got = vm.api.put("/snapshot/load", body)
    assert got.status == 400 and "does not match this snapshot" in got.body, f"load -> {got!r}"
    got = vm.api.put("/snapshot/load", {**body, "working_set": "bogus"})
    assert got.status == 400 and "working_set must be load, off or record" in got.body, \
        f"bogus -> {got!r}"
    vm.api.want(204, "PUT", "/snapshot/load", {**body, "working_set": "off"})
    vm.wait_out(r"WS-ANSWER", 60)  # off despite the bad file: loaded
    vm.stop(grace=0)
    ws.write_text("vmm-working-set 1\nmem_size 268435456\n")
    run = vms.run(["--restore", folder], name="unparsable", timeout=RUN_TIMEOUT)
    snap.expect_refused(run)
    assert f"working set {ws}: line 3: expected `state_crc32 NUMBER`" in run.err, f"message: {run.err}"
