"""The hostile guest's disks, devices and host-side check for test_hostile_guest.py (the Python
form of lib/hostile_lib.sh, which fuzz/guest_fuzz.sh and tools/fuzz/guest-fuzz still source).
framework/fuzz_util.py (fuzz/test_guest_fuzz.py's) is its twin: one of them should move into the
shared framework."""
import subprocess
from functools import cache

from framework import paths
from framework.guests import guest_path

SECTORS = 16384
PATTERN_SECTORS = 2048


def make_disk(path):
    """8 MiB: the blk_pattern_fill() pattern ('H', "HST") in sectors 0..2047 (what the guest
    reads back), zeros after."""
    with open(path, "wb") as f:
        f.write(b"".join(b"H%010u-HST\n" % s * 32 for s in range(PATTERN_SECTORS)))
        f.truncate(SECTORS * 512)
    return path


@cache
def net_args():
    """--net user when the VMM has libslirp: it dlopen()s it (virtio/net/slirp_api.c), built
    with its headers (the stub of a build without them says "which this build lacks") and the
    library installed."""
    help_text = subprocess.run([str(paths.VMM), "--help"], capture_output=True, text=True)
    libs = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    if ("user-mode networking" in help_text.stdout + help_text.stderr and "libslirp.so" in libs
            and b"which this build lacks" not in paths.VMM.read_bytes()):
        return ["--net", "user"]
    print(f"note: no libslirp in {paths.VMM}: virtio-net not tested")
    return []


def devices(rw, ro, sock):
    """Every device the guest drives: virtio console, a writable and a read-only disk, rng, a
    balloon with target 0 (refuses every page), the net of net_args(), a vsock whose host
    sockets SOCK_<port> do not exist (its requests are answered with RST)."""
    return ["--console", "virtio", "--disk", str(rw), "--disk", f"{ro},ro", "--rng",
            "--balloon", "size=0", *net_args(), "--vsock", f"cid=3,uds={sock}"]


def run_hostile(vms, transport, seed, rounds, timeout):
    """One run on fresh copies of the pristine disk, to its end (a timeout is a hang: the wait
    fails); returns the Vm."""
    pristine = vms.workdir / "pristine.img"
    if not pristine.exists():
        make_disk(pristine)
    data = pristine.read_bytes()
    (vms.workdir / "rw.img").write_bytes(data)
    (vms.workdir / "ro.img").write_bytes(data)
    words = f"seed={seed} rounds={rounds}" + (" transport=pci" if transport == "pci" else "")
    return vms.run(["--kernel", guest_path("hostile"), "--debug-exit", "--mem", "256M",
                    "--transport", transport,
                    *devices(vms.workdir / "rw.img", vms.workdir / "ro.img",
                             vms.workdir / "v.sock"),
                    "--append", words], timeout=timeout, name=f"vmm-hostile-{transport}-{seed}")


def disks_changed(workdir):
    """What changed that must not: [] when the writable disk's host pattern is intact and the
    read-only disk untouched."""
    why = []
    size = PATTERN_SECTORS * 512
    original = (workdir / "pristine.img").read_bytes()
    if (workdir / "rw.img").read_bytes()[:size] != original[:size]:
        why.append(f"the writable disk's host pattern (sectors 0-{PATTERN_SECTORS - 1}) changed")
    if (workdir / "ro.img").read_bytes() != original:
        why.append("the read-only disk changed")
    return why
