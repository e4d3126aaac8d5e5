# Live migration of the default Linux guest at its shell prompt (issue 31), both kinds:
#   1. the source (--mem-shared, a raw disk, the API) is restored from a snapshot of that guest at
#      its shell (linux.shell_snapshot: the boot is not what is tested), with a disk of its own;
#      the guest writes a marker to a tmpfs file and to sector 0 of its disk;
#   2. a copying migration to `vmm --migrate-from unix:M1` (PUT /vmm/send-migration), which
#      builds the VM during the pre-copy and starts it paused (every device here may be built
#      beside the source; its disk's lock is taken once handed over): the source ends with 0, and
#      the shell on the destination answers the next command: it still has the
#      tmpfs file and sector 0, and writes sector 1;
#   3. a local migration of that destination (guest RAM handed over as a memfd, no page
#      copied) to a third VMM: the shell answers again with both sectors and the file, writes
#      sector 2, and powers off;
#   4. the host reads all three sectors from the disk file.
# Each VMM's console is its own stdin/stdout. Not run where KVM is unusable.
# labels: slow linux migration
# requires: kvm
# timeout: 900
# resource: linux:1
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import linux, paths  # noqa: E402
from framework.linux import Shell  # noqa: E402
from framework.proc import wait_until  # noqa: E402


def blank_disk():
    """A 4 MiB blank disk for the snapshot's boot (each restore gets a copy of its own)."""
    paths.CACHE.mkdir(parents=True, exist_ok=True)
    disk = paths.CACHE / "linux-blank-4M.img"
    if not disk.exists():
        tmp = disk.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.truncate(4 << 20)
        tmp.rename(disk)
    return disk


def migrate(vms, workdir, src, to, local):
    """A destination TO on workdir/TO.mig, the migration sent from SRC; returns (vm, shell)."""
    mig = workdir / f"{to}.mig"
    # the source names its disk in the workdir: the destination's command line allows it
    dst = vms.start(["--migrate-from", f"unix:{mig}", "--landlock-rules", f"{workdir}:rw"],
                    name=to, api=True, console_in=True)
    wait_until(mig.exists, 10, f"{to}'s migration socket", alive=dst.alive)
    src.api.want(204, "PUT", "/vmm/send-migration",
                 {"destination_url": f"unix:{mig}", "local": local}, timeout=120)
    status = src.wait(120)
    done = re.search(r"migration completed: .*", src.err)
    assert done, f"the migration to {to} did not complete:\n{src.tail()}"
    print(f"{to}: {done.group(0)}")
    # every device here may be built beside the source: only the state is left for the pause
    assert "VM is built here while the source still runs it; started, paused" in dst.err, \
        f"{to} did not build the VM during the pre-copy:\n{dst.tail()}"
    assert status == 0, f"the source ended with {status}"
    return dst, Shell(dst)


def test_migration(vms, workdir):
    folder = linux.shell_snapshot([*linux.default_args(), "--mem-shared", "--disk", blank_disk()])
    disk = workdir / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(4 << 20)
    src, shell = linux.restore(vms, folder, ["--disk", f"{disk},id=drive0"], name="src",
                               api=True)
    # One program at a time (docs/testing.md: pipelines on kvm_pvm).
    shell.check("echo tmpfs-before-move >/tmp/mark")
    shell.check("echo sector-zero-before >/tmp/s0")
    shell.check("dd if=/tmp/s0 of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null")

    # ---- copying migration ----
    dst1, shell = migrate(vms, workdir, src, "dst1", False)
    out = shell.check("cat /tmp/mark")
    assert "tmpfs-before-move" in out, f"the destination lost its tmpfs file: {out}"
    out = shell.check("dd if=/dev/vda of=/tmp/r0 bs=512 count=1 2>/dev/null; head -n 1 /tmp/r0")
    assert "sector-zero-before" in out, f"sector 0 on the destination: {out}"
    shell.check("echo sector-one-after >/tmp/s1")
    shell.check("dd if=/tmp/s1 of=/dev/vda bs=512 seek=1 count=1 conv=sync,fsync 2>/dev/null")

    # ---- local migration of the destination ----
    dst2, shell = migrate(vms, workdir, dst1, "dst2", True)
    assert re.search(r"migration completed: [0-9]+ rounds, 0 pages", dst1.err), \
        f"the local migration copied pages:\n{dst1.tail()}"
    out = shell.check("cat /tmp/mark")
    assert "tmpfs-before-move" in out, f"the file after the local migration: {out}"
    out = shell.check("dd if=/dev/vda of=/tmp/r1 bs=512 skip=1 count=1 2>/dev/null; "
                      "head -n 1 /tmp/r1")
    assert "sector-one-after" in out, f"sector 1 after the local migration: {out}"
    shell.check("echo sector-two-last >/tmp/s2")
    shell.check("dd if=/tmp/s2 of=/dev/vda bs=512 seek=2 count=1 conv=sync,fsync 2>/dev/null")
    dst2.type("poweroff")
    dst2.wait(60)

    # ---- the disk file ----
    data = disk.read_bytes()
    for sector, want in ((0, "sector-zero-before"), (1, "sector-one-after"),
                         (2, "sector-two-last")):
        got = data[sector * 512:(sector + 1) * 512].split(b"\n")[0].rstrip(b"\0").decode()
        assert got == want, f"sector {sector} of the disk file: {got!r}, want {want!r}"
