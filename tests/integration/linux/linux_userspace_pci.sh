#!/usr/bin/env bash
# The default Linux guest's user space end to end (see linux_userspace_lib.sh): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: our VMM over virtio-pci (MSI-X), the shell on hvc0 (virtio-console), ended by Ctrl-A x,
# with a headless virtio-gpu and virtio-input keyboard and tablet (--gpu, GPU=1): the kernel binds
# virtio-gpu (DRM, fbdev emulation, the framebuffer console) and registers the input devices; the
# shell writes 20 lines to /dev/tty1, and the screenshot written at exit must show them. The
# root is a qcow2 overlay over the ext4 image (QCOW2=1), pulled out by Ctrl-A x after a sync.
# The same boot checks virtio-vsock over virtio-pci (VSOCK=1: /init's vsock check, a guest program
# over AF_VSOCK to a host helper; over virtio-mmio linux_virtiofs checks it).
# labels: slow linux display
# requires: kvm tmux qemu-img
# timeout: 1500
# resource: linux:1
RUNNER=vmm TRANSPORT=pci CONSOLE=hvc0 ENDING=ctrl-a-x GPU=1 QCOW2=1 VSOCK=1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_userspace_lib.sh"
