#!/usr/bin/env bash
# 4 KiB random reads at queue depth 1 and 32 (tests/guests/blk_bench.c: the loop runs in ring 3,
# polls the used ring, kicks by MMIO) against the same 64 MiB file in the host page cache, on our
# VMM and on QEMU microvm, and over modern virtio-pci (split ring) on our VMM (--transport pci)
# and QEMU q35. Prints the guest's "BENCH blk_randread qd=N iops=..." lines.
#
# Quick mode (the default, what CTest runs): a few hundred requests per depth; checks only that
# the BENCH lines appear, never the timing. BENCH_FULL=1: SECONDS_PER_DEPTH (default 3) seconds
# per depth, and the numbers are the point (still not asserted: the hosts are shared).
# labels: bench
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

disk="$LIB_TMP/bench.img"
head -c 64M /dev/urandom >"$disk"
cat "$disk" >/dev/null # into the page cache

if [ -n "${BENCH_FULL:-}" ]; then
	args="seconds=${SECONDS_PER_DEPTH:-3} requests=100000000"
else
	args="seconds=1 requests=300"
fi

expect_bench() {
	expect_pass
	expect_output '^BENCH blk_randread qd=1 iops=[0-9]+ '
	expect_output '^BENCH blk_randread qd=32 iops=[0-9]+ '
	tr -d '\r' <"$RUN_OUT" | grep -E '^(BENCH|TSC)' | sed "s/^/  [$1] /"
}

for ring in split packed; do
	run_vmm blk_bench --disk "$disk,ro" --append "$args ring=$ring"
	expect_bench "vmm $ring"
done
run_vmm blk_bench --transport pci --disk "$disk,ro" --append "$args ring=split transport=pci"
expect_bench "vmm pci split"

if have_qemu; then
	for ring in split packed; do
		packed=off
		[ "$ring" = packed ] && packed=on
		QEMU_MACHINE=microvm,acpi=off run_qemu blk_bench \
			-global virtio-mmio.force-legacy=false \
			-drive "id=d0,file=$disk,format=raw,if=none,readonly=on" \
			-device "virtio-blk-device,drive=d0,packed=$packed" -append "$args ring=$ring"
		expect_bench "qemu $ring"
	done
	QEMU_MACHINE=q35 run_qemu blk_bench \
		-drive "id=d0,file=$disk,format=raw,if=none,readonly=on" \
		-device virtio-blk-pci,drive=d0,disable-legacy=on \
		-append "$args ring=split transport=pci"
	expect_bench "qemu q35 pci split"
fi
finish
