#!/usr/bin/env bash
# The machine's device tree (firmware/fdt.h): --dump-dtb writes a blob that dtc decompiles without
# a warning, and the dtb_devices guest (tests/guests/dtb_devices.c) finds its CPUs, memory,
# IOAPIC/LAPIC, COM1 and every virtio-mmio window from the --dtb PVH module (module 0, or 1 after
# an initrd) and checks each answers. Our VMM only: QEMU has no way to pass our tree.
# labels: guests
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

if ! "$VMM" --help 2>/dev/null | grep -q -- '--dump-dtb'; then
	skip "built without libfdt" "this vmm has no --dtb/--dump-dtb (libfdt-dev)"
fi

disk="$LIB_TMP/disk.img" disk2="$LIB_TMP/disk2.img"
truncate -s 1M "$disk" "$disk2"
dtb="$LIB_TMP/machine.dtb"
RUN_LABEL="dump-dtb"
if "$VMM" --kernel "$(guest_path hello)" --cpus 4 --mem 5G --rng --disk "$disk" \
	--transport pci --disk "$disk2" --debug-exit --dump-dtb "$dtb" 2>"$LIB_TMP/dump.err" &&
	[ -s "$dtb" ]; then
	lib_ok "--dump-dtb wrote $(stat -c %s "$dtb") bytes"
else
	lib_fail "--dump-dtb failed: $(cat "$LIB_TMP/dump.err")"
fi
if command -v dtc >/dev/null; then
	if dtc -I dtb -O dts -o "$LIB_TMP/machine.dts" "$dtb" 2>"$LIB_TMP/dtc.err" &&
		[ ! -s "$LIB_TMP/dtc.err" ]; then
		lib_ok "dtc decompiles it without warnings"
	else
		lib_fail "dtc: $(cat "$LIB_TMP/dtc.err")"
	fi
	grep -q 'compatible = "pci-host-ecam-generic"' "$LIB_TMP/machine.dts" &&
		grep -q 'virtio_mmio@d0000000' "$LIB_TMP/machine.dts" &&
		lib_ok "PCI host bridge and virtio-mmio nodes present" ||
		lib_fail "nodes missing from the tree"
fi

run_vmm dtb_devices --dtb --cpus 2 --rng --disk "$disk" --append "expect_cpus=2 expect_virtio=2"
expect_pass
expect_output '^device tree: [0-9]+ bytes at 0x[0-9a-f]+, PVH module 0'
expect_output '^virtio-mmio at 0xd0001000 size 0x1000 irq 6: device 4'
expect_output '^uart at port 0x3f8 irq 4'

run_vmm dtb_devices --dtb --initrd "$disk" --mem 5G --rng --append "expect_virtio=1 expect_initrd"
expect_pass
expect_output '^device tree: .* PVH module 1'
expect_output '^memory: 5120 MiB'

# Without --dtb there is no tree: the guest must notice.
run_vmm dtb_devices --rng
expect_status "$STATUS_FAIL"
expect_output 'no device tree'
finish
