#!/bin/sh
# RNG check: the kernel's hwrng is the virtio one and /dev/hwrng gives bytes.
current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
# one program after the other, no pipeline (lib.sh, md5_of)
dd if=/dev/hwrng of=/tmp/.rng bs=64 count=1 2>/dev/null
bytes=$(wc -c </tmp/.rng)
dd if=/dev/hwrng of=/tmp/.rng bs=16 count=1 2>/dev/null
od -An -tx1 /tmp/.rng >/tmp/.rng.hex
read -r hexline </tmp/.rng.hex
sample=""
for byte in $hexline; do sample="$sample$byte"; done
echo "VMM-GUEST-RNG: ${current:-none} read $bytes bytes, sample $sample"
case "$current" in virtio_rng*) ;; *) exit 1 ;; esac
[ "$bytes" = 64 ] && [ "$sample" != 00000000000000000000000000000000 ]
