"""What a guest-images script says its guest is: `SCRIPT --print-env` prints NAME=VALUE lines
(values shell-quoted), building or fetching what is missing first (minutes on a cache miss).
One reader for every test and tool that boots those guests (tools/kvm-in-qemu/ap-count too)."""
import shlex
import subprocess
from pathlib import Path

GUEST_IMAGES = Path(__file__).resolve().parents[3] / "guest-images"


def print_env(script, *args):
    """(env, run) of SCRIPT [ARGS...] --print-env (a path, or a name in guest-images/; ARGS e.g.
    "--arch", "arm64"): env the lines as a dict, empty when the script failed; run the finished
    process (returncode, stderr)."""
    path = Path(script) if "/" in str(script) else GUEST_IMAGES / script
    run = subprocess.run([str(path), *args, "--print-env"], capture_output=True, text=True)
    env = {}
    if run.returncode == 0:
        for line in run.stdout.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                env[name] = " ".join(shlex.split(value))
    return env, run


def env_or_skip(script, reason, what, *args):
    """print_env(SCRIPT, *ARGS)'s env; when the script fails, the test is skipped (host.skip:
    REASON, then WHAT and the script's last words)."""
    from framework import host
    env, run = print_env(script, *args)
    if run.returncode != 0:
        host.skip(reason, f"{what}: {run.stderr.strip()[-300:]}")
    return env
