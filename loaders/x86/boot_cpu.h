/* Initial vCPU state for each boot mode, as data: the GDT and page tables go to guest memory,
 * the registers into KVM's structs, and nothing here calls KVM (the caller does the ioctls). */
#ifndef VMM_BOOT_CPU_H
#define VMM_BOOT_CPU_H

#include <linux/kvm.h>

#include "base/guest_mem.h"
#include "loaders/boot.h"

/* Selectors of our boot GDT (at BOOT_GDT_ADDR): entries 0 and 1 null, then code and data, as
 * Linux's boot protocol names them (__BOOT_CS = 0x10, __BOOT_DS = 0x18). The code descriptor
 * is 64-bit (L=1) for BOOT_MODE_LINUX64 and 32-bit (D=1) for BOOT_MODE_PVH32. */
#define BOOT_GDT_CS	 0x10
#define BOOT_GDT_DS	 0x18
#define BOOT_GDT_ENTRIES 4

/* Page-table flags (Intel SDM vol. 3 §4.5). */
#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE   (1ULL << 1)
#define PTE_PS	    (1ULL << 7) /* 2 MiB page in a PD entry */

/* Control-register and EFER bits (Intel SDM vol. 3 §2.5, §2.2.1). */
#define CR0_PE	 (1ULL << 0)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Writes the boot GDT (and, for BOOT_MODE_LINUX64, identity page tables for the first 4 GiB in
 * 2 MiB pages at BOOT_PML4_ADDR: PML4, PDPT, 4 PDs) into `mem`, then sets up `sregs` (as read by
 * KVM_GET_SREGS; segments, GDT/IDT, CR0/CR3/CR4/EFER are overwritten, the rest kept) and
 * `regs` (zeroed, then RIP, RFLAGS and the boot-info register: RSI = zero page for Linux,
 * RBX = start_info for PVH).
 * Linux64: CR0 = PE|ET|NE|PG, CR4 = PAE, EFER = LME|LMA, CS long mode (boot.rst "64-bit Boot
 * Protocol"). PVH32: CR0 = PE|ET, CR4 = 0, EFER = 0, flat 32-bit segments, TR a 32-bit busy TSS
 * of limit 0x67 (Xen docs/misc/pvh.pandoc). Returns 0, -EINVAL (unknown mode) or -EFAULT. */
int boot_cpu_setup(struct guest_mem *mem, const struct boot_entry *e, struct kvm_sregs *sregs,
		   struct kvm_regs *regs);

#endif
