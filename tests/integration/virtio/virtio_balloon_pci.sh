#!/usr/bin/env bash
# virtio-balloon over modern virtio-pci: every check of virtio_balloon.sh with TRANSPORT=pci (our
# VMM with --transport pci, QEMU q35 with virtio-balloon-pci; the guest uses MSI-X).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/virtio_balloon.sh"
