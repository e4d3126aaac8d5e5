#!/usr/bin/env bash
# linux_vsock.sh over modern virtio-pci (--transport pci).
# labels: slow linux pci
# requires: kvm
# timeout: 900
# resource: linux
TRANSPORT=pci exec bash "$(dirname "${BASH_SOURCE[0]}")/linux_vsock.sh"
