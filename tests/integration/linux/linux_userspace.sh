#!/usr/bin/env bash
# The default Linux guest's user space end to end (see linux_userspace_lib.sh): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: our VMM over virtio-mmio, the shell on COM1, ended by poweroff.
# labels: slow linux
# requires: kvm tmux
# timeout: 1500
# resource: linux:1
RUNNER=vmm TRANSPORT=mmio CONSOLE=com1 ENDING=poweroff
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_userspace_lib.sh"
