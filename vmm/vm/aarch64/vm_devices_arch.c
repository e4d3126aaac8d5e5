/* The arm64 platform devices (vmm/vm/arch_vm.h): the PL031 real-time clock here, with the host
 * timer of its alarm (vmm/vm/rtc_alarm.h) while the VM runs, a GICv2's GICv2m MSI frame (and the
 * MSI routes to its SPIs), the PL011 console UART on the MMIO bus (attached by vm_devices.c); no
 * port-mapped boot timer, no keyboard controller, and no PCI configuration ports (the ECAM alone).
 */
#include "vmm/vm/arch_vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/layout.h"
#include "base/log.h"
#include "devices/gicv2m.h"
#include "devices/pl031.h"
#include "host/kvm/aarch64/gic.h"
#include "host/kvm/kvm.h"
#include "vmm/vm/aarch64/vm_devices_arch.h"
#include "vmm/vm/rtc_alarm.h"
#include "vmm/vm/vm.h"

struct vm_arch_devices {
	struct pl031 rtc;
	struct rtc_alarm alarm; /* the PL031's host timer */
	struct gicv2m v2m;	/* a GICv2's MSI frame */
	bool rtc_attached, alarm_ready, v2m_attached;
};

_Static_assert(IRQ_DEFAULT_ROUTES <= GIC_V2M_SPI_FIRST, "a device line among the GICv2m's SPIs");

/* The GICv2m frame of base/aarch64/arch/layout.h, which machine_set_arch_gicv2() describes: on a
 * GICv2 VM, the MSIs of PCI devices. The routes need it where no VM is at hand (vm_pci_irq.c
 * has the KVM handle only); the frame attached is the description's, which must be this one. */
static const struct gicv2m_frame v2m_frame = {GIC_V2M_BASE, GIC_V2M_SPI_FIRST, GIC_V2M_SPIS};

/* Attaches the description's GICv2m frame (vm_arch.c gave the VM a GICv2), which must be the
 * one the routes know. */
static int attach_v2m(struct vm *vm, struct vm_arch_devices *d)
{
	const struct machine_intc *c = &vm->machine.intc;
	struct gicv2m_frame f = {c->v2m.base, c->v2m_first, c->v2m_spis};
	if (f.base != v2m_frame.base || f.first != v2m_frame.first || f.count != v2m_frame.count) {
		log_error("the machine's GICv2m frame is not the one its MSI routes use");
		return -EINVAL;
	}
	int err = gicv2m_attach(&d->v2m, &vm->mmio, f, (struct irq_line){vm_irq_line_set, vm, 0});
	d->v2m_attached = !err;
	return err;
}

/* The PL031's clock, and the one rtc_alarm.h counts in */
static time_t host_time(void *opaque)
{
	(void)opaque;
	return time(NULL);
}

static int64_t rtc_next(void *rtc)
{
	return pl031_next_match(rtc);
}

static void rtc_fire(void *rtc)
{
	pl031_poll(rtc);
}

int vm_arch_devices_attach(struct vm *vm)
{
	struct vm_arch_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	vm->arch_devices = d;
	struct irq_line irq = {vm_irq_line_set, vm, IRQ_PL031};
	int err = pl031_attach(&d->rtc, &vm->mmio, PL031_MMIO_BASE, irq, host_time, NULL);
	if (err)
		return err;
	d->rtc_attached = true;
	if ((err = rtc_alarm_init(&d->alarm, rtc_next, rtc_fire, &d->rtc)))
		return err;
	d->alarm_ready = true;
	pl031_set_armed_cb(&d->rtc, rtc_alarm_kick, &d->alarm);
	if (vm->machine.intc.v2m.size && (err = attach_v2m(vm, d)))
		return err;
	return machine_set_pl031(&vm->machine, PL031_MMIO_BASE, IRQ_PL031);
}

int vm_arch_devices_start(struct vm *vm)
{
	struct vm_arch_devices *d = vm->arch_devices;
	return d && d->alarm_ready ? rtc_alarm_start(&d->alarm) : 0;
}

void vm_arch_devices_stop(struct vm *vm)
{
	struct vm_arch_devices *d = vm->arch_devices;
	if (d && d->alarm_ready)
		rtc_alarm_stop(&d->alarm);
}

struct pl031 *vm_devices_pl031(struct vm *vm)
{
	struct vm_arch_devices *d = vm->arch_devices;
	return d && d->rtc_attached ? &d->rtc : NULL;
}

void vm_arch_devices_destroy(struct vm *vm)
{
	struct vm_arch_devices *d = vm->arch_devices;
	if (!d)
		return;
	vm_arch_devices_stop(vm); /* the timer's thread asks the clock */
	if (d->rtc_attached)
		pl031_detach(&d->rtc, &vm->mmio);
	if (d->v2m_attached)
		gicv2m_detach(&d->v2m, &vm->mmio);
	if (d->alarm_ready)
		rtc_alarm_destroy(&d->alarm);
	free(d);
	vm->arch_devices = NULL;
}

struct vm_arch_uart vm_arch_console_uart(void)
{
	return (struct vm_arch_uart){
	    .kind = VM_UART_PL011_MMIO, .base = PL011_MMIO_BASE, .irq = IRQ_PL011};
}

uint16_t vm_arch_boot_timer_port(void)
{
	return 0; /* the MMIO page alone */
}

int vm_devices_ctrl_alt_del(struct vm *vm)
{
	(void)vm;
	return -ENOTSUP; /* no keyboard controller: the power button (ACPI GED) is the way */
}

int vm_arch_pci_config_attach(struct io_bus *pio, struct pci_bus *bus)
{
	(void)pio, (void)bus;
	return 1;
}

void vm_arch_pci_config_detach(struct io_bus *pio)
{
	(void)pio;
}

void vm_arch_pci_before_create(struct vm *vm)
{
	(void)vm;
}

void vm_arch_pci_created(struct vm *vm)
{
	(void)vm;
}

int vm_arch_default_routes(struct kvm_irq_routing_entry *out)
{
	/* GSI n to SPI n of the GIC (irqchip 0), as KVM's own default table on arm64 */
	for (unsigned gsi = 0; gsi < IRQ_DEFAULT_ROUTES; gsi++) {
		out[gsi].gsi = gsi;
		out[gsi].type = KVM_IRQ_ROUTING_IRQCHIP;
		out[gsi].u.irqchip.irqchip = 0;
		out[gsi].u.irqchip.pin = gsi;
	}
	return IRQ_DEFAULT_ROUTES;
}

bool vm_arch_msi_line(const struct kvm *kvm, uint64_t addr, uint32_t data, unsigned *line)
{
	return kvm && kvm->gic_version == KVM_GIC_V2 &&
	       gicv2m_msi_line(&v2m_frame, addr, data, line);
}
