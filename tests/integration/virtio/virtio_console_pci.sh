#!/usr/bin/env bash
# virtio-console over modern virtio-pci: every check of virtio_console.sh with TRANSPORT=pci (our
# VMM with --transport pci, QEMU q35 with virtio-serial-pci; MSI-X on split-ring runs, INTx on
# packed ones).
# labels: guests virtio pci
# requires: kvm
# timeout: 180
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/virtio_console.sh"
