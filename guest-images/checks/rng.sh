#!/bin/sh
# RNG check: the kernel's hwrng is the virtio one and /dev/hwrng gives bytes.
current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
bytes=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)
sample=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
echo "VMM-GUEST-RNG: ${current:-none} read $bytes bytes, sample $sample"
case "$current" in virtio_rng*) ;; *) exit 1 ;; esac
[ "$bytes" = 64 ] && [ "$sample" != 00000000000000000000000000000000 ]
