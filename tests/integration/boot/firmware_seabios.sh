#!/usr/bin/env bash
# --firmware with Debian's unmodified SeaBIOS (the seabios package): bios.bin (128 KiB) and
# bios-256k.bin boot from the reset vector, print their banner on the debug console (port
# 0x402, --firmware-log), find fw_cfg with its DMA interface, take the memory map from etc/e820
# (two RAM ranges around the 32-bit hole with 4 GiB) and the CPU count, and reach the boot
# menu's "No bootable device" without a disk, and boot a boot sector from a virtio-blk disk over
# PCI, and reset the machine through port 0xCF9 (status 0). Firmware files of a bad size are refused with exit 2 and a message.
# labels: guests firmware
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

SEABIOS_DIR=${SEABIOS_DIR:-/usr/share/seabios}
[ -r "$SEABIOS_DIR/bios.bin" ] ||
	skip "no seabios" "$SEABIOS_DIR/bios.bin is missing (Debian's seabios package, tools/setup.sh)"

# Boots `image` with `args` until its log shows "No bootable device" (or 90 s pass), then
# stops the VMM with SIGTERM; the VMM must still be running then (no crash, no early exit).
boot_firmware() {
	local image=$1 pid i
	shift
	lib_new_run "vmm --firmware $image $*"
	FW_LOG=$LIB_TMP/run$LIB_RUNS.fw
	"$VMM" --firmware "$image" --firmware-log "$FW_LOG" "$@" </dev/null >"$RUN_OUT" \
		2>"$RUN_ERR" &
	pid=$!
	for i in $(seq 1 900); do
		grep -q "No bootable device" "$FW_LOG" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		lib_ok "$image: the VMM runs the firmware until stopped"
		kill -TERM "$pid"
	else
		lib_fail "$image: the VMM ended by itself"
	fi
	wait "$pid"
	RUN_STATUS=$?
}

expect_fw_line() {
	if grep -qE -- "$1" "$FW_LOG"; then
		lib_ok "firmware log has /$1/"
	else
		lib_fail "firmware log lacks /$1/"
		echo "--- firmware log ($RUN_LABEL)"
		cat "$FW_LOG"
		echo "--- stderr"
		cat "$RUN_ERR"
	fi
}

for image in bios.bin bios-256k.bin; do
	[ -r "$SEABIOS_DIR/$image" ] || continue
	boot_firmware "$SEABIOS_DIR/$image" --cpus 2 --mem 4G
	expect_fw_line '^SeaBIOS \(version '
	expect_fw_line '^Found QEMU fw_cfg$'
	expect_fw_line '^QEMU fw_cfg DMA interface supported$'
	expect_fw_line '^qemu/e820: addr 0x0000000000000000 len 0x00000000c0000000 \[RAM\]$'
	expect_fw_line '^qemu/e820: addr 0x0000000100000000 len 0x0000000040000000 \[RAM\]$'
	expect_fw_line '^Found 2 cpu\(s\) max supported 2 cpu\(s\)$'
	expect_fw_line '^No bootable device'
done

# Without --firmware-log the lines are in the VMM's log at -v -v.
boot_firmware "$SEABIOS_DIR/bios.bin" -v -v
if grep -q '^vmm: debug: firmware: Found QEMU fw_cfg$' "$RUN_ERR"; then
	lib_ok "-v -v logs the debug console"
else
	lib_fail "-v -v: no 'firmware: Found QEMU fw_cfg' line in the VMM's log"
fi

# A disk over virtio-pci: SeaBIOS enumerates the PCI bus (our host bridge, the virtio-blk
# function), places its BAR, reads the boot sector through its virtio-blk driver and jumps to it;
# the boot sector (hand-assembled below) writes a line to COM1 and halts with interrupts off,
# which ends the VMM with status 0.
#   cli; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8
#   l: lodsb; test al,al; jz h; out dx,al; jmp l
#   h: hlt; jmp h
#   msg: "BOOT SECTOR OK\n\0"            ... 0x55 0xAA at 510
python3 - "$LIB_TMP/boot.img" <<'PY'
import sys
code = bytes([0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84,
              0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd]) + b"BOOT SECTOR OK\n\0"
img = bytearray(1 << 20)
img[:len(code)] = code
img[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(img)
PY
lib_new_run "vmm --firmware bios.bin --transport pci --disk boot.img"
FW_LOG=$LIB_TMP/run$LIB_RUNS.fw
timeout -k 10 "$RUN_TIMEOUT" "$VMM" --firmware "$SEABIOS_DIR/bios.bin" --firmware-log "$FW_LOG" \
	--transport pci --disk "$LIB_TMP/boot.img" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 0
expect_output '^BOOT SECTOR OK$'
expect_fw_line '^PCI: init bdf=00:00.0 id=1b36:0008$'
expect_fw_line '^found virtio-blk at 00:01.0$'
expect_fw_line '^Booting from Hard Disk\.\.\.$'

# A machine reset through the chipset's reset control register (port 0xCF9), as SeaBIOS and OVMF
# reset: a boot sector that prints a line, then writes 0x06 (SYS_RST | RST_CPU) there. No
# --transport: with --firmware the disk is on PCI by default. The VMM ends with status 0, saying
# why.
#   (the loop above) h: mov dx,0xcf9; mov al,6; out dx,al; hlt; jmp $-1   msg at 0x7c1c
python3 - "$LIB_TMP/reset.img" <<'PY'
import sys
code = bytes([0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x1c, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84,
              0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xba, 0xf9, 0x0c, 0xb0, 0x06, 0xee, 0xf4,
              0xeb, 0xfd]) + b"RESETTING\n\0"
img = bytearray(1 << 20)
img[:len(code)] = code
img[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(img)
PY
lib_new_run "vmm --firmware bios.bin --disk reset.img (a reset through port 0xCF9)"
timeout -k 10 "$RUN_TIMEOUT" "$VMM" --firmware "$SEABIOS_DIR/bios.bin" --disk "$LIB_TMP/reset.img" \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 0
expect_output '^RESETTING$'
if grep -qE 'reset control \(port 0xcf9\): the guest asked for a hard reset \(0x06\)' "$RUN_ERR"; then
	lib_ok "the VMM says why it ended: $(grep -m1 'reset control' "$RUN_ERR")"
else
	lib_fail "no 'reset control (port 0xcf9)' line in the VMM's log"
	cat "$RUN_ERR"
fi

# Bad sizes: not whole 64 KiB blocks, too large, empty; a directory.
check_refused() {
	local what=$1 file=$2
	lib_new_run "vmm --firmware ($what)"
	timeout -k 10 30 "$VMM" --firmware "$file" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	if [ "$RUN_STATUS" = 2 ] && grep -q -- "--firmware $file: " "$RUN_ERR"; then
		lib_ok "$what: refused with exit 2: $(head -1 "$RUN_ERR")"
	else
		lib_fail "$what: status $RUN_STATUS, want 2 with a message"
		cat "$RUN_ERR"
	fi
}
head -c 100000 "$SEABIOS_DIR/bios.bin" >"$LIB_TMP/short.bin"
truncate -s 32M "$LIB_TMP/huge.bin"
: >"$LIB_TMP/empty.bin"
check_refused "100000 bytes" "$LIB_TMP/short.bin"
check_refused "32 MiB" "$LIB_TMP/huge.bin"
check_refused "empty" "$LIB_TMP/empty.bin"
check_refused "a directory" "$LIB_TMP"
finish
