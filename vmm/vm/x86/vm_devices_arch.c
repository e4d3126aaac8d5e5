/* The PC platform devices every x86 guest gets beside COM1 (vm_devices.c): i8042, CMOS/RTC,
 * POST port, reset control (port 0xCF9), the optional isa-debug-exit and the ACPI registers (the
 * sleep registers of a direct or UEFI boot, a BIOS boot's PM1 block and PM timer); COM1's and the
 * boot timer's ports (vmm/vm/arch_vm.h). */
#include "vmm/vm/arch_vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "devices/acpi_pm1.h"
#include "devices/x86/acpi_pm.h"
#include "devices/x86/debug_exit.h"
#include "devices/x86/i8042.h"
#include "devices/x86/post_port.h"
#include "devices/x86/reset_control.h"
#include "devices/x86/rtc_cmos.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_firmware.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/x86/vm_devices_arch.h"

struct vm_arch_devices {
	struct i8042 i8042;
	struct rtc_cmos rtc;
	struct post_port post;
	struct debug_exit debug_exit;
	struct acpi_pm acpi_pm;
	struct acpi_pm1 acpi_pm1;
	struct reset_control reset_control;
	unsigned attached; /* bit per device below, so teardown undoes only what was done */
};

enum {
	DEV_I8042 = 1,
	DEV_RTC = 2,
	DEV_POST = 4,
	DEV_DEBUG_EXIT = 8,
	DEV_ACPI_PM = 16,
	DEV_RESET_CONTROL = 32, /* its own port 0xCF9; with a PCI bus the bus passes it on */
	DEV_ACPI_PM1 = 64,
};

/* The hardware-reduced sleep registers of a direct or UEFI boot: the guest's ACPI power-off. */
static int attach_acpi_pm(struct vm *vm, struct vm_arch_devices *d)
{
	int err = acpi_pm_attach(&d->acpi_pm, &vm->pio, PORT_ACPI_PM, &vm->control);
	if (err)
		return err;
	d->attached |= DEV_ACPI_PM;
	return machine_set_acpi_pm(&vm->machine, PORT_ACPI_PM);
}

/* A legacy BIOS boot's fixed hardware, for its full FADT (firmware/acpi/acpi.h says why). */
static int attach_acpi_pm1(struct vm *vm, struct vm_arch_devices *d)
{
	int err = acpi_pm1_init(&d->acpi_pm1, &vm->control, "acpi-pm1");
	if (err)
		return err;
	d->attached |= DEV_ACPI_PM1;
	if ((err = acpi_pm1_claim(&d->acpi_pm1, &vm->pio, PORT_ACPI_PM, ACPI_PM1_LEN))) {
		log_error("acpi-pm1: cannot claim ports 0x%x-0x%x: %s", PORT_ACPI_PM,
			  PORT_ACPI_PM + ACPI_PM1_LEN - 1, strerror(-err));
		return err;
	}
	return machine_set_acpi_pm1(&vm->machine, PORT_ACPI_PM, IRQ_ACPI_SCI);
}

static int attach_all(struct vm *vm, struct vm_arch_devices *d)
{
	int err;
	if ((err = i8042_attach(&d->i8042, &vm->pio, &vm->control, 0)))
		return err;
	d->attached |= DEV_I8042;
	machine_set_i8042(&vm->machine);
	i8042_set_irq(&d->i8042, (struct irq_line){vm_irq_line_set, vm, IRQ_KBD});
	if ((err = rtc_cmos_attach(&d->rtc, &vm->pio)))
		return err;
	d->attached |= DEV_RTC;
	machine_set_rtc(&vm->machine);
	if ((err = post_port_attach(&d->post, &vm->pio)))
		return err;
	d->attached |= DEV_POST;
	reset_control_init(&d->reset_control, &vm->control);
	if ((err = reset_control_attach(&d->reset_control, &vm->pio)))
		return err;
	d->attached |= DEV_RESET_CONTROL;
	if (vm->cfg->debug_exit) {
		if ((err = debug_exit_attach(&d->debug_exit, &vm->pio, PORT_DEBUG_EXIT,
					     &vm->control)))
			return err;
		d->attached |= DEV_DEBUG_EXIT;
		machine_set_test_exit(&vm->machine, PORT_DEBUG_EXIT, DEBUG_EXIT_NR_PORTS);
	}
	if (vm->cfg->acpi_off)
		return 0;
	return vm_firmware_legacy_bios(vm) ? attach_acpi_pm1(vm, d) : attach_acpi_pm(vm, d);
}

int vm_arch_devices_attach(struct vm *vm)
{
	struct vm_arch_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	vm->arch_devices = d;
	return attach_all(vm, d);
}

void vm_arch_devices_destroy(struct vm *vm)
{
	struct vm_arch_devices *d = vm->arch_devices;
	if (!d)
		return;
	if (d->attached & DEV_ACPI_PM)
		acpi_pm_detach(&d->acpi_pm, &vm->pio);
	if (d->attached & DEV_ACPI_PM1)
		acpi_pm1_destroy(&d->acpi_pm1);
	if (d->attached & DEV_DEBUG_EXIT)
		debug_exit_detach(&d->debug_exit, &vm->pio);
	if (d->attached & DEV_RESET_CONTROL)
		reset_control_detach(&d->reset_control, &vm->pio);
	if (d->attached & DEV_POST)
		post_port_detach(&d->post, &vm->pio);
	if (d->attached & DEV_RTC)
		rtc_cmos_detach(&d->rtc, &vm->pio);
	if (d->attached & DEV_I8042)
		i8042_detach(&d->i8042, &vm->pio);
	free(d);
	vm->arch_devices = NULL;
}

int vm_arch_devices_start(struct vm *vm)
{
	(void)vm;
	return 0; /* no device here has a thread (the CMOS clock has no alarm interrupt) */
}

void vm_arch_devices_stop(struct vm *vm)
{
	(void)vm;
}

struct vm_arch_uart vm_arch_console_uart(void)
{
	return (struct vm_arch_uart){.kind = VM_UART_16550_PIO, .base = PORT_COM1, .irq = IRQ_COM1};
}

uint16_t vm_arch_boot_timer_port(void)
{
	return PORT_BOOT_TIMER;
}

static bool has(struct vm *vm, unsigned dev)
{
	return vm->arch_devices && (vm->arch_devices->attached & dev);
}

int vm_devices_ctrl_alt_del(struct vm *vm)
{
	if (!has(vm, DEV_I8042))
		return -ENODEV;
	return i8042_press_ctrl_alt_del(&vm->arch_devices->i8042);
}

void vm_arch_pci_before_create(struct vm *vm)
{
	if (has(vm, DEV_RESET_CONTROL)) {
		reset_control_detach(&vm->arch_devices->reset_control, &vm->pio);
		vm->arch_devices->attached &= ~(unsigned)DEV_RESET_CONTROL;
	}
}

void vm_arch_pci_created(struct vm *vm)
{
	if (vm->arch_devices && vm->pci)
		pci_bus_set_cf9(&vm->pci->bus, &reset_control_ops,
				&vm->arch_devices->reset_control);
}

/* ---- accessors for the snapshot walker (vmm/snapshot/vm_snapshot_devices.c) ---- */

struct i8042 *vm_devices_i8042(struct vm *vm)
{
	return has(vm, DEV_I8042) ? &vm->arch_devices->i8042 : NULL;
}

struct rtc_cmos *vm_devices_rtc(struct vm *vm)
{
	return has(vm, DEV_RTC) ? &vm->arch_devices->rtc : NULL;
}

struct post_port *vm_devices_post(struct vm *vm)
{
	return has(vm, DEV_POST) ? &vm->arch_devices->post : NULL;
}

struct acpi_pm1 *vm_devices_acpi_pm1(struct vm *vm)
{
	return has(vm, DEV_ACPI_PM1) ? &vm->arch_devices->acpi_pm1 : NULL;
}
