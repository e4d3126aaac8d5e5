"""What test_jail.py and test_jail_launcher.py share: vmm-jail's path, its chroot base, and a
way to run it through the harness (Vm's wrap: the VMM path goes right after --exec or
--exec-file, the other jail options after it, then "--" and the VMM's own)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from framework import host, paths

JAIL = Path(os.environ.get("JAIL") or paths.BUILD_DIR / "vmm-jail")


def require_jail():
    host.require("kvm", "root")
    if not os.access(JAIL, os.X_OK):
        pytest.fail(f"{JAIL} not built")


def jail_base(workdir, name):
    """A chroot base for vmm-jail: WORKDIR/jails, or /srv/NAME-PID when WORKDIR is on a nodev
    mount (device nodes do not open there; a tmpfs /tmp often is one). Removed by remove_base()."""
    options = subprocess.run(["findmnt", "-n", "-o", "OPTIONS", "-T", str(workdir)],
                             capture_output=True, text=True).stdout
    if "nodev" in re.split(r"[,\s]", options):
        return Path(f"/srv/{name}-{os.getpid()}")
    return Path(workdir) / "jails"


def remove_base(base):
    shutil.rmtree(base, ignore_errors=True)


def status_field(pid, name):
    """NAME's value in /proc/PID/status ("" when absent)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
    found = re.search(rf"^{name}:\t?(.*)$", text, re.M)
    return found.group(1) if found else ""


def firecracker_args_re(jail_id, first):
    """The VMM's command line as Firecracker's jailer makes it, then FIRST."""
    return (rf"^/vmm --id {re.escape(jail_id)} --start-time-us [0-9]+ --start-time-cpu-us 0 "
            rf"--parent-cpu-time-us [0-9]+ {first}")


def cmdline(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
