"""boot: the default Linux guest to 'Run /init' and to its shell prompt on the serial console."""

from .config import PEER_VMM
from .guests import SHELL_ARGS, SHELL_PROMPT, linux_guest
from .runner import available, rounds
from .vm import boot_timer_report, run_vm


def bench_boot(env, res, a):
    impls = available(env, res, "boot", [])
    g = linux_guest(res) if impls else None
    if not g:
        return
    timeout = a.boot_timeout
    for _, impl in rounds(impls, a.runs):
        cmd = env.cmd(impl, g["VMLINUX"], g["CMDLINE"] + " " + SHELL_ARGS, initrd=g["INITRAMFS"])
        r = run_vm(cmd, {"init": b"Run /init", "shell": SHELL_PROMPT}, stop_at="shell",
                   timeout=timeout)
        if "init" not in r.seen:
            res.fail("boot", impl, f"no 'Run /init' within {timeout} s", r)
            continue
        res.add("boot", "launch to 'Run /init' on serial", "s", "lower", impl, r.seen["init"] / 1e9)
        if "shell" not in r.seen:
            res.fail("boot", impl, f"no shell prompt within {timeout} s", r)
            continue
        res.add("boot", "launch to the shell prompt", "s", "lower", impl, r.seen["shell"] / 1e9)
        if impl not in ("vmm", PEER_VMM):
            continue
        rep = boot_timer_report(r.err)
        if rep.get("to-run-init-us") is not None:
            res.add("boot", "main() to 'Run /init' (--boot-timer)", "s", "lower", impl,
                    rep["to-run-init-us"] / 1e6)
        if rep.get("setup-to-first-run-us") is not None:
            res.add("boot", "main() to first KVM_RUN", "ms", "lower", impl,
                    rep["setup-to-first-run-us"] / 1e3)
    res.note("boot: default Linux guest (vmlinux + initramfs, PVH entry), command line "
             f"'{g['CMDLINE']} {SHELL_ARGS}', serial console on (the lines are read from it); "
             "QEMU -M microvm,acpi=off. /init prints what the guest sees, then starts a shell; "
             "each VM is stopped with SIGTERM once the prompt is read.")
