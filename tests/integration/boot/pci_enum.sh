#!/usr/bin/env bash
# PCI bus 0 (tests/guests/pci_enum.c): configuration mechanism #1 and ECAM agree on every
# function, absent functions and bus 1 read all-ones, BAR sizing, the virtio capability chain
# (cfg_type 1..5 inside their BARs, aligned), the PCI configuration access capability, MSI-X
# table/PBA, memory decoding off -> all-ones, INTx lines and their MP table entries.
# Our VMM (`vmm`: its exact layout, virtio/transport/virtio_pci.h) with three virtio-pci devices, and with a mix
# of transports (only the devices after --transport pci are on the bus); QEMU q35 (ECAM where its
# firmware put it, 0xB0000000; BARs wherever SeaBIOS assigned them).
# labels: guests pci
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

disk="$LIB_TMP/disk.img"
truncate -s 1M "$disk"

run_vmm pci_enum --transport pci --disk "$disk" --console virtio --rng --append "vmm devices=3"
expect_pass
expect_output '^00:00\.0 1b36:0008 class 060000 header 0x00$'
expect_output '^00:01\.0 1af4:1042 class 018000 '
expect_output '^00:02\.0 1af4:1043 class 078000 '
expect_output '^00:03\.0 1af4:1044 class ff0000 '
expect_output '^  decoding off: BAR reads 0xffffffff'
expect_output '^  INTA, line 21; MP table: IOAPIC [0-9]+ pin 21 flags 0xf'

# mmio disk, PCI rng: the rng alone on the bus, at slot 1.
run_vmm pci_enum --disk "$disk" --transport pci --rng --append "vmm devices=1"
expect_pass
expect_output '^00:01\.0 1af4:1044 '
expect_no_output '^00:02\.0'

# No virtio-pci device: the VMM builds no bus at all; conf1 and ECAM read all-ones.
run_vmm pci_enum --append "vmm devices=0"
expect_pass
expect_output '^0 functions, 0 virtio'

if have_qemu; then
	QEMU_MACHINE=q35 run_qemu pci_enum \
		-drive "id=d0,file=$disk,format=raw,if=none" \
		-device virtio-blk-pci,drive=d0,disable-legacy=on \
		-device virtio-rng-pci,disable-legacy=on -append "ecam=0xb0000000 devices=2"
	expect_pass
	expect_output '^00:[0-9a-f]{2}\.0 1af4:1042 '
	expect_output '^00:[0-9a-f]{2}\.0 1af4:1044 '
	expect_output '^  PCI configuration access window: num_queues 1: ok$'
fi
finish
