/* What x86's boot tables take of the machine description (firmware/machine.h): the e820 and PVH
 * memory maps and the MP table's interrupt entries. */
#ifndef FIRMWARE_X86_MACHINE_X86_H
#define FIRMWARE_X86_MACHINE_X86_H

#include <asm/bootparam.h> /* struct boot_e820_entry */
#include <asm/e820.h>	   /* E820_RAM, E820_RESERVED */
#include <stdint.h>

#include "base/guest_mem.h"
#include "firmware/machine.h"
#include "firmware/x86/mptable.h"
#include "firmware/x86/pvh.h"

/* The e820 map: RAM outside machine_arch_reserved() usable, that range reserved (always
 * listed); sorted by address. Returns the number of entries, -ENOSPC when `max` is too small,
 * -EINVAL for a NULL argument. */
int machine_e820(const struct machine *m, struct boot_e820_entry *out, int max);

/* The same map as PVH hvm_memmap_table_entry[] (start_info.h: types are the e820 ones). */
int machine_pvh_memmap(const struct machine *m, struct hvm_memmap_table_entry *out, int max);

/* The MP-table entries beyond the 16 identity-mapped ISA IRQs: one per virtio-mmio window (ISA
 * bus, IRQ = pin, level/high), then one per PCI INTx (PCI bus 0, (dev << 2) | intx, level/low),
 * in the order added. UARTs on pins < 16 with edge/high need none. Returns the count, -ENOSPC
 * or -EINVAL (a pin the MP table cannot express). */
int machine_mp_irqs(const struct machine *m, struct mp_irq *out, int max);

/* Writes the MP table at `addr` for this machine (mptable_write() with machine_mp_irqs()).
 * The vCPUs must have APIC IDs 0..n-1 in order and the IOAPIC ID must be n, which is all the
 * MP writer can express: -EINVAL otherwise. Other errors as mptable_write(). */
int machine_write_mptable(const struct machine *m, struct guest_mem *mem, uint64_t addr);

#endif
