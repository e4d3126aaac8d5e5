#!/usr/bin/env bash
# The Linux boot test of linux_boot_vmm.sh with every virtio device on virtio-pci (MSI-X).
# labels: slow linux
# requires: kvm
# timeout: 900
# resource: linux
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/linux_boot_vmm.sh"
