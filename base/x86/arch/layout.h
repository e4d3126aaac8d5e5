/* x86_64's guest-physical and port address map, in one place. Included only through
 * base/layout.h (which says what every architecture's arch/layout.h defines); the names here
 * beyond that list are x86's, for x86 code.
 *
 * RAM:     [0, min(ram, MMIO_HOLE_START)) and, for the rest, from 4 GiB up.
 * Hole:    [MMIO_HOLE_START, 4 GiB) holds every MMIO device window, below. */
#ifndef VMM_BASE_X86_ARCH_LAYOUT_H
#define VMM_BASE_X86_ARCH_LAYOUT_H

#ifndef VMM_LAYOUT_H
#error "include base/layout.h, not arch/layout.h"
#endif

#include <stdint.h>

#define MMIO_HOLE_START 0xC0000000ULL
#define MMIO_HOLE_END	0x100000000ULL
#define HIGH_RAM_START	0x100000000ULL
#define GUEST_RAM_MAX	GIB(1024)

/* Memory beyond RAM, in this order, none of it in e820 (the guest learns of it from the virtio
 * devices' config spaces, virtio 1.2 5.15 and 5.19):
 *   the virtio-mem region (--memory-hotplug): right above the RAM, aligned to its slot size,
 *   when it fits below the MMIO hole; above 4 GiB (after the high RAM) once the RAM reaches
 *   the hole or the region would run into it;
 *   the virtio-pmem windows (--pmem), one per file, each 2 MiB-aligned (the guest's DAX needs
 *   it), above 4 GiB after the RAM and the virtio-mem region.
 * LAYOUT_PHYS_MAX keeps every address within 40 bits, which every x86-64 CPU maps; the top
 * quarter of that, [LAYOUT_MMIO64_BASE, LAYOUT_PHYS_MAX), is the PCI host bridge's 64-bit
 * memory window (passed-through devices' 64-bit BARs, docs/vfio.md), so memory of any kind
 * ends by LAYOUT_MEM_MAX. A fixed place rather than "right above whatever is there at boot":
 * pmem windows hot-added later then can never run into it. */
#define LAYOUT_PMEM_ALIGN  MIB(2)
#define LAYOUT_PHYS_MAX	   (1ULL << 40)
#define LAYOUT_MMIO64_BASE GIB(768)
#define LAYOUT_MMIO64_SIZE (LAYOUT_PHYS_MAX - LAYOUT_MMIO64_BASE)
#define LAYOUT_MEM_MAX	   LAYOUT_MMIO64_BASE

/* The RAM helpers base/layout.h declares, for the map above. */
#define LAYOUT_RAM_RANGES_MAX 2

static inline int layout_ram_ranges(uint64_t ram, struct layout_range *out)
{
	uint64_t low = ram < MMIO_HOLE_START ? ram : MMIO_HOLE_START;

	out[0] = (struct layout_range){0, low};
	if (ram == low)
		return 1;
	out[1] = (struct layout_range){HIGH_RAM_START, ram - low};
	return 2;
}

static inline uint64_t layout_ram_end(uint64_t ram)
{
	return ram <= MMIO_HOLE_START ? ram : HIGH_RAM_START + (ram - MMIO_HOLE_START);
}

static inline uint64_t layout_hotplug_base(uint64_t ram, uint64_t size, uint64_t align)
{
	uint64_t base = layout_align_up(layout_ram_end(ram), align);

	if (base < HIGH_RAM_START && base + size > MMIO_HOLE_START)
		base = layout_align_up(HIGH_RAM_START, align); /* the RAM ends below 4 GiB here */
	return base + size <= LAYOUT_MEM_MAX ? base : 0;
}

/* Above 4 GiB, after the RAM and the virtio-mem region. */
static inline uint64_t layout_pmem_start(uint64_t ram, uint64_t hp_base, uint64_t hp_size)
{
	uint64_t end = layout_ram_end(ram);

	if (hp_size && hp_base + hp_size > end)
		end = hp_base + hp_size;
	if (end < HIGH_RAM_START)
		end = HIGH_RAM_START;
	return layout_align_up(end, LAYOUT_PMEM_ALIGN);
}

/* Boot timer (Firecracker-compatible): the guest writes the byte 123 here. */
#define BOOT_TIMER_MMIO_BASE 0xC0000000ULL
#define BOOT_TIMER_MMIO_SIZE 0x1000ULL
/* ACPI Generic Event Device's event register (devices/acpi_ged.h), the page after the timer. */
#define ACPI_GED_MMIO_BASE 0xC0001000ULL
/* ACPI PCI hotplug registers (devices/pci/acpi_pcihp.h), a page of its own. */
#define ACPI_PCIHP_MMIO_BASE 0xC0008000ULL
/* ACPI CPU hotplug registers (devices/acpi_cpuhp.h), the page after. */
#define ACPI_CPUHP_MMIO_BASE 0xC0009000ULL

/* virtio-mmio windows: VIRTIO_MMIO_MAX windows of VIRTIO_MMIO_SIZE bytes each. */
#define VIRTIO_MMIO_BASE 0xD0000000ULL
#define VIRTIO_MMIO_SIZE 0x1000ULL
#define VIRTIO_MMIO_MAX	 14
/* IOAPIC pin of virtio-mmio window i (0 <= i < VIRTIO_MMIO_MAX): 5, 6, 7, 9, ..., 19.
 * Pins 0-4 and 8 are the legacy ISA devices', 20-23 are PCI INTA-INTD. */
#define VIRTIO_MMIO_IRQ(i) ((i) < 3 ? 5 + (i) : 6 + (i))

/* PCI: ECAM for bus 0..255 and the window 32-bit memory BARs are placed in. */
#define PCI_ECAM_BASE	0xE0000000ULL
#define PCI_ECAM_SIZE	MIB(256)
#define PCI_MMIO32_BASE 0xF0000000ULL
#define PCI_MMIO32_SIZE 0x0EC00000ULL /* up to the IOAPIC */

#define IOAPIC_BASE 0xFEC00000ULL
#define LAPIC_BASE  0xFEE00000ULL
#define IOAPIC_PINS 24

/* Low memory used by the VMM's own boot structures (below 1 MiB, reserved in e820). */
#define BOOT_GDT_ADDR	    0x500ULL
#define BOOT_IDT_ADDR	    0x520ULL
#define BOOT_PARAMS_ADDR    0x7000ULL /* Linux zero page, 4 KiB */
#define BOOT_CMDLINE_ADDR   0x20000ULL
#define BOOT_CMDLINE_MAX    0x10000ULL /* 64 KiB */
#define BOOT_PML4_ADDR	    0x9000ULL  /* PML4, PDPT, 4 PDs: 0x9000-0xEFFF */
#define PVH_START_INFO_ADDR 0x6000ULL
#define PVH_MEMMAP_ADDR	    0x6400ULL /* hvm_memmap_table_entry[] */
#define PVH_MODLIST_ADDR    0x6800ULL /* hvm_modlist_entry[] */
/* MP table: floating pointer and configuration table in the BIOS ROM area, which Linux scans
 * (0xF0000-0xFFFFF) and e820 reserves; 64 KiB holds 64 CPUs and every interrupt entry. */
#define MPTABLE_ADDR	 0xF0000ULL
#define MPTABLE_END	 0x100000ULL
#define EBDA_START	 0x9FC00ULL
#define BIOS_ROM_START	 0xE0000ULL /* reserved up to 1 MiB */
#define KERNEL_LOAD_ADDR 0x100000ULL

/* ACPI tables (firmware/acpi/acpi.h): the RSDP first, where Linux scans for it (0xE0000-0xFFFFF,
 * 16-byte aligned), then the tables, up to the MP table. */
#define ACPI_ADDR 0xE0000ULL
#define ACPI_END  MPTABLE_ADDR
/* The VM generation ID (devices/vmgenid.h): 16 bytes in the reserved window below 1 MiB (the
 * legacy video area, which no device of ours decodes), where the guest maps it (Linux: memremap)
 * and nothing else writes. Direct kernel boots only: with --firmware the firmware owns it. */
#define VMGENID_ADDR 0xA0000ULL

/* Ports. */
#define PORT_COM1	0x3F8
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD	0x64
#define PORT_RTC	0x70
#define PORT_POST	0x80
#define PORT_DEBUG_EXIT 0xF4
#define PORT_BOOT_TIMER 0x3F0 /* older Firecracker boot-timer port */
#define PORT_PCI_CONFIG 0xCF8
/* ACPI: the sleep control/status registers of a direct or UEFI boot (as Cloud Hypervisor's), or
 * a BIOS boot's PM1 block and PM timer (devices/acpi_pm1.h; where QEMU's q35 has its ICH9's). */
#define PORT_ACPI_PM 0x600

/* The chipset's reset control register, inside the PCI window (devices/x86/reset_control.h) */
#define PORT_RESET_CONTROL 0xCF9

/* ISA IRQs wired to the same IOAPIC pin number. */
#define IRQ_KBD	     1 /* i8042 keyboard */
#define IRQ_ACPI_GED 3 /* the Generic Event Device's edge (COM2's ISA line: no COM2 here) */
#define IRQ_COM1     4
/* A BIOS boot's SCI (level, active high, as QEMU's pc has it); virtio-mmio window 3's line too,
 * shared: nothing raises the SCI (devices/acpi_pm1.h). */
#define IRQ_ACPI_SCI	  9
#define PCI_INTX_IRQ_BASE 20 /* INTA..INTD of bus 0 after swizzling: pins 20-23 */
/* KVM's default routes, which KVM_SET_GSI_ROUTING would otherwise drop (vmm/vm/vm_pci.h): GSI
 * 0-23 to IOAPIC pins 0-23 and GSI 0-15 to the PICs. */
#define IRQ_DEFAULT_ROUTES 40
/* An MSI is its address and data alone (no requester ID in KVM's routes). */
#define LAYOUT_MSI_DEVID 0
/* The first GSI of MSI routes: after the IOAPIC's 24 pins. */
#define IRQ_FIRST_MSI_GSI 24

#endif
