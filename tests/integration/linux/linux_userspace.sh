#!/usr/bin/env bash
# The default Linux guest's user space end to end (see linux_userspace_lib.sh): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: our VMM over virtio-mmio, the shell on COM1, ended by poweroff; the root is a qcow2
# overlay over the ext4 image (QCOW2=1: qemu-img check clean, the base unchanged afterwards).
# labels: slow linux
# requires: kvm tmux qemu-img
# timeout: 1500
# resource: linux:1
RUNNER=vmm TRANSPORT=mmio CONSOLE=com1 ENDING=poweroff QCOW2=1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_userspace_lib.sh"
