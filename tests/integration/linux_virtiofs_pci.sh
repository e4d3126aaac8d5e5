#!/usr/bin/env bash
# linux_virtiofs.sh (virtio-fs and virtio-vsock) with the devices on virtio-pci (MSI-X).
# labels: slow linux vhost_user vsock pci
# requires: kvm root
# timeout: 1200
# resource: linux:1
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/linux_virtiofs.sh"
