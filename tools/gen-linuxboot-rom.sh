#!/usr/bin/env bash
# Assembles loaders/x86/linuxboot_rom.S (the option ROM a BIOS runs to boot a kernel from
# fw_cfg) and prints its bytes as the C initializer loaders/x86/linuxboot_rom.c holds, so that
# the VMM's build needs no 16-bit toolchain. Run it after editing the .S and paste the output:
#   tools/gen-linuxboot-rom.sh > /tmp/rom.inc
# tests/unit/loaders/x86/test_linuxboot_rom.c checks that the two agree when gcc is there.
set -euo pipefail
src=$(dirname "$0")/../loaders/x86/linuxboot_rom.S
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -c -x assembler-with-cpp "$src" -o "$tmp/rom.o"
objcopy -O binary -j .text "$tmp/rom.o" "$tmp/rom.bin"
[ "$(stat -c %s "$tmp/rom.bin")" = 512 ] || { echo "linuxboot_rom.S: not 512 bytes" >&2; exit 1; }
od -An -v -tx1 -w12 "$tmp/rom.bin" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1, /g' -e 's/, $/,/' -e 's/^/\t/'
