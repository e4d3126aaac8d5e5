"""The default Linux guest (guest-images/build.sh --print-env) and typing a step into its shell."""

import os
import subprocess

from .config import ROOT


def guest_step(vm, line, marker, timeout):
    """Types `line`, then `echo MARKER` written so that the console's echo of the typed line
    (which the terminal may wrap anywhere) cannot match it, and waits for the marker's line;
    False on timeout."""
    vm.watch_for(marker, b"\n" + marker.encode())
    vm.type(f'{line}; echo {marker[0]}""{marker[1:]}')
    return vm.wait_seen(marker, timeout) is not None


def linux_guest(res):
    """VMLINUX, BZIMAGE, INITRAMFS, CMDLINE, KERNEL_CONFIG of the default Linux guest (built on a cache
    miss)."""
    names = ["VMLINUX", "BZIMAGE", "INITRAMFS", "CMDLINE", "KERNEL_CONFIG", "DISK"]
    script = ('eval "$("$1" --print-env)" && printf "%s\\0" ' +
              " ".join(f'"${n}"' for n in names))
    try:
        out = subprocess.run(["bash", "-c", script, "bench",
                              os.path.join(ROOT, "guest-images/build.sh")],
                             capture_output=True, text=True, timeout=1800, check=True).stdout
    except (subprocess.SubprocessError, OSError) as e:
        res.fail("boot", "setup", f"guest-images/build.sh --print-env failed: {e}")
        return None
    return dict(zip(names, out.split("\0")))


# /init of the default guest opens a shell on the console and its prompt ends the boot row.
SHELL_ARGS = "vmmguest.shell=1"
SHELL_PROMPT = b"vmmguest:/root# "
