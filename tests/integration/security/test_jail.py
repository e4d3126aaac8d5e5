# vmm-jail (tools/vmm-jail) runs the VMM jailed, as uid/gid 65534:
#  1. the hello guest passes through the jail (its TEST PASS and debug-exit status 1);
#  2. a guest that waits for ever (halt.irq=1) is inspected from outside while it runs: the
#     VMM's root holds only the jail's entries (its /vmm is the very binary, /dev/kvm a device
#     node with the host's numbers owned by 65534), no host mount is left in its mount table,
#     its uids/gids are 65534 with no groups and no_new_privs, it is PID 1 of its PID
#     namespace, has its own mount/IPC/UTS (hostname = id) namespaces and --netns's network,
#     sits in the jail's cgroups with pids.max written, serves its API on the jail's /run and
#     did not inherit an open file of ours; SIGTERM
#     to vmm-jail stops it (status 143) and the jail's folder and cgroups are removed;
#     every thread of the VMM has an empty capability bounding set;
#  2b. Firecracker's jailer flags (--exec-file, --chroot-base-dir, --parent-cgroup,
#     --resource-limit, --daemonize, --new-pid-ns): vmm.pid in the jail, exit 0 at once, the API
#     on /run/firecracker.socket, uid/gid, root, cgroup, netns and limits checked from outside;
#  3. bad command lines (a controller the host lacks, a --file mode that is none) exit 2 with
#     one line before anything is made; setup failures (a file 65534 cannot read, a jail used
#     before) exit 1 or 2 with a message, and leave nothing, the chroot base they made included;
#     an existing root with the caller's files is reused (the hello guest runs from it) and
#     keeps them.
# Sections 1-2 also check what the VMM gets as Firecracker's does: --id ID --start-time-us ...
# first in its arguments, GET / naming the id, <root>/vmm.pid without --new-pid-ns.
# vmm-jail runs through the harness as a helper process (vms.process): it starts the VMM.
# labels: sandbox
# requires: kvm root
# timeout: 180
import glob
import os
import re
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from framework import paths
from framework.api import Api
from framework.guests import expect_output, expect_pass, guest_path
from framework.proc import open_fds, wait_until
from jail_util import (JAIL, cmdline, firecracker_args_re, jail_base, remove_base,
                       require_jail, status_field)

VMM = str(paths.VMM)
ID = f"t{os.getpid()}"


def findmnt(*args):
    return subprocess.run(["findmnt", "-n", *args], capture_output=True,
                          text=True).stdout.splitlines()


CG2 = (findmnt("-t", "cgroup2", "-o", "TARGET") or [""])[0]


def cgroup_dir(pid, controller):
    """The folder of PID's cgroup holding CONTROLLER (v1 hierarchy or cgroup2), from
    /proc/PID/cgroup and the mount table."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    v1 = [line for line in lines if re.match(rf"^\d+:([^:]*,)?{controller}(,[^:]*)?:", line)]
    if v1:
        line, mnt = v1[0], (findmnt("-t", "cgroup", "-O", controller, "-o", "TARGET") or [""])[0]
    else:
        line, mnt = next(x for x in lines if x.startswith("0::")), CG2
    return mnt + line.split(":", 2)[2]


@pytest.fixture(scope="module")
def env(module_vms):
    """The chroot base, a network namespace for --netns (when ip can make one)."""
    require_jail()
    base = jail_base(module_vms.workdir, "vmm-jail-test")
    ns = f"vmmjail-{os.getpid()}"
    made = shutil.which("ip") and \
        subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode == 0
    yield base, (["--netns", f"/var/run/netns/{ns}"] if made else []), ns
    if made:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    remove_base(base)
    remove_base(Path(f"{base}-fresh"))


def jail(vms, *args, name="vmm-jail", child=False, **kw):
    """vmm-jail ARGS through the harness. CHILD: as a shell's child, since the harness starts
    each process as the leader of its own session and group, and --daemonize's setsid() needs
    a vmm-jail that leads none ("; exit" keeps the shell from exec'ing it)."""
    argv = [JAIL, *map(str, args)]
    if child:
        argv = ["sh", "-c", '"$@"; exit $?', "sh", *argv]
    return vms.process(argv, name=name, **kw)


def same_ns(pid, path):
    return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(path).st_ino


def test_hello_through_the_jail(vms, env):
    base = env[0]
    run = jail(vms, "--id", f"{ID}-hello", "--exec", VMM, "--uid", "65534", "--gid", "65534",
               "--chroot-base", base, "--cgroup", "pids.max=64", "--file",
               f"{guest_path('hello')}:/hello.elf", "--", "--kernel", "/hello.elf",
               "--debug-exit", "--console", "stdio", "--append", "hello=1")
    run.status = run.wait(60)
    expect_pass(run)
    expect_output(run, r"^hello from the test guest$")
    assert not (base / "vmm" / f"{ID}-hello").exists(), "jail folder left"
    if CG2:
        assert not os.path.exists(f"{CG2}/vmm/{ID}-hello"), f"cgroup2 vmm/{ID}-hello left"


def test_running_jail_from_outside(vms, env):
    base, netns, ns = env
    # An open file of ours handed to vmm-jail (bash's fd 9): the VMM must not inherit it.
    fd = os.open(paths.SOURCE_DIR / "README.md", os.O_RDONLY)
    try:
        run = jail(vms, "--id", ID, "--exec", VMM, "--uid", "65534", "--gid", "65534",
                   "--chroot-base", base, "--cgroup", "pids.max=64", *netns, "--file",
                   f"{guest_path('halt')}:/halt.elf", "--", "--kernel", "/halt.elf", "--append",
                   "halt.irq=1", "--console", "stdio", "--api-sock", "/run/api.sock",
                   pass_fds=(fd,))
    finally:
        os.close(fd)

    def child():
        found = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True,
                               text=True).stdout.split()
        return found[0] if found else None
    run.wait_out(r"^halting", 30)  # the guest runs in the jail
    vmm_pid = wait_until(child, 10, "a VMM process under vmm-jail", alive=run.alive)
    root = f"/proc/{vmm_pid}/root"
    entries = sorted(os.listdir(root))
    assert entries == ["dev", "etc", "halt.elf", "lib", "lib64", "run", "vmm", "vmm.pid"], \
        f"jail root entries: {entries}"
    want_dev = ["kvm", "net", "null", "urandom"] + \
        (["userfaultfd"] if os.path.exists("/dev/userfaultfd") else [])
    assert sorted(os.listdir(f"{root}/dev")) == want_dev, f"jail /dev: {os.listdir(root + '/dev')}"
    with open(f"{root}/vmm", "rb") as a, open(VMM, "rb") as b:
        assert a.read() == b.read(), "/vmm in the jail is not $VMM (hard-linked or copied)"
    kvm, host_kvm = os.stat(f"{root}/dev/kvm"), os.stat("/dev/kvm")
    assert stat.S_ISCHR(kvm.st_mode) and kvm.st_rdev == host_kvm.st_rdev and \
        kvm.st_uid == 65534 and stat.S_IMODE(kvm.st_mode) == 0o600, f"/dev/kvm in the jail: {kvm}"
    allowed = re.compile(r"^/(vmm|halt\.elf|etc/ld\.so\.cache|lib/[^/]+/[^/]+|lib64/[^/]+)?$")
    mountinfo = Path(f"/proc/{vmm_pid}/mountinfo").read_text().splitlines()
    mounts = [line.split()[4] for line in mountinfo]
    assert not [m for m in mounts if not allowed.match(m)], \
        f"host mounts in the VMM's table: {mounts}"
    assert status_field(vmm_pid, "Uid") == "65534\t65534\t65534\t65534" and \
        status_field(vmm_pid, "Gid") == "65534\t65534\t65534\t65534" and \
        status_field(vmm_pid, "Groups").strip() == "", "uids and gids 65534, no groups"
    assert status_field(vmm_pid, "NoNewPrivs") == "1", "no_new_privs not set"
    bounding = {re.search(r"^CapBnd:\s*(\S+)", Path(t).read_text(), re.M).group(1)
                for t in glob.glob(f"/proc/{vmm_pid}/task/*/status")}
    assert bounding == {"0000000000000000"}, f"bounding sets of its threads: {bounding}"
    assert status_field(vmm_pid, "NSpid").split()[1:] == ["1"], \
        f"PID in its namespace: {status_field(vmm_pid, 'NSpid')}"
    for kind in ("mnt", "ipc", "uts", "pid"):
        assert os.readlink(f"/proc/{vmm_pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}"), \
            f"no own {kind} namespace"
    hostname = subprocess.run(["nsenter", "-t", vmm_pid, "-u", "hostname"], capture_output=True,
                              text=True).stdout.strip()
    assert hostname == ID, f"hostname in its UTS namespace: {hostname}"
    if netns:
        assert same_ns(vmm_pid, f"/var/run/netns/{ns}"), "not in the --netns namespace"
    if CG2:
        assert f"0::/vmm/{ID}" in Path(f"/proc/{vmm_pid}/cgroup").read_text().splitlines(), \
            f"not in cgroup2 vmm/{ID} (--parent-cgroup defaults to the exec file's name)"
    pids_dir = cgroup_dir(vmm_pid, "pids")
    assert pids_dir.endswith(f"/vmm/{ID}") and \
        Path(pids_dir, "pids.max").read_text().strip() == "64", f"pids cgroup {pids_dir}"
    got = Api(base / "vmm" / ID / "root" / "run" / "api.sock").want(200, "GET", "/").body
    assert '"Running"' in got, f"the API in the jail's /run: {got}"
    assert f'"id":"{ID}"' in got, f"GET / names not the jail's id (--id passed on): {got}"
    assert (base / "vmm" / ID / "root" / "vmm.pid").read_text().strip() == vmm_pid, \
        "vmm.pid names not the VMM (without --new-pid-ns)"
    assert re.match(firecracker_args_re(ID, "--kernel"), cmdline(vmm_pid)), \
        f"the VMM's arguments: {cmdline(vmm_pid)[:110]}"
    assert not [fd for fd in open_fds(vmm_pid).values() if fd.endswith("README.md")], \
        "our open file was passed on"

    run.signal(signal.SIGTERM)
    status = run.wait(30)
    assert status == 143, f"vmm-jail: status {status}, want 143\n{run.tail()}"
    assert "stopping on signal 15" in run.err, "the VMM did not get the SIGTERM"
    assert not (base / "vmm" / ID).exists(), "jail folder left"
    assert not os.path.exists(pids_dir) and not (CG2 and os.path.exists(f"{CG2}/vmm/{ID}")), \
        "jail cgroups left"


def test_firecracker_flags(vms, env):
    """Firecracker's jailer command line, as its launchers give it. --new-pid-ns: vmm-jail
    writes the VMM's PID to <root>/vmm.pid and exits 0 at once (the jail is then ours to
    remove, as with Firecracker's jailer); --daemonize; the API socket at Firecracker's default
    place; the uid/gid, the chroot, the cgroup under --parent-cgroup, the network namespace and
    the resource limits checked from outside."""
    base, netns, ns = env
    fcid = f"fc-{os.getpid()}"
    froot = base / "vmm" / fcid / "root"
    parent = f"vmmtest-{os.getpid()}"
    run = jail(vms, "--id", fcid, "--exec-file", VMM, "--uid", "65534", "--gid", "65534",
               "--chroot-base-dir", base, "--parent-cgroup", f"{parent}/uvms", "--cgroup",
               "pids.max=64", "--resource-limit", "no-file=1000", "--resource-limit",
               "fsize=1000000000", *netns, "--daemonize", "--new-pid-ns", "--",
               "--api-sock", "/run/firecracker.socket", child=True)
    fc_pid, fc_pids = None, None
    try:
        status = run.wait(60)
        assert status == 0, f"status {status}, want 0\n{run.tail()}"
        fc_pid = (froot / "vmm.pid").read_text().strip()
        assert fc_pid and os.path.isdir(f"/proc/{fc_pid}"), "vmm.pid names no running VMM"
        api = Api(froot / "run" / "firecracker.socket", timeout=10)
        api.wait_ready(5)
        assert '"state"' in api.want(200, "GET", "/").body
        assert status_field(fc_pid, "Uid") == "65534\t65534\t65534\t65534" and \
            status_field(fc_pid, "Gid") == "65534\t65534\t65534\t65534", "uid and gid 65534"
        assert os.stat(f"/proc/{fc_pid}/root")[1:3] == os.stat(froot)[1:3], \
            f"its root is not {froot}"
        assert (os.stat(froot).st_uid, os.stat(froot).st_gid) == (65534, 65534), \
            "the jail's root is not 65534's"
        fc_pids = cgroup_dir(fc_pid, "pids")
        assert fc_pids.endswith(f"/{parent}/uvms/{fcid}") and \
            Path(fc_pids, "pids.max").read_text().strip() == "64", \
            f"pids cgroup {fc_pids} (under --parent-cgroup)"
        if netns:
            assert same_ns(fc_pid, f"/var/run/netns/{ns}"), "not in the --netns namespace"
        limits = Path(f"/proc/{fc_pid}/limits").read_text()
        assert re.search(r"^Max open files +1000 +1000", limits, re.M) and \
            re.search(r"^Max file size +1000000000 +1000000000", limits, re.M), limits
        assert status_field(fc_pid, "NSpid").split()[1:] == ["1"], "not PID 1 of its namespace"
        assert os.getsid(int(fc_pid)) != os.getsid(0), "--daemonize: the same session"
        # the launcher's order: the kernel put into the jail, the API calls, InstanceStart
        shutil.copyfile(guest_path("halt"), froot / "halt.elf")
        os.chmod(froot / "halt.elf", 0o644)
        api.want(204, "PUT", "/boot-source", {"kernel_image_path": "/halt.elf",
                                              "boot_args": "halt.irq=1"})
        api.want(204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
        api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})
        got = api.want(200, "GET", "/").body
        assert '"Running"' in got, got
    finally:
        if fc_pid and os.path.isdir(f"/proc/{fc_pid}"):
            os.kill(int(fc_pid), signal.SIGTERM)
            wait_until(lambda: not os.path.isdir(f"/proc/{fc_pid}"), 5, "the daemonized VMM's end")
        shutil.rmtree(base / "vmm" / fcid, ignore_errors=True)
        try:
            (base / "vmm").rmdir()
        except OSError:
            pass
        tops = [CG2] + ([fc_pids[:-len(f"/{parent}/uvms/{fcid}")]] if fc_pids else [])
        for top in filter(None, tops):
            for d in (f"{parent}/uvms/{fcid}", f"{parent}/uvms", parent):
                try:
                    os.rmdir(f"{top}/{d}")
                except OSError:
                    pass


def refused(vms, want, regex, *args):
    """vmm-jail ARGS exits WANT saying REGEX on stderr; returns the run."""
    run = jail(vms, *args)
    status = run.wait(60)
    assert status == want, f"vmm-jail {args}: status {status}, want {want}\n{run.tail()}"
    assert re.search(regex, run.err, re.M), f"stderr lacks /{regex}/\n{run.tail()}"
    return run


def one_line(run):
    """Exactly one "vmm-jail:" line on stderr."""
    lines = [line for line in run.err.splitlines() if line.startswith("vmm-jail:")]
    assert len(lines) == 1, f"want one line: {run.err}"


@pytest.fixture(scope="module")
def secret(module_vms):
    path = module_vms.workdir / "secret.elf"
    shutil.copyfile(guest_path("hello"), path)
    os.chmod(path, 0o600)
    return path


def common(base):
    return ["--exec", VMM, "--uid", "65534", "--gid", "65534", "--chroot-base", base]


def test_bad_command_lines(vms, env, secret):
    c = common(env[0])
    refused(vms, 2, "are required")
    refused(vms, 2, "only letters", "--id", "a/b", *c, "--", "--kernel", "/x")
    refused(vms, 2, "only letters, digits and", "--id", "..", *c)
    refused(vms, 2, "only letters, digits and", "--id", "vm_1", *c)
    refused(vms, 2, "unknown resource", "--id", "x", *c, "--resource-limit", "cpu=1")
    refused(vms, 2, "want 1 or 2", "--id", "x", *c, "--cgroup-version", "3")
    refused(vms, 2, "want a relative path", "--id", "x", *c, "--parent-cgroup", "/abs")
    refused(vms, 2, "unknown option --bogus", "--id", "x", "--bogus", *c)
    refused(vms, 2, "not a uid/gid", "--id", "x", "--exec", VMM, "--uid", "0", "--gid", "65534")
    refused(vms, 2, "CONTROLLER.FILE=VALUE", "--id", "x", *c, "--cgroup", "pids")
    refused(vms, 2, "--file /nonexistent/f: No such file", "--id", "x", *c, "--file",
            "/nonexistent/f")
    refused(vms, 2, "VMM arguments go after --", "--id", "x", *c, "--kernel", "/x")
    refused(vms, 2, "65534:65534 cannot read", "--id", f"{ID}-secret", *c, "--file", secret,
            "--", "--kernel", "/secret.elf", "--debug-exit")


def test_refused_before_anything_is_made(vms, env, secret):
    """A controller the host lacks and a --file mode that is none: bad command lines, said in
    one line before anything is made (no chroot base); a set-up that fails once the tree is made
    (a file 65534 cannot read) removes the chroot base it made."""
    base = env[0]
    fresh = Path(f"{base}-fresh") / "base"
    jailer = ["--exec", VMM, "--uid", "65534", "--gid", "65534", "--chroot-base", fresh]
    one_line(refused(vms, 2, 'controller "bogus" is not available', "--id", f"{ID}-cg", *jailer,
                     "--cgroup", "bogus.file=1", "--", "--kernel", "/x"))
    refused(vms, 2, 'controller "nosuchctl" is not available', "--id", f"{ID}-cg",
            *common(base), "--cgroup", "nosuchctl.max=1", "--", "--kernel", "/x")
    one_line(refused(vms, 2, r'"rx" is not a mode \(ro or rw\)', "--id", f"{ID}-rx", *jailer,
                     "--file", f"{guest_path('hello')}:/h:rx", "--", "--kernel", "/h"))
    one_line(refused(vms, 2, "65534:65534 cannot read", "--id", f"{ID}-secret2", *jailer,
                     "--file", secret, "--", "--kernel", "/secret.elf", "--debug-exit"))
    assert not Path(f"{base}-fresh").exists(), "a chroot base left behind by the failed jails"


def test_existing_root(vms, env):
    """An existing root is reused as Firecracker's jailer does: the caller's files in it stay
    (a launcher may put the kernel there first), what vmm-jail made goes; a root that still
    holds a jail's device nodes (it ran there before and was not removed) is refused, as
    Firecracker's jailer's mknod fails then."""
    base = env[0]
    busy = base / "vmm" / f"{ID}-busy" / "root"
    (busy / "keep").mkdir(parents=True)
    shutil.copyfile(guest_path("hello"), busy / "hello.elf")
    os.chmod(busy / "hello.elf", 0o644)
    run = jail(vms, "--id", f"{ID}-busy", *common(base), "--", "--kernel", "/hello.elf",
               "--debug-exit", "--console", "stdio", "--append", "hello=1")
    run.status = run.wait(60)
    expect_pass(run)
    assert sorted(os.listdir(busy)) == ["hello.elf", "keep"], \
        f"the caller's files stay, vmm-jail's go: {os.listdir(busy)}"
    (busy / "dev").mkdir(exist_ok=True)
    os.mknod(busy / "dev" / "kvm", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    refused(vms, 1, "ran here before", "--id", f"{ID}-busy", *common(base), "--", "--kernel",
            "/hello.elf")
    assert (busy / "keep").is_dir() and stat.S_ISCHR(os.stat(busy / "dev" / "kvm").st_mode), \
        "a used jail was not left as it was"
    shutil.rmtree(base / "vmm" / f"{ID}-busy")
    try:
        (base / "vmm").rmdir()
    except OSError:
        pass


def test_nothing_left(env):
    """Refused jails left nothing in the chroot base; no cgroup of these jails is left (this
    test's only: another test's jail, run beside it by ctest -j, may hold the shared vmm/
    cgroup meanwhile)."""
    base = env[0]
    left = os.listdir(base) if base.exists() else []
    assert not left, f"left in the chroot base: {left}"
    if CG2:
        left_cg = glob.glob(f"{CG2}/vmm/{ID}*")
        assert not left_cg, f"cgroups of these jails left: {left_cg}"
