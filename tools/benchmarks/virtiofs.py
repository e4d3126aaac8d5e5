"""virtiofs: the default Linux guest reads a file and creates files on a host folder served by
virtiofsd, ours against QEMU's vhost-user-fs-device."""

import os
import re
import shutil
import subprocess
import time

from .config import MEM, PEERS
from .host_alone import HOST
from .guests import SHELL_ARGS, SHELL_PROMPT, linux_guest
from .runner import rounds
from .vm import LiveVM


VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
FS_FILE_MIB = 256
# One program at a time in the guest (on kvm_pvm a pipeline computes with wrong memory now and
# then: docs/testing.md); /proc/uptime read by the shell itself (10 ms) times each step.
FS_MOUNT = "mkdir -p /mnt; mount -t virtiofs share /mnt && echo FS-MOUNTED"
FS_READ = ("read a x </proc/uptime; dd if=/mnt/big of=/dev/null bs=1M 2>/dev/null; "
           "read b x </proc/uptime; echo FSREAD=$a,$b")
FS_CREATE = ("mkdir /mnt/c; read a x </proc/uptime; i=0; while [ $i -lt {n} ]; do : >/mnt/c/f$i;"
             " i=$((i+1)); done; read b x </proc/uptime; echo FSCREATE=$a,$b")


def host_steps(share, creates):
    """The guest's two steps run by a host shell on the folder itself, no VM and no virtiofsd:
    (read s, create s), timed with date's nanoseconds (the host is too fast for 10 ms)."""
    now = "$(date +%s.%N)"
    got = []
    for line, name in ((FS_READ, "FSREAD"), (FS_CREATE.format(n=creates), "FSCREATE")):
        line = line.replace("/mnt", share).replace("read a x </proc/uptime", f"a={now}")
        p = subprocess.run(["sh", "-c", line.replace("read b x </proc/uptime", f"b={now}")],
                           capture_output=True, timeout=600)
        m = re.search(name.encode() + rb"=([\d.]+),([\d.]+)", p.stdout)
        if p.returncode != 0 or not m:
            raise OSError(f"host {name}: status {p.returncode}: {p.stderr[-200:]!r}")
        got.append(float(m.group(2)) - float(m.group(1)))
    return got


def virtiofs_vm(env, g, impl, sock):
    """The default guest with the folder of `sock` as the virtio-fs tag 'share'."""
    append = g["CMDLINE"] + " " + SHELL_ARGS + " vmmguest.dhcp=0"
    if impl == "vmm":
        cmd = env.vmm_cmd(g["VMLINUX"], append, ["--fs", f"tag=share,socket={sock}"],
                          initrd=g["INITRAMFS"])
    else:  # QEMU needs guest RAM it can share with virtiofsd: a memfd backend of the same size
        cmd = env.qemu_cmd("microvm,acpi=off,memory-backend=ram0", g["VMLINUX"], append, [
            "-object", f"memory-backend-memfd,id=ram0,size={MEM},share=on",
            "-global", "virtio-mmio.force-legacy=false",
            "-chardev", f"socket,id=fs0,path={sock}",
            "-device", "vhost-user-fs-device,chardev=fs0,tag=share"], initrd=g["INITRAMFS"])
    return LiveVM(cmd, {"shell": SHELL_PROMPT}, stdin=True)


def virtiofs_step(vm, line, name, timeout):
    """Types `line`, which ends by echoing NAME=A,B (two /proc/uptime readings): B - A in s."""
    vm.watch_for(name, b"\n" + name.encode() + b"=")
    vm.type(line)
    if vm.wait_seen(name, timeout) is None:
        raise OSError(f"no {name} line within {timeout} s")
    time.sleep(0.2)  # the rest of the line
    m = re.search(rb"\n" + name.encode() + rb"=([\d.]+),([\d.]+)", vm.out)
    if not m:
        raise OSError(f"{name}: no times in the guest's line")
    return float(m.group(2)) - float(m.group(1))


def bench_virtiofs(env, res, a):
    if not os.access(VIRTIOFSD, os.X_OK) or os.geteuid() != 0:
        res.note(f"virtiofs: skipped: needs {VIRTIOFSD} (qemu-system-common) and root")
        return
    g = linux_guest(res)
    if not g:
        return
    impls = [i for i in PEERS["virtiofs"] if i == "vmm" or env.have_qemu] + [HOST]
    creates = 100 if a.quick else 500
    share = os.path.join(env.tmp, "share")
    for i, impl in rounds(impls, a.runs):
        shutil.rmtree(share, ignore_errors=True)
        os.makedirs(share)
        with open(os.path.join(share, "big"), "wb") as f:
            for _ in range(FS_FILE_MIB):
                f.write(os.urandom(1 << 20))
        if impl == HOST:
            try:
                read_s, create_s = host_steps(share, creates)
            except (OSError, subprocess.TimeoutExpired) as e:
                res.fail("virtiofs", impl, str(e))
                continue
            add_rows(res, impl, read_s, creates, create_s)
            continue
        sock = os.path.join(env.tmp, f"fs-{i}{impl}.sock")
        fsd = subprocess.Popen([VIRTIOFSD, f"--socket-path={sock}", "-o", f"source={share}",
                                "-o", "cache=none"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        vm = None
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(sock):
                if time.monotonic() > deadline or fsd.poll() is not None:
                    raise OSError("virtiofsd made no socket")
                time.sleep(0.01)
            vm = virtiofs_vm(env, g, impl, sock)
            if vm.wait_seen("shell", a.boot_timeout) is None:
                raise OSError("no shell")
            vm.watch_for("mounted", b"\nFS-MOUNTED")
            vm.type(FS_MOUNT)
            if vm.wait_seen("mounted", 60) is None:
                raise OSError("the guest did not mount the share")
            read_s = virtiofs_step(vm, FS_READ, "FSREAD", 600)
            create_s = virtiofs_step(vm, FS_CREATE.format(n=creates), "FSCREATE", 600)
        except OSError as e:
            res.fail("virtiofs", impl, str(e), vm.stop() if vm else None)
            continue
        finally:
            if vm:
                vm.stop()
            fsd.terminate()
            fsd.wait()
        add_rows(res, impl, read_s, creates, create_s)
    res.note(f"virtiofs: the default Linux guest mounts a host folder (tag share) served by "
             f"Debian's virtiofsd (a fresh one per VM, -o cache=none) and, one program at a "
             f"time, reads a {FS_FILE_MIB} MiB file with dd bs=1M, then creates {creates} empty "
             "files with the shell's own redirection, each step timed by the guest "
             "(/proc/uptime, 10 ms). Ours --fs tag=share,socket=S; QEMU microvm "
             "vhost-user-fs-device with a shared memfd RAM backend; the same virtiofsd binary "
             "and options. host: the same two steps by a host shell on the folder itself (no "
             "VM, no virtiofsd; the file in the page cache), timed with date +%s.%N.")


def add_rows(res, impl, read_s, creates, create_s):
    res.add("virtiofs", f"sequential read of a {FS_FILE_MIB} MiB file", "MiB/s", "higher",
            impl, FS_FILE_MIB / max(read_s, 0.001))
    res.add("virtiofs", f"file creates ({creates} empty files)", "files/s", "higher", impl,
            creates / max(create_s, 0.001))
