#!/usr/bin/env bash
# Boots the default Linux guest on our VMM through PVH with its root file system on a virtio-blk
# disk, a virtio-console and a virtio-rng, over the transport in $TRANSPORT (mmio by default; the
# _pci variant of this test sets pci). The kernel logs to both ttyS0 and hvc0, which share the
# host's stdout, so every line after hvc0 registers appears twice: the second copy crossed the
# virtio-console transmit queue. Checks what the kernel saw: the virtio-mmio windows from the
# command line (or the PCI functions and their MSI-X vectors), /dev/vda, the ext4 root mounted,
# hvc0, the rng driven by the guest, and "Run /init"; then /init must print what it sees and end
# the VM with a reboot (also on emulated KVM, where the guest kernel's patches let user space make
# system calls: guest-images/README.md).
# labels: slow linux
# requires: kvm
# timeout: 900
# resource: linux
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"
cp --sparse=always "$DISK" "$tmp/root.ext4"
# A read-only root keeps the journal thread idle and RCU stall reports off the console: both cost
# minutes where guest kernel code is emulated.
TRANSPORT=${TRANSPORT:-mmio}
cmdline="$CMDLINE console=hvc0 root=/dev/vda rootfstype=ext4 ro"
cmdline+=" rcupdate.rcu_cpu_stall_suppress=1 vmmguest.end=reboot"

start=$(date +%s.%N)
timeout 800 "$VMM" -v -v --kernel "$VMLINUX" --mem 128M --transport "$TRANSPORT" \
	--disk "$tmp/root.ext4,serial=rootdisk" \
	--rng --console virtio --append "$cmdline" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
tr -d '\r' <"$tmp/out" >"$tmp/log"

if [ "$TRANSPORT" = pci ]; then
	check "PCI bus enumerated" 'pci 0000:00:00.0: \[1b36:0008\]' "$tmp/log"
	check "virtio-blk-pci found" 'pci 0000:00:01.0: \[1af4:1042\]' "$tmp/log"
	check "MSI-X vectors routed" 'virtio-blk: MSI-X vector [0-9]+ -> GSI' "$tmp/err"
else
	check "virtio-mmio windows registered" 'virtio-mmio: Registering device virtio-mmio.2 at 0xd0002000' "$tmp/log"
fi
check "virtio-blk is vda" 'virtio_blk virtio0: \[vda\] 131072 512-byte' "$tmp/log"
check "ext4 root mounted" 'VFS: Mounted root \(ext4 filesystem\)' "$tmp/log"
check "hvc0 is the console" 'printk: console \[hvc0\] enabled' "$tmp/log"
check "reached Run /init" 'Run /(sbin/)?init as init process' "$tmp/log"
if [ "$(grep -cE 'Run /(sbin/)?init as init process' "$tmp/log")" -ge 2 ]; then
	echo "ok: Run /init also came through hvc0"
else
	echo "FAIL: Run /init did not come through hvc0"
	fail=1
fi
check "the guest drove virtio-blk" 'virtio-blk: driver ready' "$tmp/err"
check "the guest drove virtio-console" 'virtio-console: driver ready' "$tmp/err"
check "the guest drove virtio-rng" 'virtio-rng: driver ready' "$tmp/err"
check "/init ran" 'VMM-GUEST-INIT: ok' "$tmp/log"
check "/init saw the disk" 'VMM-GUEST-BLOCK: .*vda' "$tmp/log"
check "/init saw the rng" 'VMM-GUEST-HWRNG: .*virtio' "$tmp/log"
check "/init ended the VM" 'VMM-GUEST-END: reboot' "$tmp/log"
check_status "$status"
echo "booted in ${elapsed}s, exit status $status"
linux_finish
