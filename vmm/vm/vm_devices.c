/* The devices every guest gets: the console UART (x86: COM1) and the host console behind it, the
 * ACPI Generic Event Device, the VM generation ID, the boot timer; the architecture's platform
 * devices (x86: i8042, CMOS/RTC, POST port, optional isa-debug-exit: x86/vm_devices_arch.c) and
 * the UART's and the boot timer's ports come through arch_vm.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "base/stats.h"
#include "devices/acpi_ged.h"
#include "devices/boot_timer.h"
#include "devices/pl011.h"
#include "devices/uart8250.h"
#include "devices/vmgenid.h"
#include "host/ui/console.h"
#include "virtio/core/rate_limiter.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_device_ops.h"
#include "vmm/vm/vm_firmware.h"

struct vm_devices {
	struct console console;
	bool console_open;
	bool console_started;
	/* --console ...,bw= (Firecracker's serial rate_limiter): COM1's output bytes over the
	 * bucket are dropped and counted. */
	struct rate_limiter com1_rl;
	bool com1_limited;
	_Atomic uint64_t com1_rl_dropped;
	struct uart8250 com1;
	struct pl011 pl011; /* the console UART instead of COM1 (vm_arch_console_uart()) */
	struct boot_timer boot_timer;
	struct acpi_ged acpi_ged;
	struct vmgenid vmgenid;
	unsigned attached; /* bit per device below, so teardown undoes only what was done */
};

enum { DEV_COM1 = 1, DEV_BOOT_TIMER = 2, DEV_ACPI_GED = 4, DEV_VMGENID = 8, DEV_PL011 = 16 };

void vm_irq_line_set(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	int err = kvm_irq_line(&vm->kvm, gsi, level);
	if (err)
		log_debug("KVM_IRQ_LINE %u: %s", gsi, strerror(-err));
}

/* What the bucket allows of the n bytes goes out, the rest is dropped (Firecracker drops a
 * write its bucket cannot pay for; here byte by byte, never in debt). */
static size_t com1_limit(struct vm_devices *d, size_t n)
{
	if (!d->com1_limited)
		return n;
	uint64_t ok = rate_limiter_take_available(&d->com1_rl, n);
	atomic_fetch_add_explicit(&d->com1_rl_dropped, n - ok, memory_order_relaxed);
	return (size_t)ok;
}

static void com1_tx(void *opaque, const uint8_t *buf, size_t n)
{
	struct vm_devices *d = opaque;
	stats_scan_console(buf, n);
	console_write(&d->console, buf, com1_limit(d, n));
}

static void com1_rx_space(void *opaque)
{
	struct vm_devices *d = opaque;
	console_input_ready(&d->console);
}

static size_t console_to_com1(void *opaque, const uint8_t *buf, size_t n)
{
	return uart8250_receive(opaque, buf, n);
}

static size_t console_to_pl011(void *opaque, const uint8_t *buf, size_t n)
{
	return pl011_receive(opaque, buf, n);
}

static int open_console(struct vm *vm, struct vm_devices *d)
{
	struct vm_console_host con = vm->device_ops->console(vm->cfg);
	struct console_config cc = {
	    .mode = con.mode,
	    .path = con.path,
	    .vm = &vm->control,
	    .append = vm->cfg->restarted, /* a reboot's boot: after the last boot's lines */
	    .in_fd = -1,
	    .out_fd = -1,
	};
	struct rate_limiter_cfg rl = {.bw = con.rate};
	int err = rate_limiter_init(&d->com1_rl, &rl, NULL, NULL);
	if (err)
		return err; /* the parser checked it: not reached */
	d->com1_limited = con.rate.size != 0;
	err = console_open(&d->console, &cc);
	if (err)
		return err;
	d->console_open = true;
	/* the console UART, attached next (attach_all()) */
	struct console_input in = {console_to_com1, &d->com1};
	if (vm_arch_console_uart().kind == VM_UART_PL011_MMIO)
		in = (struct console_input){console_to_pl011, &d->pl011};
	console_set_input(&d->console, &in);
	return 0;
}

static int attach_console_uart(struct vm *vm, struct vm_devices *d)
{
	struct vm_arch_uart uart = vm_arch_console_uart();
	struct irq_line irq = {vm_irq_line_set, vm, uart.irq};
	if (uart.kind == VM_UART_PL011_MMIO) {
		struct pl011_sink sink = {com1_tx, com1_rx_space, d};
		int err = pl011_attach(&d->pl011, &vm->mmio, uart.base, irq, &sink);
		if (err)
			return err;
		d->attached |= DEV_PL011;
		return machine_add_pl011(&vm->machine, uart.base, uart.irq);
	}
	struct uart8250_sink sink = {com1_tx, com1_rx_space, d};
	int err = uart8250_attach(&d->com1, &vm->pio, (uint16_t)uart.base, irq, &sink);
	if (err)
		return err;
	d->attached |= DEV_COM1;
	return machine_add_uart(&vm->machine, (uint16_t)uart.base, uart.irq);
}

static int attach_all(struct vm *vm, struct vm_devices *d)
{
	int err = attach_console_uart(vm, d);
	if (err)
		return err;
	if ((err = vm_arch_devices_attach(vm))) /* the platform's: i8042, RTC, ... (x86/) */
		return err;
	if (!vm->cfg->acpi_off) {
		/* the Generic Event Device: the power button (vm_send_power_button()) */
		struct irq_line ged_irq = {vm_irq_line_set, vm, IRQ_ACPI_GED};
		if ((err = acpi_ged_attach(&d->acpi_ged, &vm->mmio, ACPI_GED_MMIO_BASE, ged_irq)))
			return err;
		d->attached |= DEV_ACPI_GED;
		machine_set_acpi_ged(&vm->machine, ACPI_GED_MMIO_BASE, ACPI_GED_SIZE, IRQ_ACPI_GED);
		/* the VM generation ID, below 1 MiB; a firmware owns that memory itself and places
		 * the ID where it likes (x86/vm_firmware.c) */
		if (!vmgenid_init(&d->vmgenid, vm->cfg->firmware ? 0 : VMGENID_ADDR)) {
			d->attached |= DEV_VMGENID;
			if (vm->cfg->firmware)
				machine_set_vmgenid_by_firmware(&vm->machine);
			else
				machine_set_vmgenid(&vm->machine, VMGENID_ADDR);
		}
	}
	if (vm->cfg->boot_timer) {
		uint16_t port = vm_arch_boot_timer_port();
		if ((err = boot_timer_attach(&d->boot_timer, &vm->mmio, port ? &vm->pio : NULL,
					     port)))
			return err;
		d->attached |= DEV_BOOT_TIMER;
		machine_set_boot_timer(&vm->machine, BOOT_TIMER_MMIO_BASE, BOOT_TIMER_MMIO_SIZE,
				       port);
	}
	return 0;
}

int vm_devices_create(struct vm *vm)
{
	struct vm_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	vm->devices = d;
	int err = open_console(vm, d);
	if (!err)
		err = attach_all(vm, d);
	if (err)
		log_error("cannot create the legacy devices: %s", strerror(-err));
	return err;
}

struct console *vm_devices_console(struct vm *vm)
{
	return &vm->devices->console;
}

void vm_devices_uart_counters(struct vm *vm, struct vm_uart_counters *c)
{
	struct vm_devices *d = vm->devices;
	*c = (struct vm_uart_counters){0};
	if (!d)
		return;
	c->rate_limiter_dropped_bytes = atomic_load(&d->com1_rl_dropped);
	c->fifo_dropped_bytes = d->console_open ? console_dropped_bytes(&d->console) : 0;
	if (d->attached & DEV_COM1) {
		struct uart8250_view v;

		uart8250_view(&d->com1, &v);
		c->attached = true;
		c->ier = v.ier;
		c->mcr = v.mcr;
		c->iir = v.iir;
		c->line = v.line;
	}
}

int vm_devices_power_button(struct vm *vm)
{
	return vm_devices_acpi_event(vm, ACPI_GED_POWER_BUTTON);
}

int vm_devices_acpi_event(struct vm *vm, uint32_t bits)
{
	if (!vm->devices || !(vm->devices->attached & DEV_ACPI_GED))
		return -ENODEV;
	return acpi_ged_event(&vm->devices->acpi_ged, bits);
}

/* A firmware-placed ID's address, once the firmware ran its table loader and wrote it back
 * (a restored VM has it from its snapshot instead: no fw_cfg then). */
static void locate_vmgenid(struct vm *vm)
{
	struct vmgenid *g = &vm->devices->vmgenid;
	uint64_t gpa = vm_firmware_vmgenid_addr(vm);

	if (gpa && gpa != g->gpa)
		vmgenid_place(g, &vm->mem, gpa);
}

void vm_devices_vmgenid_placed(struct vm *vm)
{
	if (vm->devices && (vm->devices->attached & DEV_VMGENID))
		locate_vmgenid(vm);
}

int vm_devices_boot(struct vm *vm)
{
	if (!vm->devices || !(vm->devices->attached & DEV_VMGENID))
		return 0;
	return vmgenid_boot(&vm->devices->vmgenid, &vm->mem);
}

int vm_devices_new_generation(struct vm *vm)
{
	if (!vm->devices || !(vm->devices->attached & DEV_VMGENID))
		return 0;
	locate_vmgenid(vm);
	return vmgenid_new_generation(&vm->devices->vmgenid, &vm->mem, &vm->devices->acpi_ged);
}

/* ---- accessors for the snapshot walker (vmm/snapshot/vm_snapshot_devices.c) ---- */

static bool has(struct vm *vm, unsigned dev)
{
	return vm->devices && (vm->devices->attached & dev);
}

struct uart8250 *vm_devices_com1(struct vm *vm)
{
	return has(vm, DEV_COM1) ? &vm->devices->com1 : NULL;
}

struct pl011 *vm_devices_pl011(struct vm *vm)
{
	return has(vm, DEV_PL011) ? &vm->devices->pl011 : NULL;
}

struct boot_timer *vm_devices_boot_timer(struct vm *vm)
{
	return has(vm, DEV_BOOT_TIMER) ? &vm->devices->boot_timer : NULL;
}

struct acpi_ged *vm_devices_acpi_ged(struct vm *vm)
{
	return has(vm, DEV_ACPI_GED) ? &vm->devices->acpi_ged : NULL;
}

struct vmgenid *vm_devices_vmgenid(struct vm *vm)
{
	if (!has(vm, DEV_VMGENID))
		return NULL;
	locate_vmgenid(vm);
	return &vm->devices->vmgenid;
}

int vm_devices_start(struct vm *vm)
{
	int err = console_start(&vm->devices->console);
	if (err)
		return err;
	vm->devices->console_started = true;
	return vm_arch_devices_start(vm);
}

void vm_devices_stop(struct vm *vm)
{
	vm_arch_devices_stop(vm);
	if (vm->devices && vm->devices->console_started) {
		console_stop(&vm->devices->console);
		vm->devices->console_started = false;
	}
}

void vm_devices_destroy(struct vm *vm)
{
	struct vm_devices *d = vm->devices;
	if (!d)
		return;
	vm_devices_stop(vm);
	if (d->attached & DEV_BOOT_TIMER)
		boot_timer_detach(&d->boot_timer, &vm->mmio, &vm->pio);
	if (d->attached & DEV_ACPI_GED)
		acpi_ged_detach(&d->acpi_ged, &vm->mmio);
	vm_arch_devices_destroy(vm);
	if (d->attached & DEV_COM1)
		uart8250_detach(&d->com1, &vm->pio);
	if (d->attached & DEV_PL011)
		pl011_detach(&d->pl011, &vm->mmio);
	if (d->console_open && !vm->ran)
		console_discard(&d->console); /* a failed start leaves no console file it made */
	if (d->console_open)
		console_close(&d->console);
	rate_limiter_destroy(&d->com1_rl);
	free(d);
	vm->devices = NULL;
}
