#!/usr/bin/env bash
# virtio-rng over modern virtio-pci: every check of virtio_rng.sh with TRANSPORT=pci (our VMM with
# --transport pci, QEMU q35 with virtio-rng-pci; MSI-X on split-ring runs, INTx on packed ones).
# labels: guests virtio pci
# requires: kvm
# timeout: 120
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/virtio_rng.sh"
