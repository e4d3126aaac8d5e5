#!/bin/sh
# Block check: writes two files on the root file system (ext4 on the virtio disk when booted
# with root=/dev/vda) and syncs, so the host can read them back from the disk image after the VM
# ends: /vmm-blk-lines.txt (256 known lines, the host rebuilds the expected text) and
# /vmm-blk-random.bin (1 MiB from /dev/urandom, whose MD5 is printed here).
. /usr/share/vmmguest/lib.sh

root_fs=$(awk '$2 == "/" { fs = $3 } END { print fs }' /proc/mounts)
echo "VMM-GUEST-BLK: root file system $root_fs"
i=0
while [ $i -le 255 ]; do
	echo "vmm-blk-check line $i"
	i=$((i + 1))
done >/vmm-blk-lines.txt
dd if=/dev/urandom of=/vmm-blk-random.bin bs=64k count=16 2>/dev/null
sync
echo "VMM-GUEST-BLK: lines $(md5_of /vmm-blk-lines.txt) random $(md5_of /vmm-blk-random.bin)"
[ "$root_fs" = ext4 ]
