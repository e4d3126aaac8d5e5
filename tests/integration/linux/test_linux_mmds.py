# MMDS from the default Linux guest (issue 28), configured as Firecracker documents it: the VMM
# starts with --api-sock only; the test PUTs a boot source (the initramfs with its shell on the
# console), a NIC on a tap in a network namespace made here, PUT /mmds/config (V2, that NIC) and
# a document, and starts the VM. In the guest (busybox, static IP from the kernel command line):
#   - a route to 169.254.169.254 on eth0 (the user guide's `ip route add`);
#   - wget without a token fails (401 in V2);
#   - a token from PUT /latest/api/token (busybox nc: its wget cannot PUT), then wget with
#     X-metadata-token gets the value, as IMDS text;
#   - the host PATCHes the store while the guest runs, and the guest reads the new value;
#   - mmds-get (guest-images/tools/mmds-get.c): 100 GETs with a token on one keep-alive
#     connection, and a 401 without a token;
#   - a snapshot (pause, PUT /snapshot/create), this VMM killed, a new one loads it over the API
#     (resume_vm): GET /vm/config shows the NIC as eth0 and the mmds-config, GET /mmds the
#     patched store; in the guest the old token is refused (tokens are not kept) and a new
#     token reads the patched value.
# The same boot checks the tap itself (what net_linux_tap.sh did in a boot of its own): the
# kernel's static IP configuration completes and the guest answers ping from the namespace.
# This one boots: the VM configured over the API before InstanceStart is what it tests; the
# snapshot and the load over the API are its own.
# labels: slow linux net
# requires: kvm netns
# timeout: 900
# resource: linux:1
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import linux  # noqa: E402
from framework.linux import Shell  # noqa: E402
from framework.proc import wait_until  # noqa: E402

TAP = "vtap0"
MMDS = "http://169.254.169.254/latest/meta-data"


def test_mmds(vms, workdir, netns):
    ns = netns(tap=TAP, host_ip="192.168.78.1")
    img = linux.images()
    vm = vms.start(["--console", "stdio", "--landlock-rules", f"{workdir}:rw"], name="linux",
                   api=True, console_in=True, wrap=ns.wrap)
    shell = Shell(vm)
    cmdline = (f"{img['CMDLINE']} vmmguest.shell=1 vmmguest.dhcp=0 "
               "ip=192.168.78.2::192.168.78.1:255.255.255.0::eth0:off")
    vm.api.want(204, "PUT", "/boot-source", {"kernel_image_path": img["VMLINUX"],
                                             "initrd_path": img["INITRAMFS"],
                                             "boot_args": cmdline})
    vm.api.want(204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256})
    vm.api.want(204, "PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": TAP,
                                                          "guest_mac": "52:54:00:78:00:02"})
    vm.api.want(204, "PUT", "/mmds/config", {"network_interfaces": ["eth0"], "version": "V2"})
    vm.api.want(204, "PUT", "/mmds", {"latest": {"meta-data": {"ami-id": "ami-12345678",
                                                               "local-hostname": "vm1"}}})
    vm.api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})
    shell.wait_started()
    assert "IP-Config: Complete" in vm.out, "the kernel did not configure eth0"
    ping = ns.exec("ping", "-c", "3", "-i", "0.5", "-W", "5", "192.168.78.2", check=False)
    assert ping.returncode == 0, f"no answer to ping on the tap: {ping.stdout[-300:]}"

    shell.check("ip route add 169.254.169.254 dev eth0")
    status, _ = shell.run(f"wget -q -O - {MMDS}/ami-id")
    assert status != 0, "V2: a GET without a token succeeded"

    def new_token(tag):
        """TOK in the guest's shell from PUT /latest/api/token (busybox nc: its wget cannot
        PUT), one process after the other: on kvm_pvm busybox processes started together (a
        pipeline) compute with wrong memory now and then, under QEMU too (nc segfaulted at its
        first TLS access here; docs/testing.md, "Known issue"); up to three tries, each failed
        one shown."""
        for attempt in (1, 2, 3):
            shell.run("printf 'PUT /latest/api/token HTTP/1.0\\r\\nX-metadata-token-ttl-seconds: "
                      "600\\r\\n\\r\\n' >/tmp/req; nc 169.254.169.254 80 </tmp/req >/tmp/resp; "
                      "TOK=$(tail -n 1 /tmp/resp)", timeout=300)
            out = shell.check(f'echo "{tag}{attempt}=${{#TOK}}-"')
            if re.search(rf"^{tag}{attempt}=64-", out, re.M):
                return True
            faults = re.findall(r".*(?:segfault|Segmentation).*", vm.out)
            print(f"note: token try {attempt}: {out.strip()}; last fault: {faults[-1:]}")
        return False
    assert new_token("TOKLEN"), "no V2 token of 64 characters"
    out = shell.check(f'echo "MMDS-VALUE=$(wget -q -O - --header "X-metadata-token: $TOK" '
                      f'{MMDS}/ami-id)"')
    assert "MMDS-VALUE=ami-12345678" in out, f"the guest does not read its metadata: {out}"
    # one program at a time (docs/testing.md: pipelines on kvm_pvm); this step lost its line to
    # a `wget | tr` pipeline in two fresh-clone runs
    out = shell.check(f'wget -q -O /tmp/mlist --header "X-metadata-token: $TOK" {MMDS}/; '
                      "tr '\\n' , </tmp/mlist >/tmp/mlist2; read L </tmp/mlist2; "
                      'echo "MMDS-LIST=$L"')
    assert "MMDS-LIST=ami-id,local-hostname" in out, f"IMDS listing of a dictionary: {out}"

    vm.api.want(204, "PATCH", "/mmds", {"latest": {"meta-data": {"ami-id": "ami-87654321"}}})
    out = shell.check(f'echo "MMDS-PATCHED=$(wget -q -O - --header "X-metadata-token: $TOK" '
                      f'{MMDS}/ami-id)"')
    assert "MMDS-PATCHED=ami-87654321" in out, f"the guest does not see the host's PATCH: {out}"

    # V2 over one keep-alive connection (guest-images/tools/mmds-get.c: the token from PUT, then
    # 100 GETs with it; the latency it prints is for reading, tools/bench mmds-latency
    # measures it)
    _, out = shell.run("mmds-get -2 -n 100 /latest/meta-data/ami-id", timeout=300)
    latency = re.search(r"mmds-get: 100 GETs \(keep-alive\): median [0-9]+ us.*", out)
    assert latency, f"V2: 100 GETs with a token on one keep-alive connection: {out}"
    print(f"latency: {latency.group(0)}")
    status, out = shell.run("mmds-get /latest/meta-data/ami-id")
    assert "mmds-get: status 401" in out, f"V2: mmds-get without a token: {out}"

    # ---- the store, its configuration and the NIC's name through a snapshot ----
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    snap = workdir / "snap"
    snap.mkdir()
    vm.api.want(204, "PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": str(snap / "state"),
                 "mem_file_path": str(snap / "memory")}, timeout=120)
    vm.stop(grace=0)
    vm = vms.start(["--console", "stdio", "--landlock-rules", f"{workdir}:rw"], name="loaded",
                   api=True, console_in=True, wrap=ns.wrap)
    shell = Shell(vm)
    # the snapshot's tap is a host interface: the load confirms it (network_overrides)
    vm.api.want(204, "PUT", "/snapshot/load", {
        "snapshot_path": str(snap / "state"),
        "mem_backend": {"backend_type": "File", "backend_path": str(snap / "memory")},
        "resume_vm": True, "network_overrides": [{"iface_id": "eth0", "host_dev_name": TAP}]})
    config = vm.api.want(200, "GET", "/vm/config").body
    assert re.search(r'"iface_id": ?"eth0"', config), f"the NIC is not eth0: {config}"
    assert re.search(r'"mmds-config": ?\{"version": ?"V2", ?"network_interfaces": ?\["eth0"\]',
                     config), f"no mmds-config after the load: {config}"
    assert "ami-87654321" in vm.api.want(200, "GET", "/mmds").body, "the store is not the patched one"
    # the shell's variables came with the snapshot: $TOK is the old token
    out = shell.check(f'echo "OLDTOKEN-RC=$(wget -q -O - --header "X-metadata-token: $TOK" '
                      f'{MMDS}/ami-id >/dev/null 2>&1; echo $?)"', timeout=300)
    assert re.search(r"OLDTOKEN-RC=[1-9]", out), f"after the load, the old token works: {out}"
    assert new_token("NEWTOKLEN"), "no new token after the load"
    out = shell.check(f'echo "MMDS-RESTORED=$(wget -q -O - --header "X-metadata-token: $TOK" '
                      f'{MMDS}/ami-id)"', timeout=300)
    assert "MMDS-RESTORED=ami-87654321" in out, f"after the load, a new token: {out}"
    vm.type("poweroff")
    try:
        vm.wait(60)
    except AssertionError:  # once seen on kvm_pvm: the line typed sat unread until more came
        vm.type("poweroff")
        vm.wait(60)
