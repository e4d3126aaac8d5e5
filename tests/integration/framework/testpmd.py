"""dpdk-testpmd as the tests' vhost-user-net back-end (Debian's dpdk package): its vhost-user
port serves SOCK and loops what it gets (macswap: a frame sent on tx comes back on rx with its
MACs swapped).

No huge pages, no PCI, a small mbuf pool, both of its lcores on the first CPU this test may use
(a one-CPU runner works too), an EAL prefix of its own per start (runs side by side do not
collide, and a restarted one reuses nothing of a killed one's runtime files: with a shared prefix
one once failed "Cannot init memzone"); --stats-period keeps it running without a terminal.

It polls its port without pause, so it wants a whole CPU for as long as it runs: at nice 0, on
the CI host's two CPUs beside its own guest and the test in the other slot, it left those two a
CPU between them (and a boot of the default guest under such a load took several times as long,
guest-images/README.md, rodata=off). At nice NICE it still gets a slice every few tens of
milliseconds while others run, and the whole CPU while they wait.
"""
import os
import shutil
from pathlib import Path

from . import host
from .proc import wait_until

TESTPMD = os.environ.get("TESTPMD", "dpdk-testpmd")
NICE = 10


def available():
    return host.has(TESTPMD)


def require():
    """Skips the test when testpmd is not installed."""
    if not available():
        host.skip("no vhost-user back-end", f"{TESTPMD} not installed (dpdk)")


def argv(sock, prefix):
    """The command line serving SOCK, its EAL runtime files under PREFIX."""
    cpu = min(os.sched_getaffinity(0))
    return ["nice", "-n", str(NICE), TESTPMD, "--lcores", f"0@{cpu},1@{cpu}", "--no-huge",
            "-m", "256", "--no-pci", f"--file-prefix={prefix}", "--vdev",
            f"net_vhost0,iface={sock},queues=1", "--", "--port-topology=loop",
            "--forward-mode=macswap", "--nb-cores=1", "--total-num-mbufs=4096",
            "--stats-period=60"]


def start(vms, sock, prefix, name="testpmd"):
    """Starts it through VMS (stopped with the test's runs) and waits for its socket. A stale
    socket is removed first: DPDK does not."""
    sock = Path(sock)
    sock.unlink(missing_ok=True)
    proc = vms.process(argv(sock, prefix), name=name)
    wait_until(sock.exists, 10, "testpmd's socket", alive=proc.alive)
    return proc


def cleanup(prefix):
    """Removes the EAL runtime files of every start under PREFIX (PREFIX*)."""
    for runtime in Path("/var/run/dpdk").glob(f"{prefix}*"):
        shutil.rmtree(runtime, ignore_errors=True)
