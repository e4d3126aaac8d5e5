#!/usr/bin/env bash
# virtio-blk over virtio-mmio, driven by the virtio_blk test guest (tests/guests/virtio_blk.c), on
# our VMM and on QEMU microvm, with a split and a packed ring: negotiation, config, GET_ID,
# read/write/flush, 32 requests in flight, indirect chains, interrupt suppression, write-zeroes,
# discard, IOERR past the end, a read-only second disk (writes refused with IOERR), and on our VMM
# a queue of a bad size (DEVICE_NEEDS_RESET, the other disk unaffected). The host then checks the
# files: the guest's pattern where it wrote, zeros where it wrote zeroes, the read-only file
# untouched.
# TRANSPORT=pci (virtio_blk_pci.sh) runs the same checks over modern virtio-pci instead: our VMM
# with --transport pci, QEMU q35 with virtio-blk-pci; the split-ring runs take interrupts by
# MSI-X, the packed-ring runs by INTx (pci_irq=intx: MSI-X off, the IOAPIC pin of the interrupt
# line, ISR read to clear).
# labels: guests virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECTORS=16384 # 8 MiB disks

# pattern TAG MARK FIRST COUNT: the bytes blk_pattern_fill() (tests/guests/runtime/virtio_blk.c)
# puts in sectors FIRST..FIRST+COUNT-1: 32 lines of TAG, 10-digit sector number, '-', MARK.
pattern() {
	awk -v tag="$1" -v mark="$2" -v first="$3" -v count="$4" \
		'BEGIN { for (s = first; s < first + count; s++) for (i = 0; i < 32; i++)
			printf "%s%010u-%s\n", tag, s, mark }'
}

# make_disk PATH: the host pattern in sectors 0..2047, zeros up to 8 MiB.
make_disk() {
	pattern H HST 0 2048 >"$1"
	truncate -s $((SECTORS * 512)) "$1"
}

# check WHAT CMD...: a host-side check of the files, counted like the lib.sh checks.
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then lib_ok "file: $what"; else lib_fail "file: $what"; fi
}

sectors_of() { # FILE FIRST COUNT
	dd if="$1" bs=512 skip="$2" count="$3" status=none
}

# check_disks RW RO: what the guest must have left in the files.
check_disks() {
	check "guest pattern at 4096..4167" cmp <(sectors_of "$1" 4096 72) <(pattern G GST 4096 72)
	check "zeros at 6000..6015" cmp <(sectors_of "$1" 6000 16) <(head -c 8192 /dev/zero)
	check "host pattern intact" cmp <(sectors_of "$1" 0 2048) <(pattern H HST 0 2048)
	check "read-only disk untouched" cmp "$2" "$LIB_TMP/pristine.img"
}

expect_blk_output() {
	expect_pass
	if [ "$TRANSPORT" = pci ]; then
		expect_output "^disk 0: virtio-pci 00:[0-9a-f]{2}\.0, BAR 0x[0-9a-f]+, $1 "
		expect_output "^disk 1: virtio-pci 00:[0-9a-f]{2}\.0, BAR 0x[0-9a-f]+, $1 "
	fi
	expect_output '^GET_ID: ".*": ok$'
	expect_output '^32 requests in flight: ok'
	expect_output '^interrupt suppression .*: 7 completions without an interrupt, then 1: ok$'
	expect_output '^past the end -> IOERR, unknown type -> UNSUPP: ok$'
	expect_output '^WRITE_ZEROES \(read back zeros\), DISCARD: ok$'
	expect_output '^read-only disk: RO offered, read ok, write -> IOERR: ok$'
}

# Per transport: VMM options before the disks, QEMU machine and device model, guest arguments.
virtio_transport_init
qemu_blk=$(qemu_model blk)

irq_kind() { [ "$1" = split ] && echo MSI-X || echo INTx; }

make_disk "$LIB_TMP/pristine.img"
rw="$LIB_TMP/rw.img"
ro="$LIB_TMP/ro.img"

for ring in split packed; do
	make_disk "$rw"
	make_disk "$ro"
	run_vmm virtio_blk "${vmm_transport[@]}" --disk "$rw,serial=vmm-disk-0,discard=on" \
		--disk "$ro,ro" --append "$(guest_args $ring) ring=$ring sectors=$SECTORS \
id=vmm-disk-0 ro_disk discard bad_queue"
	expect_blk_output "$(irq_kind $ring)"
	expect_output '^bad queue size: status 0x4f \(DEVICE_NEEDS_RESET\), config interrupt: ok$'
	expect_output '^the other disk kept working; reset revived the failed one: ok$'
	check_disks "$rw" "$ro"
done

if have_qemu; then
	for ring in split packed; do
		packed=off
		[ "$ring" = packed ] && packed=on
		make_disk "$rw"
		make_disk "$ro"
		QEMU_MACHINE=$qemu_machine run_qemu virtio_blk "${qemu_extra[@]}" \
			-drive "id=d0,file=$rw,format=raw,if=none,discard=unmap" \
			-device "$qemu_blk,drive=d0,serial=qemu-disk-0,packed=$packed$qemu_opts" \
			-drive "id=d1,file=$ro,format=raw,if=none,readonly=on" \
			-device "$qemu_blk,drive=d1,packed=$packed$qemu_opts" \
			-append "$(guest_args $ring) ring=$ring sectors=$SECTORS id=qemu-disk-0 \
ro_disk discard"
		expect_blk_output "$(irq_kind $ring)"
		check_disks "$rw" "$ro"
	done
fi
finish
