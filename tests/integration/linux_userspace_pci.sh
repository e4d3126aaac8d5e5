#!/usr/bin/env bash
# The default Linux guest's user space end to end (see linux_userspace_lib.sh): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: our VMM over virtio-pci (MSI-X), the shell on hvc0 (virtio-console), ended by Ctrl-A x.
# labels: slow linux
# requires: kvm tmux
# timeout: 1500
# resource: linux
RUNNER=vmm TRANSPORT=pci CONSOLE=hvc0 ENDING=ctrl-a-x
. "$(dirname "${BASH_SOURCE[0]}")/linux_userspace_lib.sh"
