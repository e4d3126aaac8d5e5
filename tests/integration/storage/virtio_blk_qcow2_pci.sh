#!/usr/bin/env bash
# qcow2 disks over modern virtio-pci: every check of virtio_blk_qcow2.sh with TRANSPORT=pci
# (MSI-X on the split-ring run, INTx on the packed-ring run).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/virtio_blk_qcow2.sh"
