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
 * ---- How an arm64 port would emit its device tree from the same data (design, no code) ----
 * The description stays as it is; an arm64 VMM fills it with its own layout (RAM from 1 GiB
 * up, say, MMIO below) and writes a different tree in fdt_build()'s place:
 *   - Interrupt controller: `intc` describes a GICv3 instead of an IOAPIC: base = distributor
 *     (GICD), plus a redistributor range (GICR, one 128 KiB frame per vCPU) that the arm64
 *     filler would add as a second register range. Node "interrupt-controller@..." with
 *     compatible "arm,gic-v3", #interrupt-cells = <3>, interrupt-controller, reg = <GICD>,
 *     <GICR>, phandle. A machine_irq then becomes the 3-cell specifier <GIC_SPI (0), pin - 32,
 *     type>, type = IRQ_TYPE_LEVEL_HIGH (4) or IRQ_TYPE_EDGE_RISING (1): `pin` is the GIC INTID
 *     (SPIs from 32). Active-low lines do not exist on the GIC: the VMM (or an inverter in the
 *     description) makes PCI INTx active high there, as QEMU's virt machine does.
 *   - No LAPIC node. /cpus/cpu@N gets reg = MPIDR affinity (the filler stores the MPIDR in
 *     cpu_ids[]), compatible "arm,arm-v8", device_type "cpu", enable-method = "psci"; a /psci
 *     node (compatible "arm,psci-1.0", method = "hvc") replaces INIT-SIPI-SIPI start-up.
 *   - A /timer node (compatible "arm,armv8-timer", four PPIs: <1 13 f08> <1 14 f08> <1 11 f08>
 *     <1 10 f08>) replaces the LAPIC timer; the generator adds it, it is not a device we model.
 *   - UARTs are MMIO (space MACHINE_SPACE_MEM): compatible "ns16550a" with reg in the root's
 *     2+2 cells, or an "arm,pl011" if that is the device the port models; no "isa" bus node.
 *   - PCI: identical "pci-host-ecam-generic" node; the I/O window is an MMIO range that
 *     emulates port space (ranges <0x01000000 0 0  cpu_addr  0 size>) instead of x86 ports, and
 *     interrupt-map's parent specifier is the 3-cell GIC one.
 *   - virtio-mmio, test-exit, boot-timer: the same nodes with GIC interrupt specifiers.
 *   - /chosen: bootargs, linux,initrd-start/-end, stdout-path as here; the kernel finds the
 *     DTB in x0 at entry (Documentation/arch/arm64/booting.rst) instead of setup_data or a PVH
 *     module, and the memory map comes from the /memory nodes alone (no e820, no MP table):
 *     the e820/MP/PVH generators are simply not called.
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

enum machine_trigger { MACHINE_IRQ_EDGE, MACHINE_IRQ_LEVEL };
enum machine_polarity { MACHINE_IRQ_HIGH, MACHINE_IRQ_LOW };
/* Where a device's registers are: the memory space, or x86 port I/O. */
enum machine_space { MACHINE_SPACE_MEM, MACHINE_SPACE_IO };

struct machine_irq {
	uint32_t pin; /* input of the interrupt controller (IOAPIC pin / GSI on x86) */
	uint8_t trigger;
	uint8_t polarity;
};

struct machine_range {
	uint64_t base, size;
};

/* The interrupt controller devices route their lines to (the IOAPIC on x86). */
struct machine_intc {
	bool present;
	uint64_t base, size;
	uint32_t id;	     /* IOAPIC ID: firmware/x86/mptable.c gives it ncpus */
	uint32_t pins;	     /* number of inputs */
	uint64_t local_base; /* per-CPU controller (the LAPIC), 0: none */
};

struct machine_uart {
	uint8_t space; /* enum machine_space */
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
/* A vCPU with this APIC ID (unique). The first one added is the boot CPU. */
int machine_add_cpu(struct machine *m, uint32_t apic_id);
/* vCPUs 0..n-1 with APIC ID = index, as vmm/vm/vcpu.c creates them. */
int machine_add_cpus(struct machine *m, int n);
/* The IOAPIC at `base` (4 KiB) with `pins` inputs and ID `id`, and the LAPIC at `lapic_base`. */
int machine_set_intc(struct machine *m, uint64_t base, uint32_t id, uint32_t pins,
		     uint64_t lapic_base);
/* The architecture's interrupt controller (x86: the PC's IOAPIC and LAPIC, the IOAPIC's ID = the
 * number of vCPUs added so far: add them first). firmware/<arch>/machine_<arch>.c. */
int machine_set_arch_intc(struct machine *m);
/* A 16550 UART at I/O port `port` (8 ports, 1.8432 MHz clock) on ISA IRQ `pin` (edge/high). */
int machine_add_uart(struct machine *m, uint16_t port, uint32_t pin);
/* A virtio-mmio window of at least 0x100 bytes (the register block, virtio 1.2 §4.2.2) on a
 * level/high line. */
int machine_add_virtio_mmio(struct machine *m, uint64_t base, uint64_t size, uint32_t pin);
/* The PCI host bridge: ECAM window (1 MiB per bus, buses 0..size/1MiB-1 up to 255), the 32-bit
 * memory window, and an I/O port window (io_size 0: none). */
int machine_set_pci(struct machine *m, uint64_t ecam_base, uint64_t ecam_size, uint64_t mem32_base,
		    uint64_t mem32_size, uint64_t io_base, uint64_t io_size);
/* The bridge's 64-bit memory window, above 4 GiB (`size` 0: none). After machine_set_pci(). */
int machine_set_pci_mem64(struct machine *m, uint64_t base, uint64_t size);
/* INTx `intx` of bus 0 device `dev` on controller input `pin` (level/low). Needs the bridge. */
int machine_add_pci_intx(struct machine *m, uint8_t dev, uint8_t intx, uint32_t pin);
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

/* Writes into `buf` (size `cap`) the command line the guest gets: m->cmdline, then one
 * "virtio_mmio.device=<size>@0x<base>:<pin>" per window (Linux's virtio_mmio driver syntax;
 * size as "4K"), separated by single spaces. Returns the length, -E2BIG, or -EINVAL for
 * counts out of range. */
int machine_cmdline(const struct machine *m, char *buf, size_t cap);

/* PVH module index of the DTB: 1 after an initrd, 0 without one (firmware/x86/pvh.h). */
static inline int machine_dtb_module(const struct machine *m)
{
	return m->initrd.size ? 1 : 0;
}

#endif
