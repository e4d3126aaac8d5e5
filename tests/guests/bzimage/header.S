/* The real-mode part of the bzImage: boot sector, setup header, setup sectors.
 *
 * Field offsets and meanings: Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"
 * and "Details of Header Fields". A 64-bit loader (our VMM) reads the header and never runs any
 * of this code; the real-mode stubs only halt, in case a BIOS or a 16-bit loader does.
 *
 * The header is emitted twice from one macro: in the file at 0x1F1 (what the loader parses) and
 * in .rodata as bz_image_header, so the guest can compare the zero page's copy field by field. */
#define __ASSEMBLY__ /* asm/bootparam.h: constants only */
#include <asm/bootparam.h>

#include "bzimage.h"

#define HDR_START   0x1F1
#define HDR_END	    0x26C /* after kernel_info_offset (2.15) */
#define VERSION_STR 0x280 /* kernel_version points here (minus 0x200) */
#define VID_NORMAL  0xFFFF

	.macro setup_header
	.byte BZ_SETUP_SECTS			/* 0x1F1 setup_sects */
	.word 0					/* 0x1F2 root_flags */
	.long __bz_syssize			/* 0x1F4 syssize: 16-byte units */
	.word 0					/* 0x1F8 ram_size (obsolete) */
	.word VID_NORMAL			/* 0x1FA vid_mode */
	.word 0					/* 0x1FC root_dev */
	.word 0xAA55				/* 0x1FE boot_flag */
	.byte 0xEB, HDR_END - 0x202		/* 0x200 jump: jmp short to the setup code */
	.ascii "HdrS"				/* 0x202 header */
	.word BZ_VERSION			/* 0x206 version */
	.long 0					/* 0x208 realmode_swtch */
	.word 0x1000				/* 0x20C start_sys_seg (obsolete) */
	.word VERSION_STR - 0x200		/* 0x20E kernel_version */
	.byte 0					/* 0x210 type_of_loader */
	.byte LOADED_HIGH			/* 0x211 loadflags */
	.word 0x8000				/* 0x212 setup_move_size */
	.long BZ_LOAD_ADDR			/* 0x214 code32_start */
	.long 0					/* 0x218 ramdisk_image */
	.long 0					/* 0x21C ramdisk_size */
	.long 0					/* 0x220 bootsect_kludge */
	.word 0					/* 0x224 heap_end_ptr */
	.byte 0					/* 0x226 ext_loader_ver */
	.byte 0					/* 0x227 ext_loader_type */
	.long 0					/* 0x228 cmd_line_ptr */
	.long BZ_INITRD_MAX			/* 0x22C initrd_addr_max */
	.long BZ_KERNEL_ALIGN			/* 0x230 kernel_alignment */
	.byte 0					/* 0x234 relocatable_kernel: linked at 1 MiB */
	.byte 21				/* 0x235 min_alignment: log2(2 MiB) */
	/* 0x236 xloadflags: the 64-bit entry only. No XLF_CAN_BE_LOADED_ABOVE_4G: we are not
	 * relocatable and map only the first 4 GiB, so the initrd must stay below 4 GiB. */
	.word XLF_KERNEL_64
	.long BZ_CMDLINE_SIZE			/* 0x238 cmdline_size */
	.long 0					/* 0x23C hardware_subarch: default PC */
	.quad 0					/* 0x240 hardware_subarch_data */
	.long 0					/* 0x248 payload_offset */
	.long 0					/* 0x24C payload_length */
	.quad 0					/* 0x250 setup_data */
	.quad BZ_LOAD_ADDR			/* 0x258 pref_address */
	.long __bz_init_size			/* 0x260 init_size */
	.long 0					/* 0x264 handover_offset */
	.long 0					/* 0x268 kernel_info_offset */
	.endm

	.section .bzimage.setup, "a"
	.code16
bz_boot_sector:
	cli
1:	hlt
	jmp 1b
	.ascii "bzimage_check: a test guest for 64-bit boot loaders\0"

	.org HDR_START
	setup_header
	.org HDR_END		/* too long: error here; too short: the .rodata copy's check */

bz_setup_code:				/* the jump at 0x200 lands here */
	cli
2:	hlt
	jmp 2b

	.org VERSION_STR
	.asciz "bzimage_check (test guest)"

	.org (BZ_SETUP_SECTS + 1) * 512
	.code64

	.section .rodata
	.p2align 3
	.globl bz_image_header
bz_image_header:
	setup_header
	.if . - bz_image_header != HDR_END - HDR_START
	.error "bz_image_header has the wrong size"
	.endif
