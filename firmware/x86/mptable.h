/* Intel MultiProcessor Specification 1.4 table: how a guest without ACPI finds its CPUs, the
 * IOAPIC and the wiring of interrupt sources to IOAPIC pins.
 *
 * The structures below are the spec's (Intel MP Spec 1.4, May 1997, chapter 4); they are not in
 * any UAPI header. All are packed, little-endian. */
#ifndef FIRMWARE_MPTABLE_H
#define FIRMWARE_MPTABLE_H

#include <stdint.h>

#include "base/guest_mem.h"

/* §4.1 MP Floating Pointer Structure: 16 bytes, 16-byte aligned. */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* address of the configuration table */
	uint8_t length;	   /* in 16-byte paragraphs: 1 */
	uint8_t spec_rev;  /* 4 = version 1.4 */
	uint8_t checksum;  /* all 16 bytes sum to 0 */
	uint8_t feature1;  /* 0: a configuration table is present */
	uint8_t feature2;  /* bit 7 IMCRP: 0 = virtual wire mode, no IMCR */
	uint8_t feature3_5[3];
} __attribute__((packed));

/* §4.2 MP Configuration Table Header: 44 bytes. */
struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table length, header included */
	uint8_t spec_rev;  /* 4 */
	uint8_t checksum;  /* base table sums to 0 */
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count; /* number of base table entries */
	uint32_t lapic; /* local APIC address */
	uint16_t ext_table_length;
	uint8_t ext_table_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* Entry types, §4.3 Table 4-3; entries appear sorted by type. */
enum mp_entry_type {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4,
};

/* §4.3.1 Processor Entry: 20 bytes. */
struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;      /* MP_CPU_ENABLED | MP_CPU_BSP */
	uint32_t cpufeature;  /* CPUID(1).EAX signature */
	uint32_t featureflag; /* CPUID(1).EDX */
	uint32_t reserved[2];
} __attribute__((packed));
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02

/* §4.3.2 Bus Entry: 8 bytes; bustype is blank-padded ("ISA   ", "PCI   "). */
struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

/* §4.3.3 I/O APIC Entry: 8 bytes. */
struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags; /* MP_IOAPIC_ENABLED */
	uint32_t apicaddr;
} __attribute__((packed));
#define MP_IOAPIC_ENABLED 0x01

/* §4.3.4 I/O Interrupt Entry and §4.3.5 Local Interrupt Entry share this 8-byte layout. */
struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;  /* enum mp_irq_type */
	uint16_t irqflag; /* MP_IRQ_POL_* | MP_IRQ_TRIG_* */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic; /* 0xFF in a local entry: every local APIC */
	uint8_t dstirq;	 /* IOAPIC INTIN pin, or local APIC LINTIN pin */
} __attribute__((packed));

/* Interrupt types, Table 4-8. */
enum mp_irq_type { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_SMI = 2, MP_IRQ_EXTINT = 3 };

/* irqflag bits, Table 4-9 (PO bits 1:0, EL bits 3:2). 0 = "conforms to the bus". */
#define MP_IRQ_POL_BUS	  0x0
#define MP_IRQ_POL_HIGH	  0x1
#define MP_IRQ_POL_LOW	  0x3
#define MP_IRQ_TRIG_BUS	  0x0
#define MP_IRQ_TRIG_EDGE  0x4
#define MP_IRQ_TRIG_LEVEL 0xC

/* Bus IDs in our table. Linux takes an MP bus ID of type "PCI" to be the PCI bus number, so
 * PCI bus 0 must have ID 0; ISA gets the next one. */
#define MP_BUS_PCI 0
#define MP_BUS_ISA 1

/* One interrupt source the caller adds beyond the 16 legacy ISA IRQs. */
struct mp_irq {
	uint8_t bus;	 /* MP_BUS_ISA or MP_BUS_PCI */
	uint8_t bus_irq; /* ISA: IRQ number; PCI: (device << 2) | INTx (0 = INTA), spec §D.3 */
	uint8_t pin;	 /* IOAPIC input pin, < IOAPIC_PINS */
	uint16_t flags;	 /* MP_IRQ_POL_* | MP_IRQ_TRIG_* */
};

/* Versions reported for the local APICs and the IOAPIC: what KVM's in-kernel models report
 * in their version registers (LAPIC 0x14, IOAPIC 0x11). */
#define MP_LAPIC_VERSION  0x14
#define MP_IOAPIC_VERSION 0x11

/* PCI INTx entry: bus 0 device `dev`, INTx `intx` (0 = INTA) on IOAPIC pin `pin`,
 * level-triggered, active low (PCI 3.0 §2.2.6). */
struct mp_irq mptable_pci_irq(int dev, int intx, int pin);

/* Bytes the floating pointer and table take for `ncpus` CPUs and these extra entries (valid
 * arguments assumed). */
uint64_t mptable_size(int ncpus, const struct mp_irq *extra, int nextra);

/* Writes the floating pointer at `addr` (16-byte aligned) followed by the configuration table:
 * one processor per vCPU (APIC ID = index, CPU 0 the BSP), buses PCI (0) and ISA (1), one IOAPIC
 * (ID ncpus, at IOAPIC_BASE), I/O interrupt entries for ISA IRQs 0-15 mapped identically to pins
 * 0-15 (except pins that an entry of `extra` claims), the `extra` entries, and local interrupt
 * entries ExtINT -> LINT0, NMI -> LINT1 on every CPU.
 * The table must end inside the area it starts in: base memory (below 0xA0000) or the BIOS area
 * [0xF0000, 1 MiB), where Linux scans for it (the VMM uses MPTABLE_ADDR = 0xF0000).
 * Returns 0, -EINVAL (ncpus < 1 or > 254, bad extra entry, unaligned addr), -ENOSPC (too many
 * CPUs/entries for the space), -EFAULT (not RAM). */
int mptable_write(struct guest_mem *mem, uint64_t addr, int ncpus, const struct mp_irq *extra,
		  int nextra);

#endif
