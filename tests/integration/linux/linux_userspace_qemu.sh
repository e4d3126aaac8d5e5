#!/usr/bin/env bash
# The default Linux guest's user space end to end (see linux_userspace_lib.sh): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: QEMU microvm (the peer: same kernel, disk and command line), the shell on COM1, ended by poweroff.
# labels: slow linux
# requires: kvm qemu tmux
# timeout: 1500
# resource: linux:1
RUNNER=qemu TRANSPORT=mmio CONSOLE=com1 ENDING=poweroff
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_userspace_lib.sh"
