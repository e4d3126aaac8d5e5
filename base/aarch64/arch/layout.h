/* aarch64's guest-physical address map, in one place. Included only through base/layout.h
 * (which says what every architecture's arch/layout.h defines); the names here beyond that list
 * are aarch64's, for aarch64 code.
 *
 * The shape is the one Firecracker and Cloud Hypervisor give an arm64 guest, after Arm's
 * "Principles of ARM Memory Maps" (DEN0001C): devices in the low 2 GiB, RAM above them.
 *   [0, 1 GiB)        the interrupt controller (GICv3, or GICv2) at its top; the rest left
 *                     unmapped
 *                     (room for a flash device for firmware later)
 *   [1 GiB, 2 GiB)    the device region: platform pages, virtio-mmio windows, the PCI host
 *                     bridge's 32-bit window, and its ECAM in the last 256 MiB
 *   [2 GiB, ...)      RAM, one range as big as the guest's, then virtio-mem and virtio-pmem
 *   [768 GiB, 1 TiB)  the PCI host bridge's 64-bit window (as on x86)
 * LAYOUT_PHYS_MAX is 40 bits: KVM's default IPA size on arm64 (KVM_CREATE_VM with type 0), which
 * every arm64 KVM host supports.
 *
 * Interrupt lines here are SPI numbers counted from the first SPI (INTID 32), which is what
 * KVM_IRQFD and KVM_IRQ_LINE take on arm64 with the in-kernel GIC: line n is INTID 32 + n. */
#ifndef VMM_BASE_AARCH64_ARCH_LAYOUT_H
#define VMM_BASE_AARCH64_ARCH_LAYOUT_H

#ifndef VMM_LAYOUT_H
#error "include base/layout.h, not arch/layout.h"
#endif

#include <stdint.h>

/* The GICv3 at the top of the first GiB: the distributor, below it one redistributor frame
 * pair per vCPU (RD_base and SGI_base, 64 KiB each), below those the ITS (MSIs of PCI devices). */
#define GIC_DIST_SIZE	   KIB(64)
#define GIC_DIST_BASE	   (GIB(1) - GIC_DIST_SIZE)
#define GIC_REDIST_SIZE	   KIB(128) /* per vCPU */
#define GIC_REDIST_BASE(n) (GIC_DIST_BASE - (uint64_t)(n)*GIC_REDIST_SIZE)
#define GIC_ITS_SIZE	   KIB(128)
#define GIC_ITS_BASE(n)	   (GIC_REDIST_BASE(n) - GIC_ITS_SIZE)
#define GIC_SPI_MAX	   128 /* SPIs the VMM configures (KVM wants a multiple of 32) */
/* On a host whose KVM offers only a GICv2: its distributor (4 KiB) where the GICv3's is, its CPU
 * interface (8 KiB) in the 64 KiB below (64 KiB apart, so that a 64 KiB-page host maps the
 * hardware's virtual CPU interface there), at most 8 CPUs (GICv2's target lists are 8 bits). */
#define GIC_V2_DIST_SIZE KIB(4)
#define GIC_V2_CPU_SIZE	 KIB(8)
#define GIC_V2_CPU_BASE	 (GIC_DIST_BASE - KIB(64))
#define GIC_V2_MAX_CPUS	 8
/* and its GICv2m MSI frame (devices/gicv2m.h: KVM has none; the VMM's own), 64 KiB below the CPU
 * interface, which gives PCI devices MSIs through the last GIC_V2M_SPIS of the SPIs (no device
 * line is there: see the lines below) */
#define GIC_V2M_BASE	  (GIC_V2_CPU_BASE - KIB(64))
#define GIC_V2M_SPI_FIRST 64
#define GIC_V2M_SPIS	  (GIC_SPI_MAX - GIC_V2M_SPI_FIRST)

/* The device region [1 GiB, 2 GiB). */
#define DEVICE_REGION_START GIB(1)
#define DEVICE_REGION_END   GIB(2)

/* Boot timer (Firecracker-compatible): the guest writes the byte 123 here. */
#define BOOT_TIMER_MMIO_BASE DEVICE_REGION_START
#define BOOT_TIMER_MMIO_SIZE 0x1000ULL
/* ACPI Generic Event Device's event register (devices/acpi_ged.h), the page after the timer. */
#define ACPI_GED_MMIO_BASE (DEVICE_REGION_START + 0x1000ULL)
/* The PL011 UART (Linux: console=ttyAMA0, earlycon=pl011,<addr>) and the PL031 RTC. */
#define PL011_MMIO_BASE (DEVICE_REGION_START + 0x2000ULL)
#define PL031_MMIO_BASE (DEVICE_REGION_START + 0x3000ULL)
#define PL0X1_MMIO_SIZE 0x1000ULL
/* ACPI PCI and CPU hotplug registers (devices/pci/acpi_pcihp.h, devices/acpi_cpuhp.h). */
#define ACPI_PCIHP_MMIO_BASE (DEVICE_REGION_START + 0x8000ULL)
#define ACPI_CPUHP_MMIO_BASE (DEVICE_REGION_START + 0x9000ULL)

/* virtio-mmio windows: VIRTIO_MMIO_MAX windows of VIRTIO_MMIO_SIZE bytes each. */
#define VIRTIO_MMIO_BASE (DEVICE_REGION_START + MIB(1))
#define VIRTIO_MMIO_SIZE 0x1000ULL
#define VIRTIO_MMIO_MAX	 32

/* Interrupt lines (SPI offsets, see the top): the platform devices first, the four PCI INTx
 * lines of bus 0 (INTA..INTD after swizzling), then one line per virtio-mmio window. */
#define IRQ_PL011	   0
#define IRQ_PL031	   1
#define IRQ_ACPI_GED	   2
#define PCI_INTX_IRQ_BASE  12
#define VIRTIO_MMIO_IRQ(i) (16 + (i))
/* The routes KVM_SET_GSI_ROUTING must keep (vmm/vm/vm_pci.h): GSI n to SPI n for every line
 * above (KVM's default table on arm64 has one per SPI; a table set by the VMM replaces it). */
#define IRQ_DEFAULT_ROUTES VIRTIO_MMIO_IRQ(VIRTIO_MMIO_MAX)
/* The ITS translates an MSI by its requester ID too: KVM's MSI routes and KVM_SIGNAL_MSI carry it
 * (KVM_MSI_VALID_DEVID). */
#define LAYOUT_MSI_DEVID 1
/* The first GSI of MSI routes: after every SPI (a GSI routed to an SPI cannot also carry an MSI
 * route: KVM_SET_GSI_ROUTING refuses the table). */
#define IRQ_FIRST_MSI_GSI GIC_SPI_MAX

/* PCI: the window 32-bit memory BARs are placed in, then ECAM for bus 0..255 up to the RAM. */
#define PCI_MMIO32_BASE (DEVICE_REGION_START + MIB(256))
#define PCI_MMIO32_SIZE MIB(512)
#define PCI_ECAM_SIZE	MIB(256)
#define PCI_ECAM_BASE	(DEVICE_REGION_END - PCI_ECAM_SIZE)

/* RAM: one range from RAM_START. The top quarter of the 40-bit space is the 64-bit PCI window,
 * so memory of any kind ends by LAYOUT_MEM_MAX (x86's reasoning, base/x86/arch/layout.h). */
#define RAM_START	   DEVICE_REGION_END
#define LAYOUT_PMEM_ALIGN  MIB(2)
#define LAYOUT_PHYS_MAX	   (1ULL << 40)
#define LAYOUT_MMIO64_BASE GIB(768)
#define LAYOUT_MMIO64_SIZE (LAYOUT_PHYS_MAX - LAYOUT_MMIO64_BASE)
#define LAYOUT_MEM_MAX	   LAYOUT_MMIO64_BASE
#define GUEST_RAM_MAX	   (LAYOUT_MEM_MAX - RAM_START)

/* The start of RAM as Firecracker has it: 2 MiB for what the VMM writes (the ACPI tables in the
 * first MiB, the VM generation ID in the last page), then the kernel. The arm64 Image is loaded
 * at a 2 MiB-aligned base (Linux Documentation/arch/arm64/booting.rst); its command line (at
 * most 2048 bytes, COMMAND_LINE_SIZE of arch/arm64/include/uapi/asm/setup.h) and the initrd's
 * place reach the kernel in the device tree, which goes at the end of RAM (at most 2 MiB,
 * booting.rst). */
#define ACPI_ADDR	 RAM_START
#define ACPI_END	 (RAM_START + MIB(1))
#define VMGENID_ADDR	 (RAM_START + MIB(2) - KIB(4))
#define KERNEL_LOAD_ADDR (RAM_START + MIB(2))
#define BOOT_CMDLINE_MAX 2048ULL

/* The RAM helpers base/layout.h declares, for the map above. */
#define LAYOUT_RAM_RANGES_MAX 1

static inline int layout_ram_ranges(uint64_t ram, struct layout_range *out)
{
	out[0] = (struct layout_range){RAM_START, ram};
	return 1;
}

static inline uint64_t layout_ram_end(uint64_t ram)
{
	return RAM_START + ram;
}

static inline uint64_t layout_hotplug_base(uint64_t ram, uint64_t size, uint64_t align)
{
	uint64_t base = layout_align_up(layout_ram_end(ram), align);

	return base + size <= LAYOUT_MEM_MAX ? base : 0;
}

/* After the RAM and the virtio-mem region. */
static inline uint64_t layout_pmem_start(uint64_t ram, uint64_t hp_base, uint64_t hp_size)
{
	uint64_t end = layout_ram_end(ram);

	if (hp_size && hp_base + hp_size > end)
		end = hp_base + hp_size;
	return layout_align_up(end, LAYOUT_PMEM_ALIGN);
}

#endif
