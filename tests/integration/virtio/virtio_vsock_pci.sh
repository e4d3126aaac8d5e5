#!/usr/bin/env bash
# virtio-vsock over modern virtio-pci: every check of virtio_vsock.sh with TRANSPORT=pci (MSI-X on
# the split-ring run, INTx on the packed-ring run).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/virtio_vsock.sh"
