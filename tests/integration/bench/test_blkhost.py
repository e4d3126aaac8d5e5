# vmm-blkhost (tools/blkhost), the host alone of tools/bench's block rows (issue 68): its line
# for reads and writes through io_uring and synchronously, the bytes it writes landing in the
# file, and clear refusals of bad arguments (status 2) and of a missing or empty file (1).
# labels: bench
# timeout: 60
import re
import subprocess

import pytest

from framework import host, paths

BLKHOST = paths.BUILD_DIR / "vmm-blkhost"
LINE = re.compile(r"^HOST blk_rand(read|write) qd=(\d+) iops=(\d+) requests=(\d+) usec=(\d+) "
                  r"cpu_usec=(\d+) engine=(uring|sync)$", re.M)


@pytest.fixture
def blkhost():
    if not BLKHOST.exists():
        host.skip("missing tool", f"{BLKHOST} not built (liburing missing at configure time)")
    return str(BLKHOST)


def run(*args):
    return subprocess.run([*args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("op,qd,engine", [("read", 1, "uring"), ("read", 32, "uring"),
                                          ("write", 4, "uring"), ("write", 1, "sync")])
def test_line(blkhost, tmp_path, op, qd, engine):
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\x11" * (1 << 20))
    p = run(blkhost, op, str(disk), str(qd), "1", engine)
    assert p.returncode == 0, p.stderr
    m = LINE.search(p.stdout)
    assert m, p.stdout
    assert m.group(1) == op and int(m.group(2)) == qd and m.group(7) == engine
    assert int(m.group(4)) > 0 and int(m.group(3)) > 0 and int(m.group(5)) >= 1_000_000
    data = disk.read_bytes()
    assert len(data) == 1 << 20
    if op == "write":  # its buffers' 0xa5 bytes, 4 KiB-aligned, somewhere in the file
        assert b"\xa5" * 4096 in data
    else:
        assert data == b"\x11" * (1 << 20)


@pytest.mark.parametrize("args", [[], ["read"], ["copy", "F", "1", "1"], ["read", "F", "0", "1"],
                                  ["read", "F", "129", "1"], ["read", "F", "1", "0"],
                                  ["read", "F", "-1", "1"], ["read", "F", "1", "1", "aio"],
                                  ["read", "F", "2", "1", "sync"], ["read", "F", "1x", "1"]])
def test_usage_errors(blkhost, tmp_path, args):
    disk = tmp_path / "F"
    disk.write_bytes(bytes(8192))
    p = run(blkhost, *[str(disk) if a == "F" else a for a in args])
    assert p.returncode == 2 and "usage: vmm-blkhost" in p.stderr, (p.returncode, p.stderr)


def test_file_errors(blkhost, tmp_path):
    small = tmp_path / "small"
    small.write_bytes(bytes(100))
    for path, why in ((tmp_path / "none", "No such file"), (small, "at least 4096 bytes"),
                      (tmp_path, "not a regular file")):
        p = run(blkhost, "read", str(path), "1", "1")
        assert p.returncode == 1 and why in p.stderr, (path, p.returncode, p.stderr)
