"""Helpers of the linux_* tests (the default Linux guest through framework/linux.py): a value
read from the guest's shell, the VMM's RSS, an API field waited for."""
import re
import subprocess
import time

from framework import linux, paths
from framework.proc import wait_until


def value(shell, tag, command, timeout=120):
    """Runs COMMAND in the guest inside `echo TAG-$(COMMAND)-` and returns what it printed
    (the tag is put together in the guest: the echoed command line never matches)."""
    half = len(tag) // 2
    sent = time.monotonic()
    shell.vm.type(f'echo "{tag[:half]}""{tag[half:]}-$({command})-"')
    match = shell.vm.wait_out(rf"^{tag}-(.*)-\n", timeout)  # the whole line
    linux.record_command_time(time.monotonic() - sent, command)
    return match.group(1)


def memory_devices_args():
    """The one shared snapshot (linux.shell_snapshot) of linux_balloon and linux_memhp: the
    default guest with 512 MiB, over virtio-mmio, a virtio-balloon (statistics every 2 s,
    deflate-on-oom, free page reporting) and a virtio-mem device with a 1 GiB region (hotplugged
    blocks onlined movable), dirty pages tracked. One boot for both tests: each device sits idle
    while the other's test runs."""
    return [*linux.default_args(mem="512M", append="memhp_default_state=online_movable"),
            "--transport", "mmio",
            "--balloon", "size=0,stats=2s,deflate-on-oom=on,free-page-reporting=on",
            "--memory-hotplug", "total=1G", "--track-dirty-pages"]


def rss_mib(vm):
    """The VMM's VmRSS in MiB (read from the host)."""
    with open(f"/proc/{vm.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError(f"{vm.name}: no VmRSS")


def wait_field(api, route, field, want, timeout=300, interval=None):
    """GET ROUTE until its JSON member FIELD is WANT; returns the last body."""
    last = {}

    def check():
        answer = api.get(route)
        if answer.status != 200:
            return False
        last["body"] = answer.json() or {}
        return last["body"].get(field) == want
    try:
        wait_until(check, timeout, f"GET {route}: {field} = {want}")
    except AssertionError as error:
        raise AssertionError(f"{error}; last {last.get('body')}") from None
    return last["body"]


# How long a remove waits for a Linux guest to release a device (timeout_ms; the VMM's default
# is 10 s): a default guest on a loaded 2-core host, beside an L1, took longer to unregister a
# hot-added NIC (CI and here, 2026-11-29).
REMOVE_MS = 90000


def vmmctl(sock, *args, timeout=300):
    """vmmctl --sock SOCK ARGS (a short host tool): (status, output)."""
    run = subprocess.run([str(paths.VMMCTL), "--sock", str(sock), *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    return run.returncode, run.stdout + run.stderr


def copy_disk(dest):
    """A sparse copy of the guest's ext4 disk at DEST."""
    subprocess.run(["cp", "--sparse=always", linux.images()["DISK"], str(dest)], check=True)
    return dest


def stop_guest(vm, timeout=120):
    """poweroff -f at the shell, then waits for the VMM's end; returns its status."""
    vm.type("poweroff -f")
    return vm.wait(timeout)


def refused(vm, what, regex, method, route, body=None):
    """METHOD ROUTE answers a 400 whose message matches REGEX."""
    answer = vm.api.request(method, route, body)
    assert answer.status == 400 and re.search(regex, answer.body), \
        f"{what}: {answer!r} (want 400 matching /{regex}/)"


def devices(vm):
    """How many devices GET /vmm/devices lists."""
    return len(vm.api.want(200, "GET", "/vmm/devices").json())


def listed(vm, section, key, ident):
    """GET /vm/config's list SECTION has an entry whose KEY is IDENT."""
    config = vm.api.want(200, "GET", "/vm/config").json()
    return any(x.get(key) == ident for x in config.get(section) or [])


def check_value(vm, what, got, regex):
    """GOT matches REGEX (a VMM that died ends the test)."""
    assert re.search(regex, got), f"{what}: {got!r} (want /{regex}/)"
    assert vm.alive(), "the VMM died"

