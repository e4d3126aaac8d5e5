# The egress policy on a tap (issue 53, docs/networking.md "Egress policy"; libslirp's side is in
# tests/integration/linux/linux_mmds_slirp.sh), driven by the virtio_net test guest
# (tests/guests/virtio_net.c), which answers ARP and ICMP echo: what the guest sends (its echo
# replies, a frame of its own EtherType) passes or not as the NIC's rules say. Two runs, each in a
# network namespace of its own (the netns fixture, 192.168.78.0/24, nothing leaves it):
#   1. egress=HOST/32:icmp: `ping` from the host gets its replies (ARP always passes), the guest's
#      own-EtherType frame does not arrive, and the metrics count it in tx_egress_dropped; GET
#      /vm/config shows the rule in canonical form;
#   2. egress=HOST/32:tcp:443 (the host, but not ICMP): the guest says it answered the pings, the
#      host sees no answer, and every refused reply is counted; then, on the same running VM,
#      `vmmctl patch-net --egress` (PATCH /network-interfaces/net0): a rule that does not parse
#      is refused (the pings still get no answer), HOST/32:icmp is taken (the pings are answered,
#      GET /vm/config shows the new rule and not the old); `--egress off` (`"egress": null`)
#      removes the policy (GET /vm/config shows none, the pings are still answered).
# Then a bad rule on the command line: exit status 2, the rule named.
# labels: guests virtio net
# requires: kvm netns
# timeout: 300
import re
import subprocess

import pytest

from framework import host, paths
from framework.guests import expect_output, expect_pass, expect_status, guest_path
from net_frames import frames

HOST_IP = "192.168.78.1"
GUEST_IP = "192.168.78.2"
GUEST_MAC = "52:54:00:78:00:02"
RUN_TIMEOUT = 120


def vmmctl(vm, *args):
    return subprocess.run([paths.VMMCTL, "--sock", vm.sock, *args], capture_output=True,
                          text=True, timeout=60)


def dropped(vm):
    """The NIC's tx_egress_dropped from the metrics (GET /vmm/metrics; one NIC), or None."""
    found = re.search(r'"tx_egress_dropped": ?(\d+)', vmmctl(vm, "--json", "metrics").stdout)
    return int(found.group(1)) if found else None


def config(vm):
    return vmmctl(vm, "--json", "config").stdout


def pings(ns, count):
    """`ping -c COUNT` from the host side; True when answered."""
    run = ns.exec("ping", "-c", count, "-W", "2", "-i", "0.3", GUEST_IP, check=False)
    print(run.stdout.strip().splitlines()[-2:] if run.stdout.strip() else run.stderr)
    return run.returncode == 0


@pytest.fixture
def serving(vms, netns):
    """start(RULE): the guest on a tap with egress=RULE and an API socket, serving."""
    host.require("ping")

    def start(rule):
        ns = netns(tap="vtap0", host_ip=HOST_IP)
        vm = vms.start(["--kernel", guest_path("virtio_net"), "--debug-exit", "--console", "stdio",
                        "--mem", "256M", "--net", f"tap={ns.tap},mac={GUEST_MAC},egress={rule}",
                        "--append", f"ip={GUEST_IP} serve_ms={(RUN_TIMEOUT - 30) * 1000}"],
                       name="vmm-egress", api=True, wrap=ns.wrap)
        vm.wait_out(r"^serving at", 60)
        return vm, ns
    return start


def end_run(vm, ns):
    """The quit frame, then the guest's own count of what it answered."""
    frames(ns, GUEST_MAC, "quit")
    vm.status = vm.wait(60)
    expect_pass(vm)


def test_icmp_to_the_host_allowed(serving):
    vm, ns = serving(f"{HOST_IP}/32:icmp")
    assert pings(ns, 3), "the echo replies (ICMP to the host) should pass"
    got = frames(ns, GUEST_MAC, "probe")
    assert got == "none", \
        f"the guest's EtherType 0x88b8 frame arrived ({got}) although no rule takes it"
    n = dropped(vm)
    assert n is not None and n >= 1, f"tx_egress_dropped: {n}, want at least 1"
    text = config(vm)
    assert f'"{HOST_IP}/32:icmp"' in text, f"GET /vm/config lacks the rule: {text[:600]}"
    end_run(vm, ns)
    expect_output(vm, r"^served: [1-9][0-9]* ARP replies, [1-9][0-9]* ICMP echo replies")


def test_only_tcp443_then_patched(serving):
    vm, ns = serving(f"{HOST_IP}/32:tcp:443")
    assert not pings(ns, 3), "ping got answers although ICMP is not allowed"
    n = dropped(vm)
    assert n is not None and n >= 3, f"tx_egress_dropped: {n}, want at least 3 (the echo replies)"

    # The same VM's policy replaced while it runs (docs/networking.md "Egress policy").
    patch = vmmctl(vm, "patch-net", "net0", "--egress", f"{HOST_IP}/33:icmp")
    assert patch.returncode != 0, f"a rule that does not parse was taken: {patch.stdout[:300]}"
    assert "egress[0]" in patch.stdout + patch.stderr, \
        f"the refusal does not name the rule: {(patch.stdout + patch.stderr)[:300]}"
    assert not pings(ns, 2), "ping answered after a refused PATCH: the old rules should stay"

    patch = vmmctl(vm, "patch-net", "net0", "--egress", f"{HOST_IP}/32:icmp")
    assert patch.returncode == 0, f"PATCH refused: {(patch.stdout + patch.stderr)[:300]}"
    assert pings(ns, 3), "after the PATCH, ping should be answered"
    text = config(vm)
    assert f'"{HOST_IP}/32:icmp"' in text and f'"{HOST_IP}/32:tcp:443"' not in text, \
        f"GET /vm/config after the PATCH: {text[:600]}"

    # Back to no policy (--egress off: "egress": null).
    patch = vmmctl(vm, "patch-net", "net0", "--egress", "off")
    assert patch.returncode == 0, \
        f"patch-net --egress off refused: {(patch.stdout + patch.stderr)[:300]}"
    text = config(vm)
    assert '"host_dev_name"' in text and '"egress"' not in text, \
        f"GET /vm/config after --egress off: {text[:600]}"
    assert pings(ns, 2), "without a policy, ping should be answered"
    end_run(vm, ns)
    # The guest answered: the VMM, not the guest, kept the answers from the host.
    served = re.search(r"^served: \d+ ARP replies, (\d+) ICMP echo", vm.out, re.M)
    assert served and int(served.group(1)) >= 3, \
        f"the guest answered {served and served.group(1)} echo requests, want at least 3"


def test_bad_rule_on_the_command_line(vms):
    run = vms.run(["--kernel", guest_path("virtio_net"),
                   "--net", f"tap=vtap0,egress={HOST_IP}:tcp:99999"])
    expect_status(run, 2)
    assert f"egress rule '{HOST_IP}:tcp:99999'" in run.err, \
        f"the error does not name the rule: {run.err[:300]}"
