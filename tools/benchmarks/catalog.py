"""The benchmarks by the name a user types, in the order `all` runs them."""

from .api import bench_api
from .blk import bench_blk
from .egress import bench_egress
from .boot import bench_boot
from .exit_cost import bench_exit_cost
from .fio import bench_fio
from .firmware import bench_firmware
from .firmware_l1 import bench_firmware_l1
from .fork import bench_fork
from .hotplug import bench_hotplug
from .working_set import bench_working_set
from .iperf3 import bench_iperf3
from .memhp import bench_memhp
from .memory import bench_memory
from .migrate import bench_migrate
from .mmds_latency import bench_mmds_latency
from .net import bench_net
from .net_mmds import bench_net_mmds
from .pmem import bench_pmem
from .qcow2 import bench_qcow2
from .ratelimit import bench_ratelimit
from .scaling import bench_scaling
from .snapshot import bench_snapshot
from .startup import bench_startup
from .vhost_user_blk import bench_vhost_user_blk
from .virtiofs import bench_virtiofs
from .vsock import bench_vsock


BENCHES = {
    "startup": bench_startup,
    "memory": bench_memory,
    "boot": bench_boot,
    "firmware": bench_firmware,
    "firmware-l1": bench_firmware_l1,
    "blk": bench_blk,
    "qcow2": bench_qcow2,
    "exit-cost": bench_exit_cost,
    "net": bench_net,
    "net-mmds": bench_net_mmds,
    "egress": bench_egress,
    "mmds-latency": bench_mmds_latency,
    "api": bench_api,
    "snapshot": bench_snapshot,
    "fork": bench_fork,
    "working-set": bench_working_set,
    "ratelimit": bench_ratelimit,
    "vsock": bench_vsock,
    "scaling": bench_scaling,
    "migrate": bench_migrate,
    "pmem": bench_pmem,
    "memhp": bench_memhp,
    "vhost-user-blk": bench_vhost_user_blk,
    "virtiofs": bench_virtiofs,
    "hotplug": bench_hotplug,
}
HW_BENCHES = {"fio": bench_fio, "iperf3": bench_iperf3}
# Not in `all`: firmware, firmware-l1, migrate, pmem, memhp, virtiofs and hotplug boot Linux guests (minutes on an emulated
# KVM); net-mmds and egress are questions about our own transmit path, not comparisons with a
# peer; vhost-user-blk is about an external back-end (issue 29), not our own disk.
NOT_IN_ALL = ("firmware", "firmware-l1", "migrate", "pmem", "memhp", "net-mmds", "egress", "mmds-latency",
              "vhost-user-blk", "virtiofs", "hotplug")
