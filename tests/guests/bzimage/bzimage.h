/* The bzimage_check guest: the test-guest runtime packaged as a Linux bzImage and entered through
 * the 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol").
 *
 * File layout (bzimage.ld): boot sector + setup header + BZ_SETUP_SECTS setup sectors (header.S,
 * never run by a 64-bit loader), then the protected-mode kernel linked at 1 MiB whose offset 0x200
 * is startup_64 (entry64.S). Included from assembly and C. */
#ifndef GUEST_BZIMAGE_H
#define GUEST_BZIMAGE_H

#define BZ_SETUP_SECTS	  2	   /* real-mode setup sectors after the boot sector */
#define BZ_VERSION	  0x020F   /* boot protocol 2.15 */
#define BZ_LOAD_ADDR	  0x100000 /* code32_start, pref_address: we are not relocatable */
#define BZ_CMDLINE_SIZE	  2047	   /* as Linux: COMMAND_LINE_SIZE - 1 */
#define BZ_INITRD_MAX	  0x7FFFFFFF
#define BZ_KERNEL_ALIGN	  0x200000
#define BZ_ENTRY64_OFFSET 0x200
#define BZ_BOOT_CS	  0x10 /* boot.rst: __BOOT_CS */
#define BZ_BOOT_DS	  0x18 /* boot.rst: __BOOT_DS */

/* Slots (8 bytes each) of entry_state[]: what startup_64 found, saved before it changes anything.
 * Segment selectors fill the low 16 bits of a slot; GDTR/IDTR (sgdt/sidt: 10 bytes) take two. */
#define ES_RSI	  0
#define ES_RSP	  1
#define ES_RFLAGS 2
#define ES_CR0	  3
#define ES_CR3	  4
#define ES_CR4	  5
#define ES_EFER	  6
#define ES_CS	  7
#define ES_DS	  8
#define ES_ES	  9
#define ES_SS	  10
#define ES_FS	  11
#define ES_GS	  12
#define ES_GDTR	  13
#define ES_IDTR	  15
#define ES_SLOTS  17

#ifndef __ASSEMBLER__
#include <stdint.h>

#include <asm/bootparam.h>

extern uint64_t entry_state[ES_SLOTS];
/* The setup header exactly as header.S put it in the file (a second copy, in .rodata). */
extern const struct setup_header bz_image_header;

/* Linker-script values (bzimage.ld), as addresses of absolute symbols. */
extern char __bz_syssize[], __bz_init_size[], __image_start[], __image_end[];

/* The zero page startup_64 was given (RSI), or NULL if RSI was unusable (0 or above 4 GiB). */
const struct boot_params *bz_boot_params(void);

/* Called by startup_64 on the runtime's stack, GDT and page tables, BSS cleared: records the
 * zero page, describes it to the runtime as a PVH start_info, and runs runtime_main(). */
_Noreturn void bz_start(uint64_t boot_params_paddr);

/* entry_checks.c: the CPU state at startup_64 (see there); bp is bz_boot_params(), not NULL,
 * and its command line already checked (bounded, NUL-terminated). Fails the test on error. */
void check_entry_state(const struct boot_params *bp);

#endif

#endif
