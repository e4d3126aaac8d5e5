#!/usr/bin/env bash
# The virtio_blk test guest's disks and what it must leave in them (tests/guests/virtio_blk.c),
# for virtio_blk.sh (the in-process disk, and QEMU's) and virtio_blk_vhost_user.sh (a disk served
# by qemu-storage-daemon). Sourced after lib.sh.

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

# irq_kind RING: how the guest takes its interrupts on PCI (split: MSI-X, packed: INTx).
irq_kind() { [ "$1" = split ] && echo MSI-X || echo INTx; }
