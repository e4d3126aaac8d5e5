/* x86's snapshot tags (base/snapshot_io.h has the generic ones and the numbers an architecture
 * may use): the CPU model, KVM's x86 vCPU and VM state, the i8042, the RTC and the ACPI PM
 * blocks. Stable numbers
 * (the file format depends on them): append, never renumber. Included only from x86 folders
 * (the arch rule, cmake/layers.cmake). */
#ifndef VMM_BASE_X86_SNAPSHOT_TAGS_H
#define VMM_BASE_X86_SNAPSHOT_TAGS_H

#include "base/snapshot_io.h"

enum snap_tag_x86 {
	SNAP_CPU_MODEL = 4, /* the CPUID and MSR list the guest saw (host/kvm/x86/cpu_model.h) */
	/* KVM, per vCPU (instance = vCPU index) */
	SNAP_VCPU_REGS = 16,
	SNAP_VCPU_SREGS = 17,
	SNAP_VCPU_XSAVE = 18,
	SNAP_VCPU_XCRS = 19,
	SNAP_VCPU_MSRS = 20,
	SNAP_VCPU_LAPIC = 21,
	SNAP_VCPU_EVENTS = 22,
	SNAP_VCPU_DEBUGREGS = 23,
	SNAP_VCPU_MP_STATE = 24,
	SNAP_VCPU_CPUID = 25,
	/* KVM, per VM (KVM_GET_CLOCK is x86's too) */
	SNAP_VM_IRQCHIP = 32, /* instance: KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
	SNAP_VM_PIT = 33,
	SNAP_VM_CLOCK = 34,
	/* legacy devices */
	SNAP_DEV_I8042 = 49,
	SNAP_DEV_RTC = 50,
	SNAP_DEV_ACPI_PM1 = 96, /* a legacy BIOS boot's PM1 block (devices/acpi_pm1.h) */
	SNAP_DEV_PIIX4_PM = 97	/* a UEFI boot's PIIX4 PM function (devices/pci/piix4_pm.h) */
};

_Static_assert(SNAP_TAG_IS_ARCH(SNAP_CPU_MODEL), "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_VCPU_REGS) && SNAP_TAG_IS_ARCH(SNAP_VCPU_CPUID),
	       "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_VM_IRQCHIP) && SNAP_TAG_IS_ARCH(SNAP_VM_CLOCK),
	       "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_DEV_I8042) && SNAP_TAG_IS_ARCH(SNAP_DEV_RTC),
	       "an arch tag outside the arch numbers");
_Static_assert(SNAP_TAG_IS_ARCH(SNAP_DEV_ACPI_PM1) && SNAP_TAG_IS_ARCH(SNAP_DEV_PIIX4_PM),
	       "an arch tag outside the arch numbers");

#endif
