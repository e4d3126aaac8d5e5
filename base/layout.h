/* The guest-physical address map, in one place: the architecture-neutral part here, the map
 * itself in the architecture's arch/layout.h (base/${VMM_ARCH}/arch/layout.h, x86's in
 * base/x86/arch/layout.h; CMake puts base/${VMM_ARCH} on the include path of every layer, as
 * Linux's <asm/...> headers). Include this header, never arch/layout.h itself.
 *
 * What every architecture's arch/layout.h defines, under these names, since generic code uses
 * them (a missing one stops the build below):
 *   RAM:        GUEST_RAM_MAX (the largest RAM a guest may have), LAYOUT_PHYS_MAX (the first
 *               guest-physical address past everything), LAYOUT_MEM_MAX (the first address past
 *               any memory: RAM, virtio-mem, virtio-pmem), LAYOUT_PMEM_ALIGN, and the inline
 *               functions layout_ram_ranges(), layout_ram_end(), layout_hotplug_base(),
 *               layout_pmem_start() declared below, and LAYOUT_RAM_RANGES_MAX;
 *   virtio:     VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, VIRTIO_MMIO_MAX (windows of the virtio-mmio
 *               transport), VIRTIO_MMIO_IRQ(i) (the interrupt line of window i);
 *   PCI:        PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE, PCI_MMIO32_SIZE,
 *               LAYOUT_MMIO64_BASE, LAYOUT_MMIO64_SIZE (the host bridge's 64-bit window),
 *               PCI_INTX_IRQ_BASE (the interrupt line of INTA, INTB-INTD following);
 *   platform:   BOOT_TIMER_MMIO_BASE, BOOT_TIMER_MMIO_SIZE, ACPI_GED_MMIO_BASE,
 *               ACPI_PCIHP_MMIO_BASE, ACPI_CPUHP_MMIO_BASE (MMIO pages of those devices),
 *               IRQ_ACPI_GED (the Generic Event Device's interrupt line);
 *   ACPI:       ACPI_ADDR, ACPI_END (the area the VMM writes the ACPI tables into, the RSDP
 *               first), VMGENID_ADDR (the VM generation ID's 16 bytes, direct kernel boots);
 *   boot:       KERNEL_LOAD_ADDR (no kernel segment below it), BOOT_CMDLINE_MAX.
 * The other names of x86's map (the MMIO hole, IOAPIC/LAPIC, the BOOT_* and PVH_* low-memory
 * addresses, the MP table, EBDA, ports, ISA IRQs) are x86's, for x86 folders only: generic code
 * reaches them through arch hooks (vmm/vm/arch_vm.h, firmware/machine.h). */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

#include <stdint.h>

#define KIB(x) ((uint64_t)(x) << 10)
#define MIB(x) ((uint64_t)(x) << 20)
#define GIB(x) ((uint64_t)(x) << 30)

static inline uint64_t layout_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a; /* a: a power of two; callers keep v far below 2^63 */
}

/* The guest-physical ranges a guest with `ram` bytes of RAM has its RAM in, in address order,
 * in out[0..n) (n <= LAYOUT_RAM_RANGES_MAX, the count returned); the bytes of the RAM follow
 * each other through the ranges in that order (x86: below the MMIO hole, then from 4 GiB). */
struct layout_range {
	uint64_t start, size;
};
static inline int layout_ram_ranges(uint64_t ram, struct layout_range *out);

/* The first byte past the RAM of a guest with `ram` bytes. */
static inline uint64_t layout_ram_end(uint64_t ram);

/* Guest address of a virtio-mem region of `size` bytes aligned to `align` for `ram` bytes of
 * RAM; 0 when it does not fit below LAYOUT_MEM_MAX. */
static inline uint64_t layout_hotplug_base(uint64_t ram, uint64_t size, uint64_t align);

/* Where the virtio-pmem windows start (LAYOUT_PMEM_ALIGN-aligned), after the RAM and the
 * virtio-mem region [hp_base, hp_base + hp_size) (hp_size 0: none). */
static inline uint64_t layout_pmem_start(uint64_t ram, uint64_t hp_base, uint64_t hp_size);

/* The VM generation ID with --firmware (QEMU's interface, which SeaBIOS and OVMF follow): the
 * fw_cfg file etc/vmgenid_guid, this many bytes, the ID at this offset in it (bytes before it
 * stay zero, so that OVMF's loader does not take the ID for an ACPI table header), allocated by
 * etc/table-loader; the DSDT's ADDR gets the ID's address patched in and the firmware writes it
 * back to etc/vmgenid_addr, whence the VMM learns it. */
#define VMGENID_FW_BLOB_SIZE 4096
#define VMGENID_FW_ID_OFFSET 40

#include "arch/layout.h"

#if !defined(GUEST_RAM_MAX) || !defined(LAYOUT_PHYS_MAX) || !defined(LAYOUT_MEM_MAX) ||            \
    !defined(LAYOUT_PMEM_ALIGN) || !defined(LAYOUT_RAM_RANGES_MAX)
#error "arch/layout.h lacks a RAM name base/layout.h lists"
#endif
#if !defined(VIRTIO_MMIO_BASE) || !defined(VIRTIO_MMIO_SIZE) || !defined(VIRTIO_MMIO_MAX) ||       \
    !defined(VIRTIO_MMIO_IRQ)
#error "arch/layout.h lacks a virtio-mmio name base/layout.h lists"
#endif
#if !defined(PCI_ECAM_BASE) || !defined(PCI_ECAM_SIZE) || !defined(PCI_MMIO32_BASE) ||             \
    !defined(PCI_MMIO32_SIZE) || !defined(LAYOUT_MMIO64_BASE) || !defined(LAYOUT_MMIO64_SIZE) ||   \
    !defined(PCI_INTX_IRQ_BASE)
#error "arch/layout.h lacks a PCI name base/layout.h lists"
#endif
#if !defined(BOOT_TIMER_MMIO_BASE) || !defined(BOOT_TIMER_MMIO_SIZE) ||                            \
    !defined(ACPI_GED_MMIO_BASE) || !defined(ACPI_PCIHP_MMIO_BASE) ||                              \
    !defined(ACPI_CPUHP_MMIO_BASE) || !defined(KERNEL_LOAD_ADDR) || !defined(BOOT_CMDLINE_MAX)
#error "arch/layout.h lacks a platform or boot name base/layout.h lists"
#endif
#if !defined(IRQ_ACPI_GED) || !defined(ACPI_ADDR) || !defined(ACPI_END) || !defined(VMGENID_ADDR)
#error "arch/layout.h lacks an ACPI name base/layout.h lists"
#endif

#endif
