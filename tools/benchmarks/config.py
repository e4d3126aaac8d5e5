"""What every benchmark shares: the repository's root, the guests' size, the peers each
benchmark runs against and QEMU's machine for each."""

import os


# The repository: tools/benchmarks/ is two folders below it.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEM = "256M"
CPUS = "1"
EMULATED_KVM = os.path.exists("/sys/module/kvm_pvm")
PEERS = {"startup": ["vmm", "qemu-microvm", "qemu-q35"],
         "memory": ["vmm", "qemu-microvm", "qemu-q35"],
         "boot": ["vmm", "qemu-microvm"],
         "firmware": ["vmm", "vmm-direct", "qemu-q35", "qemu-pc", "qemu-direct"],
         "firmware-l1": ["vmm", "qemu-pc"],
         "blk": ["vmm", "qemu-microvm", "qemu-iothread"],
         "qcow2": ["vmm", "vmm-raw", "qemu-microvm", "qemu-iothread"],
         "scaling-blk": ["vmm", "qemu-iothread"],
         "scaling-net": ["vmm", "qemu-microvm"],
         "ratelimit": ["vmm", "qemu-microvm"],
         "exit-cost": ["vmm", "qemu-microvm"],
         "net": ["vmm", "qemu-microvm"],
         "net-mmds": ["vmm"],
         "mmds-latency": ["mmds", "host-http"],
         "vhost-user-blk": ["vmm", "qemu-vhost-user", "vmm-in-process"],
         "virtiofs": ["vmm", "qemu-microvm"],
         "hotplug": ["vmm", "qemu-q35"],
         "fio": ["vmm", "qemu-microvm"],
         "iperf3": ["vmm", "qemu-microvm"],
         "api": ["vmm", "qemu-microvm"],
         "snapshot": ["vmm", "qemu-microvm"],
         "migrate": ["vmm", "qemu-microvm", "qemu-tuned"]}
# --peer-vmm: our VMM again, another binary; the benchmarks that run their peer through Env.cmd
# alone (no QMP, no QEMU-only options).
PEER_VMM = "vmm-peer"
PEER_VMM_BENCHES = ("startup", "memory", "boot", "blk", "exit-cost", "net", "firmware-l1", "qcow2",
                    "scaling")
QEMU_MACHINE = {"qemu-microvm": "microvm,acpi=off", "qemu-q35": "q35",
                "qemu-iothread": "microvm,acpi=off", "qemu-tuned": "microvm,acpi=off"}
