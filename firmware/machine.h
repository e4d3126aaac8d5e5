/* One description of the machine the guest gets, and the formats generated from it.
 *
 * The VMM fills a struct machine while it builds the VM (each device adds itself when it is
 * created: RAM, vCPUs, the interrupt controller, UARTs, the PCI host bridge, virtio-mmio
 * windows, the test-exit and boot-timer devices; the loader adds the initrd, the VM its command
 * line). Every format that tells the guest about its machine is then generated from this one
 * description instead of from inputs of its own:
 *   - the e820 map (machine_e820(), for the zero page, firmware/x86/boot_params.h);
 *   - the PVH memory map (machine_pvh_memmap()) and the PVH module order (machine_dtb_module());
 *   - the extra MP-table interrupt entries (machine_mp_irqs(), machine_write_mptable());
 *     these three in firmware/x86/machine_x86.h;
 *   - the kernel command line with its virtio_mmio.device= entries (machine_cmdline());
 *   - a flattened device tree (firmware/fdt.h).
 *
 * The description is architecture-neutral: addresses are guest-physical, an interrupt is an
 * input number of the machine's interrupt controller plus a trigger mode and a polarity, and
 * only the generators know the x86 formats. Nothing here touches guest memory except
 * machine_write_mptable() (through base/guest_mem.h).
 *
 * Adders validate what they are given (sizes non-zero, no 64-bit wrap, pins inside the
 * interrupt controller, room in the fixed arrays) and return 0 or -EINVAL / -ENOSPC; the first
 * error also sticks in m->err, so a caller may add everything and check once.
 *
 * Interrupt conventions on x86 (this VMM): `pin` is the IOAPIC input (= KVM GSI). ISA devices
 * (the UARTs) are edge-triggered, active high, on pins 0-15; the 16 ISA IRQs are wired 1:1 to
 * IOAPIC pins 0-15 (firmware/x86/mptable.c says why), so they need no MP-table entry of their own.
 * virtio-mmio windows are level-triggered, active high (virtio 1.2 §4.2.2: the line stays up
 * until the driver acknowledges it). PCI INTx is level-triggered, active low (PCI 3.0 §2.2.6).
 *
 * Interrupt conventions on aarch64: `pin` is the SPI offset (INTID - 32), the number KVM_IRQ_LINE
 * and KVM_IRQFD take with the in-kernel GIC and base/aarch64/arch/layout.h's IRQ_* names; the
 * device tree's GIC specifier <0 pin type> takes the same number. The GIC has no active-low
 * inputs: every line is active high (PCI INTx too, machine_arch_intx_polarity(), as QEMU's virt
 * machine has it); the UARTs and the RTC are levels (their interrupt is the OR of status bits).
 *
 * ---- How each architecture's device tree comes from the same data ----
 * One generic walker (firmware/fdt.c) writes what every machine has from the description (the
 * root, /chosen, /aliases, /cpus, /memory, the PrimeCell clock, MMIO UARTs, the RTC, PCI,
 * virtio-mmio, the boot timer); the architecture's part (firmware/<arch>/fdt_<arch>.c, the
 * contract in firmware/fdt_arch.h) writes the interrupt controller and the nodes only it has,
 * each CPU's extra properties, and the interrupt specifier format. firmware/fdt.h has both
 * trees. The arm64 filler's description:
 *   - Interrupt controller: machine_set_arch_intc() sets a GICv3 (machine_set_gicv3()): base =
 *     distributor (GICD), `redist` the redistributor range (one 128 KiB frame pair per vCPU, in
 *     vCPU order), `its` the ITS (MSIs of PCI devices); `pins` the SPIs KVM is given. On a host
 *     whose KVM has only a GICv2, the VM replaces it with machine_set_arch_gicv2(): a GICv2
 *     (machine_set_gicv2()), base = distributor, `cpuif` its CPU interface, no ITS, at most 8
 *     vCPUs; PCI devices' MSIs go to its GICv2m frame (machine_set_gicv2m()), `v2m`.
 *   - cpu_ids[] hold each vCPU's MPIDR affinity (machine_arch_cpu_id(): KVM's default, Aff0 =
 *     index % 16, Aff1 = index / 16), which /cpus/cpu@N's reg is on arm64.
 *   - UARTs are MMIO PL011s (machine_add_pl011()), the RTC a PL031 (machine_set_pl031()).
 *   - PCI: no I/O window (arm64 has no port space); interrupt-map's parent specifier is the GIC's.
 *   - /chosen: bootargs, initrd, stdout-path as on x86; the kernel finds the DTB in x0 at entry
 *     (Documentation/arch/arm64/booting.rst), the memory map in the /memory nodes alone: the
 *     e820, MP-table and PVH generators are x86's and not built for arm64. The virtio-mmio
 *     windows are in the tree only (machine_cmdline() adds no virtio_mmio.device= on arm64).
 */
#ifndef FIRMWARE_MACHINE_H
#define FIRMWARE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define MACHINE_MAX_RAM		4
#define MACHINE_MAX_CPUS	254 /* 8-bit APIC IDs minus broadcast and the IOAPIC's ID */
#define MACHINE_MAX_UARTS	4
#define MACHINE_MAX_VIRTIO_MMIO 32
#define MACHINE_MAX_PCI_INTX	(31 * 4) /* every pin of bus 0's devices but the bridge's */
#define MACHINE_MAX_INTC_PINS	1024
#define MACHINE_GICV2_MAX_CPUS	8 /* a GICv2 target list has 8 bits */

enum machine_trigger { MACHINE_IRQ_EDGE, MACHINE_IRQ_LEVEL };
enum machine_polarity { MACHINE_IRQ_HIGH, MACHINE_IRQ_LOW };
/* Where a device's registers are: the memory space, or x86 port I/O. */
enum machine_space { MACHINE_SPACE_MEM, MACHINE_SPACE_IO };

struct machine_irq {
	uint32_t pin; /* input of the interrupt controller (x86: IOAPIC pin = GSI; aarch64: SPI
		       * offset, INTID - 32) */
	uint8_t trigger;
	uint8_t polarity;
};

struct machine_range {
	uint64_t base, size;
};

enum machine_intc_kind { MACHINE_INTC_IOAPIC, MACHINE_INTC_GICV3, MACHINE_INTC_GICV2 };

/* The interrupt controller devices route their lines to (x86: the IOAPIC; aarch64: a GICv3 or a
 * GICv2). */
struct machine_intc {
	bool present;
	uint8_t kind;		     /* enum machine_intc_kind */
	uint64_t base, size;	     /* the IOAPIC; the GIC's distributor */
	uint32_t id;		     /* IOAPIC ID: firmware/x86/mptable.c gives it ncpus */
	uint32_t pins;		     /* number of inputs (the GIC's: SPIs) */
	uint64_t local_base;	     /* per-CPU controller (the LAPIC), 0: none */
	struct machine_range redist; /* GICv3 redistributors, vCPU 0's first */
	struct machine_range its;    /* GICv3 ITS; size 0: none */
	struct machine_range cpuif;  /* GICv2 CPU interface */
	/* GICv2's MSI frame (GICv2m, devices/gicv2m.h; size 0: none) and its SPIs (offsets
	 * v2m_first.. v2m_first + v2m_spis - 1) */
	struct machine_range v2m;
	uint32_t v2m_first, v2m_spis;
};

enum machine_uart_kind { MACHINE_UART_16550, MACHINE_UART_PL011 };

struct machine_uart {
	uint8_t space; /* enum machine_space */
	uint8_t kind;  /* enum machine_uart_kind */
	uint64_t base, size;
	uint32_t clock_hz;
	struct machine_irq irq;
};

struct machine_mmio_dev {
	uint64_t base, size;
	struct machine_irq irq;
};

/* A PCI function's INTx line as routed to the interrupt controller. */
struct machine_pci_intx {
	uint8_t dev;  /* bus 0 device number */
	uint8_t intx; /* 0 = INTA .. 3 = INTD */
	struct machine_irq irq;
};

struct machine_pci {
	bool present;
	struct machine_range ecam;
	uint8_t bus_first, bus_last;
	struct machine_range mem32; /* window BARs are placed in */
	struct machine_range mem64; /* window above 4 GiB for 64-bit BARs; size 0: none */
	struct machine_range io;    /* port window for I/O BARs; size 0: none */
	struct machine_pci_intx intx[MACHINE_MAX_PCI_INTX];
	int nintx;
	/* ACPI PCI hotplug (devices/pci/acpi_pcihp.h): its register block and the slots it
	 * serves (bit n: device n); 0: no hotplug */
	uint64_t hotplug_base;
	uint32_t hotplug_slots;
};

/* ACPI fixed hardware (legacy BIOS boots): the PM1 event block at `base`, the PM1 control block at
 * base + 4 and the PM timer at base + 8 (devices/acpi_pm1.h), and the SCI's line. With it the
 * FADT is a full one, not hardware-reduced (firmware/acpi/acpi.h says why). */
struct machine_acpi_pm1 {
	bool present;
	uint64_t base;
	struct machine_irq sci;
};

/* A device found by address only (no interrupt): test-exit port, boot timer. */
struct machine_simple_dev {
	bool present;
	uint8_t space; /* enum machine_space */
	uint64_t base, size;
	uint64_t port; /* boot timer: its legacy port too, 0: none */
};

struct machine {
	struct machine_range ram[MACHINE_MAX_RAM];
	int nram;
	uint32_t cpu_ids[MACHINE_MAX_CPUS]; /* APIC IDs on x86; cpu_ids[0] boots */
	int ncpus;
	/* ACPI CPU hotplug (devices/acpi_cpuhp.h): its register block (0: none, every vCPU is
	 * present), and how many vCPUs (0..cpus_present-1) are present at boot; the others are
	 * possible, online-capable in the MADT, and hot-added through the controller. */
	uint64_t cpu_hotplug_base;
	int cpus_present;
	struct machine_intc intc;
	struct machine_uart uarts[MACHINE_MAX_UARTS];
	int nuarts;
	struct machine_mmio_dev virtio_mmio[MACHINE_MAX_VIRTIO_MMIO];
	int nvirtio_mmio;
	struct machine_pci pci;
	struct machine_simple_dev test_exit;  /* isa-debug-exit */
	struct machine_simple_dev boot_timer; /* devices/boot_timer.h */
	bool i8042;			      /* PC keyboard controller, 0x60/0x64, IRQ 1 */
	bool rtc;			      /* CMOS clock, 0x70-0x71 */
	struct machine_mmio_dev pl031;	      /* PL031 RTC (devices/pl031.h); size 0: none */
	struct machine_simple_dev acpi_pm;    /* ACPI sleep registers (devices/x86/acpi_pm.h) */
	struct machine_acpi_pm1 acpi_pm1;     /* ACPI fixed hardware; present: acpi_pm is unused */
	struct machine_mmio_dev
	    acpi_ged;		  /* Generic Event Device (devices/acpi_ged.h); size 0: none */
	uint64_t vmgenid;	  /* the VM generation ID's address (devices/vmgenid.h); 0: none */
	bool vmgenid_by_firmware; /* the ID's address is patched in by a firmware's table loader */
	uint64_t rsdp;		  /* where machine_write_acpi() put the RSDP; 0: none */
	struct machine_range initrd; /* size 0: none */
	const char *cmdline;	     /* the user's command line (not owned); NULL: empty */
	int err;		     /* first adder error, 0 if none */
};

/* An empty machine (no RAM, no CPUs, no devices). */
void machine_init(struct machine *m);

/* ---- adders: 0, -EINVAL (bad value) or -ENOSPC (array full); the first error sticks ---- */

/* A RAM range: non-empty, no wrap, not overlapping one already added. */
int machine_add_ram(struct machine *m, uint64_t base, uint64_t size);
/* Every region of `mem`, in order. */
int machine_add_guest_ram(struct machine *m, const struct guest_mem *mem);
/* A vCPU with this ID (unique; x86: APIC ID, aarch64: MPIDR affinity). The first one added is
 * the boot CPU. */
int machine_add_cpu(struct machine *m, uint32_t apic_id);
/* vCPUs 0..n-1 with ID machine_arch_cpu_id(index), as the VM creates them. */
int machine_add_cpus(struct machine *m, int n);
/* The ID the architecture gives vCPU `index` (>= 0): x86's APIC ID is the index; aarch64's MPIDR
 * affinity is KVM's default for the index (Linux arch/arm64/kvm/sys_regs.c reset_mpidr(): Aff0 =
 * index % 16, Aff1 = index / 16), bits 23:0, as the device tree's cpu reg wants them.
 * firmware/<arch>/machine_<arch>.c. */
uint32_t machine_arch_cpu_id(int index);
/* The IOAPIC at `base` (4 KiB) with `pins` inputs and ID `id`, and the LAPIC at `lapic_base`. */
int machine_set_intc(struct machine *m, uint64_t base, uint32_t id, uint32_t pins,
		     uint64_t lapic_base);
/* A GICv3: distributor `dist`, redistributors `redist` (one 128 KiB frame pair per vCPU), the ITS
 * `its` (size 0: none), `spis` SPIs (the inputs device lines name, 1..MACHINE_MAX_INTC_PINS).
 * The three ranges must be non-empty (but the ITS), without wrap and apart. */
int machine_set_gicv3(struct machine *m, struct machine_range dist, struct machine_range redist,
		      struct machine_range its, uint32_t spis);
/* A GICv2: distributor `dist` (4 KiB), CPU interface `cpuif` (8 KiB), `spis` SPIs; no ITS. The
 * vCPUs first: a GICv2 serves at most 8 (-EINVAL beyond). Ranges as for machine_set_gicv3(). */
int machine_set_gicv2(struct machine *m, struct machine_range dist, struct machine_range cpuif,
		      uint32_t spis);
/* The GICv2's MSI frame (GICv2m) at `frame` (4 KiB), SPI offsets first..first + spis - 1 its:
 * the controller must be a GICv2 with those SPIs, the frame apart from its other ranges. */
int machine_set_gicv2m(struct machine *m, struct machine_range frame, uint32_t first,
		       uint32_t spis);
/* The architecture's interrupt controller (x86: the PC's IOAPIC and LAPIC, the IOAPIC's ID = the
 * number of vCPUs added so far; aarch64: the GICv3 of base/aarch64/arch/layout.h, with one
 * redistributor per vCPU added so far and the ITS below them: add the vCPUs first).
 * firmware/<arch>/machine_<arch>.c. */
int machine_set_arch_intc(struct machine *m);
/* aarch64: the GICv2 of base/aarch64/arch/layout.h and its GICv2m frame in place of
 * machine_set_arch_intc()'s GICv3, for a host whose KVM offers only a GICv2
 * (firmware/aarch64/machine_aarch64.c). */
int machine_set_arch_gicv2(struct machine *m);
/* A 16550 UART at I/O port `port` (8 ports, 1.8432 MHz clock) on ISA IRQ `pin` (edge/high). */
int machine_add_uart(struct machine *m, uint16_t port, uint32_t pin);
/* A PL011 UART (devices/pl011.h) at `base` (PL011_MMIO_SIZE bytes, clocked by the 24 MHz APB
 * clock) on a level/high line. */
int machine_add_pl011(struct machine *m, uint64_t base, uint32_t pin);
/* A PL031 RTC (devices/pl031.h) at `base` (4 KiB) on a level/high line. */
int machine_set_pl031(struct machine *m, uint64_t base, uint32_t pin);
/* A virtio-mmio window of at least 0x100 bytes (the register block, virtio 1.2 §4.2.2) on a
 * level/high line. */
int machine_add_virtio_mmio(struct machine *m, uint64_t base, uint64_t size, uint32_t pin);
/* The PCI host bridge: ECAM window (1 MiB per bus, buses 0..size/1MiB-1 up to 255), the 32-bit
 * memory window, and an I/O port window (io_size 0: none). */
int machine_set_pci(struct machine *m, uint64_t ecam_base, uint64_t ecam_size, uint64_t mem32_base,
		    uint64_t mem32_size, uint64_t io_base, uint64_t io_size);
/* The bridge's 64-bit memory window, above 4 GiB (`size` 0: none). After machine_set_pci(). */
int machine_set_pci_mem64(struct machine *m, uint64_t base, uint64_t size);
/* INTx `intx` of bus 0 device `dev` on controller input `pin` (level, with the polarity of
 * machine_arch_intx_polarity()). Needs the bridge. */
int machine_add_pci_intx(struct machine *m, uint8_t dev, uint8_t intx, uint32_t pin);
/* PCI INTx lines as the architecture's controller sees them: active low on x86 (PCI 3.0 §2.2.6,
 * the IOAPIC takes them so); active high on aarch64 (the GIC has no active-low inputs).
 * firmware/<arch>/machine_<arch>.c. */
enum machine_polarity machine_arch_intx_polarity(void);
/* Bus 0's ACPI hotplug controller at `base` (ACPI_PCIHP_SIZE bytes) for the devices in `slots`
 * (bit n: device n; the host bridge's bit 0 is refused). After machine_set_pci(). */
int machine_set_pci_hotplug(struct machine *m, uint64_t base, uint32_t slots);
/* ACPI CPU hotplug: the controller at `base` (ACPI_CPUHP_SIZE bytes, below 4 GiB) and the
 * first `present` vCPUs present at boot (1 <= present <= ncpus: add the vCPUs first). */
int machine_set_cpu_hotplug(struct machine *m, uint64_t base, int present);
/* The isa-debug-exit device at I/O port `port` (`size` ports). */
int machine_set_test_exit(struct machine *m, uint16_t port, uint16_t size);
/* The boot timer: MMIO window and (0: none) its legacy I/O port. */
int machine_set_boot_timer(struct machine *m, uint64_t base, uint64_t size, uint16_t port);
/* The PC's i8042 (ports 0x60 and 0x64, ISA IRQ 1) and CMOS clock (0x70-0x71, no interrupt). */
void machine_set_i8042(struct machine *m);
void machine_set_rtc(struct machine *m);
/* The ACPI sleep control (port) and status (port + 1) registers: the FADT points at them. */
int machine_set_acpi_pm(struct machine *m, uint16_t port);
/* ACPI fixed hardware instead: the PM1 block and PM timer at `port` (ACPI_PM1_LEN ports) and the
 * SCI on ISA line `sci_pin` (< 16; level, active high, as QEMU's pc has it). */
int machine_set_acpi_pm1(struct machine *m, uint16_t port, uint32_t sci_pin);
/* The ACPI Generic Event Device: its event register at `base` (`size` bytes) and its line (an
 * edge, active high) on controller input `pin`. */
int machine_set_acpi_ged(struct machine *m, uint64_t base, uint64_t size, uint32_t pin);
/* The VM generation ID's 16 bytes at `gpa` (8-byte aligned, as the spec asks; not 0): the DSDT
 * gets a VM generation counter device whose ADDR names it, notified through the GED. */
int machine_set_vmgenid(struct machine *m, uint64_t gpa);
/* The same device for a firmware boot, whose firmware places the ID (VMGENID_FW_* in
 * base/layout.h): ADDR holds the ID's offset in etc/vmgenid_guid, which the table loader turns
 * into its address (acpi_blobs's vmgenid_ptr). */
void machine_set_vmgenid_by_firmware(struct machine *m);
/* Where the loader put the initrd (size 0: none). */
int machine_set_initrd(struct machine *m, uint64_t base, uint64_t size);
/* The user's command line; kept by pointer. */
void machine_set_cmdline(struct machine *m, const char *cmdline);

/* ---- generators ---- */

/* Every array count within [0, its maximum]: generators check it first (-EINVAL otherwise), so
 * a description written by hand (tests, fuzzers) cannot make them read past the arrays. */
bool machine_counts_valid(const struct machine *m);

/* The low memory the architecture keeps from the guest's allocator whether or not RAM backs it,
 * reserved in every map the guest gets (x86's e820, the FDT's reservation block): x86's
 * [EBDA_START, 1 MiB), the EBDA and the legacy VGA and ROM area (MP table, ACPI tables); size 0
 * where there is none. firmware/<arch>/machine_<arch>.c. */
struct machine_range machine_arch_reserved(void);

/* Writes into `buf` (size `cap`) the command line the guest gets: m->cmdline, then, where the
 * architecture wants them (machine_arch_virtio_mmio_cmdline()), one
 * "virtio_mmio.device=<size>@0x<base>:<pin>" per window (Linux's virtio_mmio driver syntax;
 * size as "4K"), separated by single spaces. Returns the length, -E2BIG, or -EINVAL for
 * counts out of range. */
int machine_cmdline(const struct machine *m, char *buf, size_t cap);
/* Whether the command line names the virtio-mmio windows: yes on x86 (the one way a bzImage or
 * PVH guest without a device tree finds them); no on aarch64, whose device tree lists them and
 * where the syntax's number, a Linux IRQ number, is not the GIC's SPI.
 * firmware/<arch>/machine_<arch>.c. */
bool machine_arch_virtio_mmio_cmdline(void);

/* PVH module index of the DTB: 1 after an initrd, 0 without one (firmware/x86/pvh.h). */
static inline int machine_dtb_module(const struct machine *m)
{
	return m->initrd.size ? 1 : 0;
}

#endif
