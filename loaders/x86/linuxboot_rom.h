/* The option ROM that boots a Linux kernel from fw_cfg under a PC BIOS (SeaBIOS), for
 * --firmware with --kernel: what QEMU's linuxboot_dma.bin does, our own code
 * (loaders/x86/linuxboot_rom.S, whose bytes linuxboot_rom.c holds). The VMM offers it as the
 * fw_cfg file LINUXBOOT_ROM_NAME and names it first in `bootorder`; SeaBIOS runs it as a boot
 * entry, and it copies the kernel's setup, kernel, command line and initrd from fw_cfg by DMA to
 * the addresses in fw_cfg and enters the setup code in real mode. OVMF does not run it: it loads
 * the same fw_cfg items itself. */
#ifndef LOADERS_X86_LINUXBOOT_ROM_H
#define LOADERS_X86_LINUXBOOT_ROM_H

#include <stdint.h>

#define LINUXBOOT_ROM_SIZE 512
#define LINUXBOOT_ROM_NAME "genroms/linuxboot.bin"
/* Its OpenFirmware path in `bootorder` (SeaBIOS: "/rom@" + the file's name). */
#define LINUXBOOT_ROM_BOOTPATH "/rom@" LINUXBOOT_ROM_NAME

/* The ROM's bytes, with its PnP header's and its own checksums set. */
void linuxboot_rom(uint8_t out[LINUXBOOT_ROM_SIZE]);

#endif
