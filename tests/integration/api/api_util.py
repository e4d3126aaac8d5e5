"""Shared parts of the api group's tests (tests/integration/api): a VMM driven over its API
socket before (or without) any VM, `want` to check one request's answer, and the Python
clients of tests/integration/lib run against a socket."""
import os
import re
import subprocess
import sys

from framework import host, paths

LIB = paths.SOURCE_DIR / "tests" / "integration" / "lib"


def api_vmm(vms, *args, name="vmm"):
    """Our VMM with --api-sock (and ARGS), its socket answering; returns the Vm (vm.api)."""
    return vms.start([str(a) for a in args], name=name, api=True)


def want(api, status, method, route, body=None, regex=None, timeout=None):
    """METHOD ROUTE with BODY answers STATUS (an int or a tuple), and its body matches REGEX
    (re.search, each line on its own as grep does) when one is given; returns the answer."""
    answer = api.request(method, route, body, timeout=timeout)
    allowed = status if isinstance(status, tuple) else (status,)
    shown = body if isinstance(body, (str, type(None))) else repr(body)
    assert answer.status in allowed, \
        f"{method} {route} {str(shown)[:120]} -> {answer!r} (want {status})"
    if regex is not None:
        assert re.search(regex, answer.body, re.M), \
            f"{method} {route} -> {answer!r} (lacks /{regex}/)"
    return answer


def run_lib_script(name, *args, timeout=120):
    """Runs tests/integration/lib/NAME (a Python client with its own ok/FAIL lines) to its end;
    asserts it exits 0 and returns its output."""
    run = subprocess.run([sys.executable, str(LIB / name), *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    output = run.stdout + run.stderr
    print(output)
    assert run.returncode == 0, f"{name} {' '.join(map(str, args))} exited {run.returncode}:\n{output[-6000:]}"
    return output


def make_tap(name):
    """A tap NAME where root and ip(8) can make one (remove it with del_tap); False otherwise."""
    if not (host.is_root() and os.path.exists("/dev/net/tun") and host.has("ip")):
        return False
    return subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap"],
                          capture_output=True).returncode == 0


def del_tap(name):
    subprocess.run(["ip", "link", "del", name], capture_output=True)
