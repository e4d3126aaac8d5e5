# vhost-user disks and NICs through the API and the config file, with no back-end and no KVM:
# a drive's "socket" and a NIC's "socket" are taken at PUT and shown by GET /vm/config as
# given, what such a device cannot honour is a 400 naming the field, and InstanceStart (or a
# config file) hands them to --disk / --net vhost-user=, whose check says the back-end's socket
# is missing before KVM is touched; a failed start takes the devices back (a second start says
# the same, not "socket already used").
# labels: api
# timeout: 60
import json
import re

import pytest

from api_util import api_vmm, want
from framework.guests import expect_status, guest_path


def test_api(vms, workdir):
    kernel = guest_path("hello")
    blk = str(workdir / "blk.sock")  # never created: no back-end runs here
    net = str(workdir / "net.sock")
    vm = api_vmm(vms, "--console", "stdio")
    api = vm.api
    want(api, 204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    want(api, 204, "PUT", "/boot-source", {"kernel_image_path": str(kernel)})
    # refused: both back-ends, none, and what the back-end decides or the VMM never sees
    drive = {"drive_id": "v", "socket": blk, "is_root_device": False}
    want(api, 400, "PUT", "/drives/v", {**drive, "path_on_host": "/d"}, "exactly one of path_on_host")
    want(api, 400, "PUT", "/drives/v", {"drive_id": "v", "is_root_device": False},
         "exactly one of path_on_host")
    want(api, 400, "PUT", "/drives/v", {**drive, "is_read_only": True},
         "is_read_only true cannot be honoured with socket")
    want(api, 400, "PUT", "/drives/v", {**drive, "cache_type": "Unsafe"}, "cache_type cannot be honoured")
    want(api, 400, "PUT", "/drives/v", {**drive, "io_engine": "Sync"}, "io_engine cannot be honoured")
    want(api, 400, "PUT", "/drives/v", {**drive, "num_queues": 17}, "num-queues must be 1 to 16")
    want(api, 400, "PUT", "/network-interfaces/n", {"iface_id": "n", "socket": net, "mtu": 1500},
         "mtu cannot be honoured")
    want(api, 400, "PUT", "/network-interfaces/n",
         {"iface_id": "n", "socket": net,
          "rx_rate_limiter": {"ops": {"size": 1, "refill_time": 100}}},
         "rx_rate_limiter cannot be honoured")
    # taken: the back-end may start after the PUT, so the socket is not looked at yet
    want(api, 204, "PUT", "/drives/v",
         {"drive_id": "v", "socket": blk, "is_root_device": True, "num_queues": 2})
    want(api, 204, "PUT", "/network-interfaces/n",
         {"iface_id": "n", "vhost_user": True, "socket": net, "guest_mac": "02:00:00:00:00:01"})
    want(api, 400, "PUT", "/drives/w", {"drive_id": "w", "socket": blk, "is_root_device": False},
         "uses that socket already")
    want(api, 400, "PUT", "/mmds/config", {"network_interfaces": ["n"]},
         "vhost-user NIC: MMDS cannot answer")
    want(api, 200, "GET", "/vm/config", regex=re.escape(
        f'"drives":[{{"drive_id":"v","socket":"{blk}","is_root_device":true,"num_queues":2}}]'))
    want(api, 200, "GET", "/vm/config", regex=re.escape(
        f'"network-interfaces":[{{"iface_id":"n","socket":"{net}",'
        f'"guest_mac":"02:00:00:00:00:01"}}]'))
    # InstanceStart: --disk vhost-user='s check, before KVM; twice, the same answer
    for _ in range(2):
        want(api, 400, "PUT", "/actions", {"action_type": "InstanceStart"}, re.escape(
            f"vhost-user={blk}: No such file or directory (start the vhost-user back-end first)"))
    want(api, 200, "GET", "/", regex=r'"state":"Not started"')


# The config file: the same bodies, the same parser
def config_cases(workdir):
    blk = str(workdir / "blk.sock")
    net = str(workdir / "net.sock")
    plain = workdir / "plain"
    plain.touch()
    return {
        "drive-no-backend": ({"drives": [{"drive_id": "v", "socket": blk, "is_root_device": False}]},
                             re.escape(f"--disk vhost-user={blk}: No such file or directory "
                                       "(start the vhost-user back-end first)")),
        "nic-not-socket": ({"network-interfaces": [{"iface_id": "n", "socket": str(plain)}]},
                           re.escape(f"--net vhost-user={plain}: not a socket")),
        "drive-rate-limiter": ({"drives": [{"drive_id": "v", "socket": blk, "is_root_device": False,
                                            "rate_limiter": {}}]},
                               re.escape("drives[0]: rate_limiter cannot be honoured with socket")),
        "nic-mmds": ({"network-interfaces": [{"iface_id": "n", "socket": net}],
                      "mmds-config": {"network_interfaces": ["n"]}},
                     "mmds-config: .*vhost-user NIC"),
    }


@pytest.mark.parametrize("case", ["drive-no-backend", "nic-not-socket", "drive-rate-limiter",
                                  "nic-mmds"])
def test_config_file(vms, workdir, case):
    devices, regex = config_cases(workdir)[case]
    cfg = {"boot-source": {"kernel_image_path": str(guest_path("hello"))},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}, **devices}
    run = vms.run([], timeout=30, name=f"vmm-{case}", config=cfg)
    expect_status(run, 2)
    assert re.search(regex, run.err, re.M), f"stderr lacks /{regex}/: {run.err}"
