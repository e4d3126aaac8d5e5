#!/usr/bin/env bash
# A Linux kernel booted through an unmodified firmware: `--firmware bios-256k.bin --kernel K
# --initrd I --append ...` (Debian's SeaBIOS). The VMM puts the kernel, initrd and command line
# in fw_cfg (QEMU's items), its own option ROM (genroms/linuxboot.bin, loaders/x86/linuxboot_rom.h)
# and a `bootorder` naming it first; SeaBIOS runs the ROM as its first boot entry, which copies
# the pieces by fw_cfg DMA and enters the kernel's real-mode setup. The ACPI tables reach the
# firmware through etc/table-loader (SeaBIOS finds the FADT through the XSDT), and SeaBIOS
# builds the MP table too (the default guest kernel reads the ACPI tables). The guest: that kernel
# with its initramfs, 1 vCPU (2 stop at "Bringing up secondary CPUs" on kvm_pvm, firmware or
# not), a copy of the default disk over virtio-pci, whose BAR SeaBIOS places. It must reach
# /init, see the command line given, read the disk's marker and end with `reboot -f` (status 0).
# No QEMU peer here: QEMU's own default firmware is this SeaBIOS with -kernel (its
# linuxboot_dma.bin), which linux_userspace_qemu already boots the same guest through; the
# stock-kernel firmware tests keep their QEMU boots.
# (OVMF is not covered yet: it needs an i440FX or Q35 identity and a PM timer, docs/running.md.)
# labels: slow linux guests firmware
# requires: kvm
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

BIOS=${SEABIOS_DIR:-/usr/share/seabios}/bios-256k.bin
[ -r "$BIOS" ] || skip "no seabios" "$BIOS is missing (Debian's seabios package, tools/setup.sh)"
env_out=$("$SOURCE_DIR/guest-images/build.sh" --print-env) ||
	skip "no guest image" "guest-images/build.sh could not build the default guest"
eval "$env_out"
RUN_TIMEOUT=${RUN_TIMEOUT_LINUX:-900}
append="$CMDLINE vmmguest.end=reboot vmmfw.test=$$"

cp "$DISK" "$LIB_TMP/vmm.ext4"

lib_new_run "vmm --firmware bios-256k.bin --kernel bzImage --initrd --transport pci --disk"
FW_LOG=$LIB_TMP/vmm.fw
start=$SECONDS
timeout -k 10 "$RUN_TIMEOUT" "$VMM" --firmware "$BIOS" --firmware-log "$FW_LOG" \
	--kernel "$BZIMAGE" --initrd "$INITRAMFS" --append "$append" --mem 512M \
	--transport pci --disk "$LIB_TMP/vmm.ext4" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
echo "vmm: $((SECONDS - start)) s"

expect_fw_line() {
	if grep -qE -- "$1" "$FW_LOG"; then
		lib_ok "firmware log has /$1/"
	else
		lib_fail "firmware log lacks /$1/"
		tail -20 "$FW_LOG"
	fi
}

expect_status 0
expect_fw_line '^1: /rom@genroms/linuxboot\.bin$'
expect_fw_line '^table\(50434146\)=0x[0-9a-f]+ \(via xsdt\)$'
expect_fw_line '^PCI: map device bdf=00:01\.0  bar 0, addr f[0-9a-e][0-9a-f]{6}'
expect_fw_line '^Booting from ROM\.\.\.$'
expect_output "Command line: $CMDLINE vmmguest.end=reboot vmmfw.test=$$\$"
expect_output 'found SMP MP-table at'
expect_output 'Run /init as init process'
expect_output '^VMM-GUEST-INIT: ok$'
expect_output '^VMM-GUEST-CPUS: 1$'
expect_output "^VMM-GUEST-DISK-MARKER: $DISK_MARKER\$"
expect_output '^VMM-GUEST-END: reboot$'
expect_no_output 'Kernel panic'

# What a firmware cannot boot: an ELF kernel (exit 2, with a message), --initrd alone.
lib_new_run "vmm --firmware --kernel vmlinux (ELF)"
timeout -k 10 60 "$VMM" --firmware "$BIOS" --kernel "$VMLINUX" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
if [ "$RUN_STATUS" = 2 ] && grep -q 'a firmware boots a bzImage' "$RUN_ERR"; then
	lib_ok "an ELF kernel with --firmware: exit 2: $(grep -m1 bzImage "$RUN_ERR")"
else
	lib_fail "an ELF kernel with --firmware: status $RUN_STATUS, want 2 with a message"
	cat "$RUN_ERR"
fi
lib_new_run "vmm --firmware --initrd"
"$VMM" --firmware "$BIOS" --initrd "$INITRAMFS" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2

finish
