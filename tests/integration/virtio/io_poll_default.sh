#!/usr/bin/env bash
# The I/O threads' polling window cap (--io-poll, vmm/vm/io_poll.h) as the VMM chose it, read from
# its debug log while a virtio-rng test guest runs: without --io-poll, 256 us where the vCPUs and
# every device's I/O threads each have a host CPU (nproc), else 64; a given --io-poll is used as
# is, 0 included. The guest must pass every time.
# labels: guests virtio
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

cpus=$(nproc)
disk="$LIB_TMP/disk.img"

expect_err() {
	if grep -qE -- "$1" "$RUN_ERR"; then
		lib_ok "log has /$1/"
	else
		lib_fail "log lacks /$1/"
		lib_dump_output
	fi
}

want() { # VCPUS THREADS: the default for them on this host
	if [ $(($1 + $2)) -le "$cpus" ]; then echo 256; else echo 64; fi
}

run_vmm virtio_rng -v -v --rng
expect_pass
expect_err "I/O threads poll up to $(want 1 1) us \(default: 1 I/O threads, 1 vCPUs, $cpus host CPUs\)"

# One more I/O thread than the host has CPUs beside the vCPU: the window stays short. A disk
# has at most 8 queues (one I/O thread each), so a large host gets several disks.
disks=()
for ((left = cpus, i = 0; left > 0; left -= 8, i++)); do
	truncate -s 1M "$disk.$i"
	disks+=(--disk "$disk.$i,num-queues=$((left < 8 ? left : 8))")
done
run_vmm virtio_rng -v -v --rng "${disks[@]}"
expect_pass
expect_err "I/O threads poll up to 64 us \(default: $((cpus + 1)) I/O threads, 1 vCPUs"

for us in 10 0; do
	run_vmm virtio_rng -v -v --rng --io-poll $us
	expect_pass
	expect_err "I/O threads poll up to $us us \(--io-poll\)"
done
finish
