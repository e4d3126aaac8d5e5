#!/usr/bin/env bash
# virtio-blk over modern virtio-pci: every check of virtio_blk.sh, with TRANSPORT=pci (our VMM
# with --transport pci, QEMU q35 with virtio-blk-pci,disable-legacy=on; MSI-X on the split-ring
# runs, INTx on the packed-ring runs).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/virtio_blk.sh"
