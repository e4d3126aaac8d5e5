#!/usr/bin/env bash
# net_user.sh with the NIC on virtio-pci (MSI-X): our VMM --transport pci, QEMU q35.
# labels: guests virtio net pci
# requires: kvm
# timeout: 300
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/net_user.sh"
