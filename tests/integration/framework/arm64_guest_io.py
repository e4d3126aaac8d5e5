"""The host's side, in the arm64 L1, of the default guest's exchanges with its host
(framework/arm64_default_guest.py; x86's are userspace_checks.py's): around one boot of the VMM,
in L1's busybox sh:
  hostfwd  the VMM's --net user,hostfwd=tcp::FWD_PORT-:ECHO_PORT; once the guest's net check says
           it listens (vmmguest.net.echo=ECHO_PORT: nc -l -e md5sum), busybox nc in L1 sends
           ECHO_SIZE random bytes to 127.0.0.1:FWD_PORT (libslirp forwards them to the guest) and
           the guest's answer must be their MD5
  vsock    the guest's vsock check connects to the host's port VSOCK_PORT
           (vmmguest.vsock.port): the VMM connects it to its Unix socket's PATH_VSOCK_PORT, where
           tests/integration/lib/linux_vsock_host.c (cross-built by prepare(): L1's busybox has no
           AF_UNIX program) reads the guest's greeting and VSOCK_BYTES pattern bytes and answers
           "OK ... intact", which the guest prints
  shell    the VMM's stdin is a fifo; at the guest's shell prompt on the PL011 (vmmguest.shell=1)
           L1 types a command (again, up to 3 times, if nothing came of it) whose output the
           console must show, then `poweroff`
A failed exchange kills the VMM rather than leave the guest waiting for the boot's timeout.
"""
import hashlib
import os
import re
import shlex
import subprocess

from framework import arm64_l1, paths

VSOCK_HOST = paths.SOURCE_DIR / "tests" / "integration" / "lib" / "linux_vsock_host.c"
FWD_PORT = 18080  # in L1, which is a machine of its own: no other test's port
ECHO_PORT = 8080
ECHO_SIZE = 65536
VSOCK_PORT = 1234
VSOCK_BYTES = 100000  # vsock.sh's default
TYPED = "echo typed-$((6 * 7)) on $(tty)"
LISTENING = "VMM-GUEST-NET-ECHO: listening"
TIMEOUT = 600  # each boot's, from the VMM's start

# The shell functions the lines of around() use (busybox sh). A write to the fifo of a VMM that
# has ended must fail, not end the part's shell (SIGPIPE).
FUNCTIONS = [
    "trap '' PIPE",
    arm64_l1.WAITFOR,
    # hostfwd_echo REPLY: the bytes to the guest through hostfwd, its answer in REPLY; again
    # while the answer is empty (libslirp resets the connection until the guest's nc listens)
    'hostfwd_echo() { i=0; while [ $i -lt 50 ]; do nc 127.0.0.1 '
    f'{FWD_PORT} <defguest-echo.bin >"$1" 2>/dev/null; [ -s "$1" ] && return 0; i=$((i+1)); '
    'sleep 0.2; done; return 1; }',
    # type_at LOG: the command at the prompt, until its output is in LOG; then poweroff
    f'type_at() {{ for i in 1 2 3; do echo {shlex.quote(TYPED)} >&3; '
    'waitfor "$1" "typed-42 on /dev/" $pid 100 && break; done; echo poweroff >&3; }',
    # waitend PID TENTHS: PID's end, or kill it after TENTHS tenths of a second
    'waitend() { i=0; while kill -0 "$1" 2>/dev/null; do i=$((i+1)); '
    '[ $i -gt "$2" ] && { kill "$1"; return 1; }; sleep 0.1; done; }',
]


def prepare(work):
    """The bytes the hostfwd echo sends, the vsock helper (cross-built); returns the ctx
    entries check() needs."""
    echo = os.urandom(ECHO_SIZE)
    (work / "defguest-echo.bin").write_bytes(echo)
    cc = subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                         str(work / "linux_vsock_host"), str(VSOCK_HOST)],
                        capture_output=True, text=True)
    assert cc.returncode == 0, "linux_vsock_host does not build:\n" + cc.stderr
    return {"echo_md5": hashlib.md5(echo).hexdigest()}


def vmm_options(uds):
    """The VMM's options of a boot with the exchanges (after its --transport), UDS its vsock's
    Unix socket."""
    return f"--net user,hostfwd=tcp::{FWD_PORT}-:{ECHO_PORT} --vsock cid=5,uds={uds}"


def cmdline():
    """What the guest's command line needs for the exchanges."""
    return (f" vmmguest.net.echo={ECHO_PORT} vmmguest.vsock.port={VSOCK_PORT}"
            f" vmmguest.vsock.bytes={VSOCK_BYTES} vmmguest.shell=1")


def around(name, uds, boot):
    """L1's lines that run BOOT (the VMM's command line, its socket UDS) with the exchanges: the
    console in NAME.log, the VMM's log in NAME.err, the VMM's status in $st afterwards; the
    helper's output in NAME.vsock, the guest's echo answer in NAME.echo."""
    fifo = f"/tmp/{name}.in"
    wait_up = TIMEOUT * 10
    return [
        f"./linux_vsock_host {uds}_{VSOCK_PORT} >{name}.vsock 2>&1 & vh=$!",
        f"waitfor {name}.vsock ready $vh 100",
        f"mkfifo {fifo}",
        f"timeout {TIMEOUT} {boot} <{fifo} >{name}.log 2>{name}.err & pid=$!",
        f"exec 3>{fifo}",
        # (a guest at its shell without having listened skipped or failed its net check)
        f'waitfor {name}.log "{LISTENING}|VMM-GUEST-SHELL: starting" $pid {wait_up}',
        f'! grep -q "{LISTENING}" {name}.log || hostfwd_echo {name}.echo || kill $pid',
        f'waitfor {name}.log "vmmguest:.*# " $pid {wait_up} && type_at {name}.log',
        f"waitend $pid {wait_up}; wait $pid; st=$?",
        f"exec 3>&-; rm -f {fifo}",
        "kill $vh 2>/dev/null; wait $vh",
    ]


def _expect(bad, text, what, regex):
    if not re.search(regex, text, re.M):
        bad.append(f"{what}: no /{regex}/")


def check(work, name, log, ctx):
    """What the exchanges of boot NAME must have left: a list of what failed."""
    bad = []
    reply = work / f"{name}.echo"
    got = reply.read_text(errors="replace").split() if reply.exists() else []
    if got[:1] != [ctx["echo_md5"]]:
        bad.append(f"host -> guest through hostfwd: sent MD5 {ctx['echo_md5']}, the guest "
                   f"answered {got[:1] or 'nothing'}")
    _expect(bad, log, "the guest's echo served", r"VMM-GUEST-NET-ECHO: served")
    vsock = work / f"{name}.vsock"
    helper = vsock.read_text(errors="replace") if vsock.exists() else ""
    _expect(bad, helper, "L1 saw the guest's greeting over vsock",
            rf"^line: hello-from-guest {VSOCK_BYTES}$")
    _expect(bad, log, "the guest's program reached L1 over vsock and read its answer",
            rf"VMM-GUEST-VSOCK: vsock-echo: sent {VSOCK_BYTES} bytes,"
            rf" reply: OK {VSOCK_BYTES} bytes intact \(status 0\)")
    _expect(bad, log, "the shell started", r"VMM-GUEST-SHELL: starting")
    _expect(bad, log, "the typed command's output, on the PL011", r"typed-42 on /dev/ttyAMA0")
    return bad
