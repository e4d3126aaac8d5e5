/* ACPI tables generated from the machine description (firmware/machine.h).
 *
 * What a stock distribution kernel needs to see every vCPU, find the devices the command line
 * cannot tell it about, and power the VM off (ACPI 6.5):
 *   RSDP (revision 2) -> XSDT -> FADT, MADT, MCFG (with a PCI host bridge);
 *   FADT -> DSDT (X_DSDT).
 * The FADT of a direct kernel boot is hardware-reduced (§4.1, HW_REDUCED_ACPI), as Firecracker,
 * Cloud Hypervisor and QEMU microvm make theirs: no PM1 blocks, SCI, PM timer or FACS to emulate;
 * sleep and power-off go through the FADT's SLEEP_CONTROL_REG/SLEEP_STATUS_REG, which point at
 * the small port device of devices/x86/acpi_pm.h. Linux (arch/x86/kernel/acpi/boot.c) then skips
 * the PIT and the 8259s and routes every interrupt through the IOAPIC of the MADT, taking each
 * device's trigger and polarity from its _CRS.
 *
 * A legacy BIOS boot (SeaBIOS; m->acpi_pm1) gets a full FADT instead, as QEMU's pc machine: PM1a
 * event and control blocks and the PM timer (devices/acpi_pm1.h), the SCI on an ISA line (level,
 * active high, an MADT override says so), a FACS (X_FIRMWARE_CTRL), the MADT's PCAT_COMPAT flag,
 * and
 * \_S5_ = 0, the PM1 control block's soft off. The reason is the 8259s: a BIOS leaves them
 * unmasked at its real-mode vectors with LINT0 in ExtINT mode, and a kernel entered at its 32-bit
 * entry by a boot loader (GRUB for BIOS) skips the setup code that masks them. Under a
 * hardware-reduced FADT Linux 6.1 never touches the 8259s (null_legacy_pic), so the BIOS's timer
 * tick arrives as vector 8 at the first local_irq_enable() and the kernel dies of a "double
 * fault". With fixed hardware Linux masks the 8259s and moves their vectors, as on QEMU. A UEFI
 * boot keeps the hardware-reduced FADT (OVMF masks the 8259s at ExitBootServices; Cloud
 * Hypervisor gives its UEFI firmware a hardware-reduced FADT too).
 *
 * The DSDT describes: the vCPUs (ACPI0007, _UID = the MADT's processor UID), the UARTs
 * (PNP0501), the i8042 (PNP0303) and the CMOS clock (PNP0B00) when present, each virtio-mmio
 * window (LNRO0005 with Memory32Fixed + Interrupt, as QEMU microvm describes them), the PCI host
 * bridge (PNP0A08/PNP0A03 with its bus, memory and I/O windows in _CRS and a _PRT for INTx)
 * with a PNP0C02 device reserving the ECAM window (Linux uses MCFG's ECAM only when the window
 * is reserved so), \_S5_ (SLP_TYP 5, or 0 with fixed hardware), and with m->acpi_ged a Generic
 * Event Device (ACPI0013) whose _EVT notifies the power button \_SB.PWRB (PNP0C0C), and with
 * m->vmgenid too (it needs the GED) the VM generation counter \_SB.VGEN (_HID "VMGENCTR", _CID
 * "VM_Gen_Counter": the IDs Linux's vmgenid driver and Windows match; ADDR = Package { low, high }
 * of the ID's address, as Microsoft's "Virtual Machine Generation ID" paper asks), which _EVT
 * notifies (0x80) when the ID changed. */
#ifndef FIRMWARE_ACPI_ACPI_H
#define FIRMWARE_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "firmware/machine.h"

/* SLP_TYP of S5 in \_S5_, and what the guest writes to the sleep control register for it
 * (§4.8.3.7: SLP_TYP in bits 4:2, SLP_EN bit 5). */
#define ACPI_S5_TYPE 5
/* SLP_TYPa of S5 with fixed hardware (m->acpi_pm1): the PM1 control block's soft off, 0 as on
 * the PIIX4 and ICH9 (devices/acpi_pm1.h). */
#define ACPI_PM1_S5_TYPE     0
#define ACPI_SLEEP_TYP_SHIFT 2
#define ACPI_SLEEP_TYP_MASK  0x1C
#define ACPI_SLEEP_EN	     0x20
#define ACPI_SLEEP_WAK_STS   0x80 /* sleep status register */
/* The Generic Event Device's event bits, as _EVT tests them (devices/acpi_ged.h's too). */
#define ACPI_GED_EVENT_POWER_BUTTON 1
#define ACPI_GED_EVENT_PCI_HOTPLUG  2 /* _EVT calls \_SB.PCI0.PCNT (dsdt_pcihp.c) */
#define ACPI_GED_EVENT_VMGENID	    4 /* _EVT notifies \_SB.VGEN (the VM generation ID) */
#define ACPI_GED_EVENT_CPU_HOTPLUG  8 /* _EVT calls \_SB.CSCN (dsdt_cpuhp.c) */

/* Guest addresses of the tables acpi_build() wrote (0: not written). */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, madt, dsdt, mcfg;
	uint64_t facs; /* with fixed hardware (m->acpi_pm1) only, else 0 (a blob's: offset 0 too) */
	uint64_t vmgenid_ptr; /* the DSDT's 4-byte VM generation ID address to patch; 0: none */
	size_t len;	      /* bytes used from the start of the buffer */
};

/* Builds every table for `m` into `buf` (`cap` bytes), which the guest will see at `gpa`
 * (16-byte aligned, below 4 GiB: the RSDP goes first, at `gpa` itself). Returns 0, -ENOSPC
 * (buffer too small), or -EINVAL (counts out of range, no CPU or interrupt controller, an
 * address the tables cannot hold). */
int acpi_build(const struct machine *m, uint64_t gpa, void *buf, size_t cap,
	       struct acpi_layout *out);

/* The same tables for a firmware to place (QEMU's way, through fw_cfg's etc/table-loader):
 * `tables` holds every table but the RSDP, each pointer in them (and the RSDP's XSDT address)
 * an offset into `tables`, to which the firmware adds where it put the blob; `relocs` lists
 * those pointers and `sums` the checksums to fix afterwards; the checksum bytes they name are
 * 0 (the firmware computes them over the range, that byte included, as QEMU's blobs have it).
 * `layout` gives the tables' offsets (rsdp 0: the RSDP is its own blob). */
#define ACPI_RSDP_SIZE	36
#define ACPI_MAX_RELOCS 16
#define ACPI_MAX_SUMS	8
struct acpi_reloc {
	bool in_rsdp;	 /* the pointer is in the RSDP blob (else in `tables`) */
	bool to_vmgenid; /* it points into etc/vmgenid_guid (else into `tables`) */
	uint32_t offset; /* of the little-endian pointer field */
	uint8_t size;	 /* bytes */
};
struct acpi_sum {
	bool in_rsdp;
	uint32_t offset;     /* of the checksum byte */
	uint32_t start, len; /* the bytes that must sum to 0 */
};
struct acpi_blobs {
	uint8_t *tables; /* malloc'd, tables_len bytes */
	size_t tables_len;
	uint8_t rsdp[ACPI_RSDP_SIZE];
	struct acpi_layout layout;
	struct acpi_reloc relocs[ACPI_MAX_RELOCS];
	int nrelocs;
	struct acpi_sum sums[ACPI_MAX_SUMS];
	int nsums;
};
/* Returns 0, -ENOMEM, or acpi_build()'s errors; acpi_blobs_free() releases `out`. */
int acpi_build_blobs(const struct machine *m, struct acpi_blobs *out);
void acpi_blobs_free(struct acpi_blobs *b);

/* acpi_build() into guest memory at ACPI_ADDR (base/layout.h, the BIOS area Linux scans for the
 * RSDP) and m->rsdp set, which boot_params and the PVH start info hand on. 0 or -errno, logged. */
int machine_write_acpi(struct machine *m, struct guest_mem *mem);

#endif
