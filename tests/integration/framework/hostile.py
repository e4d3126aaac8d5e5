"""The hostile test guest's runs (tests/guests/hostile.c) in the harness: its disks, its devices
and the host-side check of its disks. Used by security/test_hostile_guest.py,
fuzz/test_guest_fuzz.py and tools/fuzz/guest-fuzz.

  make_disk(path)          8 MiB: the blk_pattern_fill() pattern ('H', "HST") in sectors 0..2047
                           (what the guest reads back), zeros after
  net_args(vms)            ["--net", "user"] when the VMM has libslirp, else [] (with a note);
                           its --help runs through VMS, once per process
  devices(rw, ro, sock, net)  the VMM options of every device the guest drives: virtio console, a
                           writable and a read-only disk, rng, a balloon with target 0 (refuses
                           every page), the net of net_args, a vsock whose host sockets
                           SOCK_<port> do not exist (its requests are answered with RST)
  disks_changed(rw, ro, pristine)  what changed that must not: [] when RW's host pattern is
                           intact and RO is untouched
  Hostile(vms)             a pristine disk and the net options, once; .run(transport, seed,
                           append, rounds) one run on fresh copies of the disk
"""
import subprocess

from . import paths
from .guests import guest_path

SECTORS = 16384
PATTERN_SECTORS = 2048


def make_disk(path):
    data = b"".join(b"H%010u-HST\n" % s * 32 for s in range(PATTERN_SECTORS))
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(SECTORS * 512)
    return path


_net_args = None


def net_args(vms):
    # The VMM dlopen()s libslirp (virtio/net/slirp_api.c): built with its headers (the stub of a
    # build without them says "which this build lacks") and the library installed.
    global _net_args
    if _net_args is None:
        help_run = vms.run(["--help"], name="vmm-help")
        libs = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
        if ("user-mode networking" in help_run.out + help_run.err and "libslirp.so" in libs
                and b"which this build lacks" not in paths.VMM.read_bytes()):
            _net_args = ["--net", "user"]
        else:
            _net_args = []
    if not _net_args:
        print(f"note: no libslirp in {paths.VMM}: virtio-net not tested")
    return _net_args


def devices(rw, ro, sock, net):
    return ["--console", "virtio", "--disk", str(rw), "--disk", f"{ro},ro", "--rng",
            "--balloon", "size=0", *net, "--vsock", f"cid=3,uds={sock}"]


def disks_changed(rw, ro, pristine):
    why = []
    size = PATTERN_SECTORS * 512
    original = pristine.read_bytes()
    if rw.read_bytes()[:size] != original[:size]:
        why.append(f"the writable disk's host pattern (sectors 0-{PATTERN_SECTORS - 1}) changed")
    if ro.read_bytes() != original:
        why.append("the read-only disk changed")
    return why


class Hostile:
    """The hostile guest's runs of one test (in VMS's folder)."""

    def __init__(self, vms):
        self.vms = vms
        self.pristine = make_disk(vms.workdir / "pristine.img")
        self.rw = vms.workdir / "rw.img"
        self.ro = vms.workdir / "ro.img"

    def run(self, transport, seed, append, rounds, timeout=60):
        """One run on fresh copies of the disk, to its end (a timeout is a hang: the wait
        fails)."""
        words = f"seed={seed} rounds={rounds} {append}"
        if transport == "pci":
            words += " transport=pci"
        data = self.pristine.read_bytes()
        self.rw.write_bytes(data)
        self.ro.write_bytes(data)
        return self.vms.run(["--kernel", guest_path("hostile"), "--debug-exit", "--mem", "256M",
                             "--transport", transport,
                             *devices(self.rw, self.ro, self.vms.workdir / "v.sock",
                                     net_args(self.vms)),
                             "--append", words], timeout=timeout,
                            name=f"vmm-hostile-{transport}-{seed}")

    def disks_changed(self):
        return disks_changed(self.rw, self.ro, self.pristine)
