/* Passed-through PCI devices on KVM (vm_vfio.h). */
#include "vmm/vm/vm_vfio.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/parse.h"
#include "host/sandbox/sandbox.h"

/* A vCPU's configuration or trapped BAR access of a passed-through device: the device's
 * configuration space and registers (pread/pwrite on its fd), MSI-X turned on or off
 * (VFIO_DEVICE_SET_IRQS), a BAR's mmap parts moved (KVM memory slots). Its routes and irqfds
 * are the vCPU list's own (KVM_SET_GSI_ROUTING, KVM_IRQFD). */
static const struct sandbox_rule vcpu_rules[] = {
    SB_ALLOW(SYS_pread64),
    SB_ALLOW(SYS_pwrite64),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_SET_IRQS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION),
};
const struct sandbox_list vm_vfio_vcpu_sandbox = SANDBOX_LIST("vcpu-vfio", vcpu_rules);

/* The end of the VM (vm_vfio_destroy() on the main thread): interrupts off, the BARs' slots
 * gone, the device reset, guest RAM unmapped, the group out of the container. */
static const struct sandbox_rule end_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_SET_IRQS),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_RESET),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_IOMMU_UNMAP_DMA),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_GROUP_UNSET_CONTAINER),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION),
};
const struct sandbox_list vm_vfio_end_sandbox = SANDBOX_LIST("vfio-end", end_rules);

/* Building the VM on a thread already confined (the API's broker at InstanceStart; its failure
 * undoes it there too): the sysfs links and group directory read, the container, group and
 * device set up, guest RAM mapped for DMA, the BARs' slots. */
static const struct sandbox_rule setup_rules[] = {
    SB_ALLOW(SYS_readlink),
    SB_ALLOW(SYS_readlinkat),
    SB_ALLOW(SYS_getdents64),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_GET_API_VERSION),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_CHECK_EXTENSION),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_GROUP_GET_STATUS),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_GROUP_SET_CONTAINER),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_GROUP_UNSET_CONTAINER),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_SET_IOMMU),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_GROUP_GET_DEVICE_FD),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_GET_INFO),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_GET_REGION_INFO),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_GET_IRQ_INFO),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_RESET),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_DEVICE_SET_IRQS),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_IOMMU_MAP_DMA),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_IOMMU_UNMAP_DMA),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION),
};
const struct sandbox_list vm_vfio_setup_sandbox = SANDBOX_LIST("vfio-setup", setup_rules);

static struct vm_vfio_dev *dev_of(struct vfio_pci *vp)
{
	return (struct vm_vfio_dev *)((char *)vp - offsetof(struct vm_vfio_dev, vp));
}

/* ---- configuration space: the function's own hooks, under the device's lock ---- */

static void locked_read(struct pci_func *f, uint32_t off, void *data, uint32_t len)
{
	struct vm_vfio_dev *d = dev_of(f->opaque);
	pthread_mutex_lock(&d->lock);
	if (d->gone)
		memset(data, 0xff, len);
	else
		vfio_pci_config_read(&d->vp, off, data, len);
	pthread_mutex_unlock(&d->lock);
}

static void locked_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	struct vm_vfio_dev *d = dev_of(f->opaque);
	pthread_mutex_lock(&d->lock);
	if (!d->gone)
		vfio_pci_config_write(&d->vp, off, data, len);
	pthread_mutex_unlock(&d->lock);
}

static const struct pci_func_ops locked_ops = {.config_read = locked_read,
					       .config_write = locked_write};

/* ---- trapped BAR parts ---- */

/* A masked vector's irqfd is detached, so the kernel's signals meanwhile wait in its eventfd:
 * a PBA read takes them out and marks the vectors pending in the model (PCI 3.0 6.8.2.10), which
 * then shows them and delivers each once at unmask (deliver_pending: written back to the
 * eventfd after the irqfd is attached again). Device lock held. */
static void collect_pending(struct vm_vfio_dev *d, uint16_t first, uint16_t n)
{
	for (uint16_t v = first; d->msix_on && v < d->nvec && v - first < n; v++) {
		uint64_t count = 0;
		if (d->irqfd_on[v] || d->fds[v] < 0)
			continue;
		if (read(d->fds[v], &count, sizeof(count)) == sizeof(count) && count)
			vfio_pci_msix_set_pending(&d->vp, v);
	}
}

static void trap_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vm_vfio_part *p = opaque;
	uint16_t first, n;
	pthread_mutex_lock(&p->d->lock);
	if (p->d->gone) {
		memset(data, 0xff, len); /* as an empty slot reads */
	} else {
		if (vfio_pci_pba_vectors(&p->d->vp, p->bar, p->p.offset + off, len, &first, &n))
			collect_pending(p->d, first, n);
		vfio_pci_bar_read(&p->d->vp, p->bar, p->p.offset + off, data, len);
	}
	pthread_mutex_unlock(&p->d->lock);
}

static void trap_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vm_vfio_part *p = opaque;
	pthread_mutex_lock(&p->d->lock);
	if (!p->d->gone)
		vfio_pci_bar_write(&p->d->vp, p->bar, p->p.offset + off, data, len);
	pthread_mutex_unlock(&p->d->lock);
}

static const struct io_ops trap_ops = {trap_read, trap_write};

/* KVM memory slot `slot` at `gpa` over `host` (size 0 deletes it). No KVM (tests): nothing. */
static int set_slot(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {.slot = slot,
						.guest_phys_addr = gpa,
						.memory_size = size,
						.userspace_addr = (uint64_t)(uintptr_t)host};
	if (kvm->vm_fd < 0)
		return 0;
	return kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static struct io_bus *bus_of(const struct vm_vfio_part *p)
{
	bool io = p->d->vp.bars[p->bar].flags & PCI_BASE_ADDRESS_SPACE_IO;
	return io ? p->d->v->h.pio : p->d->v->h.mmio;
}

static void part_off(struct vm_vfio_part *p)
{
	if (!p->on)
		return;
	if (p->host)
		set_slot(p->d->v->h.kvm, p->slot, p->gpa, 0, p->host);
	else
		io_bus_unregister(bus_of(p), p->gpa);
	p->on = false;
}

/* A part over a range something else holds (-EEXIST: another BAR the guest has not moved away
 * yet; Linux moves a 32-bit BAR without turning decoding off, so one BAR may pass over another
 * of the same device for a moment) waits: retry_parts() maps it once a BAR moves again. */
static bool overlaps(struct vm_vfio_part *p, uint64_t gpa, int err)
{
	if (err != -EEXIST)
		return false;
	log_debug("%s: BAR %d at 0x%llx (+0x%llx) overlaps another range; mapped once it is free",
		  p->d->dev.bdf, p->bar, (unsigned long long)gpa, (unsigned long long)p->p.size);
	return true;
}

/* An mmap part whose slot KVM refuses is trapped instead: slower, never wrong. */
static void part_on(struct vm_vfio_part *p, uint64_t gpa)
{
	struct vm_vfio_dev *d = p->d;
	if (p->host) {
		int err = set_slot(d->v->h.kvm, p->slot, gpa, p->p.size, p->host);
		if (!err) {
			p->on = true;
			p->gpa = gpa;
			return;
		}
		if (overlaps(p, gpa, err))
			return;
		log_warn("%s: BAR %d at 0x%llx: memory slot: %s; trapping it", d->dev.bdf, p->bar,
			 (unsigned long long)gpa, strerror(-err));
		vfio_region_munmap(&d->dev, p->host, p->p.size);
		p->host = NULL;
	}
	int err = io_bus_register(bus_of(p), gpa, p->p.size, &trap_ops, p, d->dev.bdf);
	if (overlaps(p, gpa, err))
		return;
	if (err) {
		log_warn("%s: BAR %d at 0x%llx (+0x%llx): %s; not reachable there", d->dev.bdf,
			 p->bar, (unsigned long long)gpa, (unsigned long long)p->p.size,
			 strerror(-err));
		return;
	}
	p->on = true;
	p->gpa = gpa;
}

static void rom_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vm_vfio_part *p = opaque;
	pthread_mutex_lock(&p->d->lock);
	if (p->d->gone || vfio_pci_rom_read(&p->d->vp, off, data, len) < 0)
		memset(data, 0xff, len);
	pthread_mutex_unlock(&p->d->lock);
}

static void rom_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	(void)opaque, (void)off, (void)data, (void)len; /* a ROM */
}

static const struct io_ops rom_ops = {rom_read, rom_write};

/* The ROM's contents where the guest enabled it (firmware and `/sys/.../rom` read them). */
static void rom_moved(struct vm_vfio_dev *d, bool on, uint64_t addr)
{
	struct vm_vfio_part *p = &d->rom;
	if (p->on)
		io_bus_unregister(d->v->h.mmio, p->gpa);
	p->on = false;
	if (!on)
		return;
	int err = io_bus_register(d->v->h.mmio, addr, d->vp.rom_size, &rom_ops, p, d->dev.bdf);
	if (err) {
		log_warn("%s: ROM at 0x%llx: %s; not readable there", d->dev.bdf,
			 (unsigned long long)addr, strerror(-err));
		return;
	}
	p->on = true;
	p->gpa = addr;
}

/* The parts of decoding BARs that are not mapped yet (overlaps()), tried again. */
static void retry_parts(struct vm_vfio_dev *d)
{
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		const struct vfio_pci_bar *b = &d->vp.bars[bar];
		for (unsigned i = 0; b->mapped && i < d->nparts[bar]; i++)
			if (!d->parts[bar][i].on)
				part_on(&d->parts[bar][i],
					b->mapped_addr + d->parts[bar][i].p.offset);
	}
}

/* Device lock held (a configuration write, under the bus lock). */
static void on_bar_moved(void *opaque, int bar, bool on, uint64_t addr)
{
	struct vm_vfio_dev *d = opaque;
	if (bar == VFIO_PCI_ROM_BAR) {
		rom_moved(d, on, addr);
		return;
	}
	for (unsigned i = 0; i < d->nparts[bar]; i++) {
		struct vm_vfio_part *p = &d->parts[bar][i];
		part_off(p);
		if (on)
			part_on(p, addr + p->p.offset);
	}
	if (on) /* (off: the model still counts the BAR as mapped while it is told) */
		retry_parts(d);
}

/* ---- INTx ---- */

/* VFIO's INTx index on (the trigger and unmask eventfds) or off. */
static void intx_set(struct vm_vfio_dev *d, bool on)
{
	if (!d->intx_irqfd || on == d->intx_on)
		return;
	int rc = on ? vfio_irq_set_eventfds(&d->dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &d->intx_fd)
		    : vfio_irq_set_eventfds(&d->dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
	if (!rc && on)
		rc = vfio_intx_set_unmask_eventfd(&d->dev, d->resample_fd);
	if (rc)
		log_warn("%s: INTx %s: VFIO_DEVICE_SET_IRQS: %s", d->dev.bdf, on ? "on" : "off",
			 strerror(-rc));
	d->intx_on = on && !rc;
}

/* The device's pin, if it has one VFIO serves, wired to its IOAPIC input as virtio-pci's is. */
static void init_intx(struct vm_vfio_dev *d)
{
	const struct kvm_notify *n = kvm_notifier(d->v->h.kvm);
	uint32_t count = 0, flags = 0;
	uint8_t pin = 0;
	vfio_pci_config_read(&d->vp, PCI_INTERRUPT_PIN, &pin, 1);
	if (pin < 1 || pin > 4 || vfio_irq_get(&d->dev, VFIO_PCI_INTX_IRQ_INDEX, &count, &flags) ||
	    !count)
		return;
	if (!kvm_notify_can_resample(n)) {
		log_warn("%s: INTx not wired: KVM has no resample irqfds (MSI-X only)", d->dev.bdf);
		return;
	}
	d->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	unsigned gsi = pci_intx_ioapic_pin((unsigned)d->slot, pin - 1u);
	int rc = d->intx_fd < 0 || d->resample_fd < 0
		     ? -errno
		     : kvm_notify_irqfd(n, d->intx_fd, gsi, d->resample_fd);
	if (rc) {
		log_warn("%s: INTx not wired: %s (MSI-X only)", d->dev.bdf, strerror(-rc));
		return;
	}
	d->intx_irqfd = true;
	d->intx_pin = pin;
	d->intx_gsi = gsi;
	d->vp.irq_line = (uint8_t)gsi;
	intx_set(d, true);
}

/* ---- MSI-X ---- */

static void on_msix_enable(void *opaque, bool on, uint16_t nvec)
{
	struct vm_vfio_dev *d = opaque;
	uint16_t n = nvec < d->nvec ? nvec : d->nvec;
	if (on) /* VFIO serves one interrupt index at a time */
		intx_set(d, false);
	int err = on && n ? vfio_irq_set_eventfds(&d->dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, d->fds)
			  : vfio_irq_set_eventfds(&d->dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
	if (err)
		log_warn("%s: MSI-X %s: VFIO_DEVICE_SET_IRQS: %s", d->dev.bdf, on ? "on" : "off",
			 strerror(-err));
	d->msix_on = on && !err;
	if (!on)
		intx_set(d, true);
}

static void irqfd_set(struct vm_vfio_dev *d, uint16_t v, bool on)
{
	const struct kvm_notify *n = kvm_notifier(d->v->h.kvm);
	if (on == d->irqfd_on[v])
		return;
	if (!on) {
		kvm_notify_irqfd_remove(n, d->fds[v], d->routes[v].gsi);
		d->irqfd_on[v] = false;
		return;
	}
	/* a signal that came while it was off is still counted: KVM injects it on assignment */
	int err = kvm_notify_irqfd(n, d->fds[v], d->routes[v].gsi, -1);
	if (err)
		log_warn("%s: MSI-X vector %u: KVM_IRQFD: %s", d->dev.bdf, v, strerror(-err));
	d->irqfd_on[v] = !err;
}

static void on_msix_route(void *opaque, uint16_t v, const struct vfio_pci_route *r)
{
	struct vm_vfio_dev *d = opaque;
	if (v >= d->nvec)
		return;
	struct vm_pci_msi_route *m = &d->routes[v];
	if (r->active && !(m->valid && m->addr == r->addr && m->data == r->data)) {
		struct vm_pci *pci = d->v->h.pci;
		pthread_mutex_lock(&pci->route_lock);
		m->addr = r->addr;
		m->data = r->data;
		m->valid = true;
		int err = vm_pci_set_routes(pci);
		pthread_mutex_unlock(&pci->route_lock);
		if (err)
			log_warn("%s: MSI-X vector %u: KVM_SET_GSI_ROUTING: %s", d->dev.bdf, v,
				 strerror(-err));
	}
	irqfd_set(d, v, r->active);
	if (r->active && r->deliver_pending) {
		uint64_t one = 1;
		if (write(d->fds[v], &one, sizeof(one)) < 0)
			log_debug("%s: vector %u: %s", d->dev.bdf, v, strerror(errno));
	}
}

static const struct vfio_pci_irq_ops irq_ops = {on_msix_enable, on_msix_route, on_bar_moved};

/* ---- setup ---- */

static int init_vectors(struct vm_vfio_dev *d, char *err, size_t errlen)
{
	d->nvec = d->vp.nvec < VM_VFIO_MAX_VECTORS ? d->vp.nvec : VM_VFIO_MAX_VECTORS;
	if (d->vp.nvec > d->nvec)
		log_warn("%s: MSI-X: %u vectors, the first %u routed", d->dev.bdf, d->vp.nvec,
			 d->nvec);
	if (!d->nvec)
		return 0;
	int gsi = vm_pci_alloc_gsis(d->v->h.pci, d->nvec);
	if (gsi < 0)
		return fail_rc(gsi, err, errlen, "%s: no GSIs left for %u MSI-X vectors",
			       d->dev.bdf, d->nvec);
	for (uint16_t v = 0; v < d->nvec; v++) {
		d->routes[v].gsi = (unsigned)gsi + v;
		d->fds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->fds[v] < 0)
			return fail_rc(-errno, err, errlen, "%s: eventfd: %s", d->dev.bdf,
				       strerror(errno));
	}
	int rc = vm_pci_add_routes(d->v->h.pci, d->routes, d->nvec);
	return rc ? fail_rc(rc, err, errlen, "%s: too many passed-through devices", d->dev.bdf) : 0;
}

/* BAR `bar`'s parts, its mmap parts mapped from the device fd (a failed mmap: trapped). */
static int init_parts(struct vm_vfio_dev *d, int index, int bar, char *err, size_t errlen)
{
	struct vfio_pci_bar_plan plan;
	if (!d->vp.bars[bar].size)
		return 0;
	int rc = vfio_pci_bar_plan(&d->vp, bar, (uint64_t)sysconf(_SC_PAGESIZE), &plan);
	if (rc)
		return fail_rc(rc, err, errlen, "%s: BAR %d: %s", d->dev.bdf, bar, strerror(-rc));
	unsigned nmap = 0;
	for (unsigned i = 0; i < plan.nparts; i++) {
		struct vm_vfio_part *p = &d->parts[bar][i];
		*p = (struct vm_vfio_part){.d = d, .bar = bar, .p = plan.parts[i]};
		if (!p->p.mmap || nmap == VM_VFIO_SLOTS_PER_BAR)
			continue;
		p->slot = VM_VFIO_FIRST_SLOT +
			  ((uint32_t)index * PCI_NUM_BARS + (uint32_t)bar) * VM_VFIO_SLOTS_PER_BAR +
			  nmap++;
		p->host =
		    vfio_region_mmap(&d->dev, &d->vp.bars[bar].region, p->p.offset, p->p.size);
		if (!p->host)
			log_warn("%s: BAR %d +0x%llx: mmap: %s; trapping it", d->dev.bdf, bar,
				 (unsigned long long)p->p.offset, strerror(errno));
	}
	d->nparts[bar] = plan.nparts;
	return 0;
}

/* Each vector's requester ID (bus 0, function 0 of its device number): an ITS translates an MSI
 * by it (arm64: KVM_MSI_VALID_DEVID on the route; x86 ignores it), as virtio-pci's routes. */
static void set_devids(struct vm_vfio_dev *d)
{
	struct vm_pci *pci = d->v->h.pci;
	pthread_mutex_lock(&pci->route_lock);
	for (uint16_t v = 0; v < d->nvec; v++)
		d->routes[v].devid = (uint32_t)d->slot << 3;
	pthread_mutex_unlock(&pci->route_lock);
}

/* Onto bus 0 at device number `want` (-1: the first free), BARs placed after the windows' other
 * BARs (64-bit ones in the 64-bit window, when the machine has one). Returns the device number. */
static int plug(struct vm_vfio_dev *d, int want, char *err, size_t errlen)
{
	struct pci_bus *bus = &d->v->h.pci->bus;
	int slot = pci_bus_add(bus, &d->vp.func, want);
	if (slot < 0)
		return fail_rc(slot, err, errlen, "%s: no free device number on PCI bus 0",
			       d->dev.bdf);
	d->on_bus = true;
	d->vp.func.ops = &locked_ops;
	pthread_mutex_lock(&bus->lock);
	struct vfio_pci_windows w = {bus->mmio32_next, bus->mmio32_end, bus->mmio64_next,
				     bus->mmio64_end};
	pthread_mutex_lock(&d->lock);
	int rc = vfio_pci_place_bars(&d->vp, &w, err, errlen);
	pthread_mutex_unlock(&d->lock);
	bus->mmio32_next = w.next32;
	bus->mmio64_next = w.next64;
	pthread_mutex_unlock(&bus->lock);
	d->slot = slot;
	set_devids(d);
	return rc ? rc : slot;
}

/* The device of this VM whose IOMMU group is `id` (the group is open: the kernel refuses a
 * second open), or NULL. */
static const struct vm_vfio_dev *group_holder(const struct vm_vfio *v, const struct vm_vfio_dev *d,
					      int id)
{
	for (int i = 0; id >= 0 && i < v->ndevs; i++)
		if (v->devs[i] != d && v->devs[i]->dev_open && v->devs[i]->group.id == id)
			return v->devs[i];
	return NULL;
}

static int open_dev(struct vm_vfio *v, struct vm_vfio_dev *d, const char *path, char *err,
		    size_t errlen)
{
	char bdf[VFIO_BDF_LEN];
	int rc = vfio_group_open(&v->c, path, &d->group, bdf, err, errlen);
	const struct vm_vfio_dev *other = rc == -EBUSY ? group_holder(v, d, d->group.id) : NULL;
	if (other)
		return fail_rc(
		    rc, err, errlen,
		    "%s: IOMMU group %d is this VM's already, through %s: the devices of a "
		    "group are passed as one, and the VMM takes one device per group "
		    "(pass only one of them)",
		    bdf, d->group.id, other->dev.bdf);
	if (rc)
		return rc;
	rc = vfio_device_open(&v->c, &d->group, bdf, &d->dev, err, errlen);
	if (rc) {
		vfio_group_close(&v->c, &d->group);
		return rc;
	}
	d->dev_open = true;
	rc = vfio_device_reset(&d->dev);
	return rc ? fail_rc(rc, err, errlen, "%s: reset: %s", bdf, strerror(-rc)) : 0;
}

/* virtio-mem's blocks, one at a time, as the guest plugs and unplugs them (memhp_dma). */
static int memhp_map(void *opaque, uint64_t gpa, uint64_t len, void *host)
{
	struct vm_vfio *v = opaque;
	int rc = vfio_dma_map(&v->c, gpa, len, host);
	if (rc)
		log_warn("VFIO: plugged memory 0x%llx+0x%llx: DMA map: %s (the block is refused)",
			 (unsigned long long)gpa, (unsigned long long)len, strerror(-rc));
	return rc;
}

static int memhp_unmap(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vm_vfio *v = opaque;
	int rc = vfio_dma_unmap(&v->c, gpa, len);
	if (rc)
		log_warn("VFIO: unplugged memory 0x%llx+0x%llx: DMA unmap: %s",
			 (unsigned long long)gpa, (unsigned long long)len, strerror(-rc));
	return rc;
}

static int map_dma(struct vm_vfio *v, char *err, size_t errlen)
{
	if (v->dma_mapped)
		return 0;
	int rc = vfio_dma_map_ram(&v->c, v->h.mem);
	if (rc)
		return fail_rc(rc, err, errlen,
			       "cannot map guest RAM for the device's DMA: %s (the IOMMU pins "
			       "all of it: RLIMIT_MEMLOCK must cover guest RAM)",
			       strerror(-rc));
	v->dma_mapped = true;
	if (!v->h.memhp)
		return 0;
	rc = memhp_dma_attach(v->h.memhp, &(struct memhp_dma){memhp_map, memhp_unmap, v});
	if (rc) {
		vfio_dma_unmap_ram(&v->c, v->h.mem);
		v->dma_mapped = false;
		return fail_rc(rc, err, errlen,
			       "cannot map the plugged memory of --memory-hotplug for the "
			       "device's DMA: %s (RLIMIT_MEMLOCK must cover it too)",
			       strerror(-rc));
	}
	v->memhp_on = true;
	return 0;
}

/* The container's DMA maps go: RAM's and the plugged blocks' (every device is reset). */
static void unmap_dma(struct vm_vfio *v)
{
	if (v->memhp_on)
		memhp_dma_detach(v->h.memhp);
	v->memhp_on = false;
	int rc = v->dma_mapped ? vfio_dma_unmap_ram(&v->c, v->h.mem) : 0;
	if (rc)
		log_warn("VFIO: unmapping guest RAM for DMA: %s", strerror(-rc));
	v->dma_mapped = false;
}

/* Looked up once, while the VM is built (vm_hotplug_setup()): the vCPU threads ask again after
 * they are confined, where access() is not allowed. */
bool vm_vfio_host_has_vfio(void)
{
	static int has = -1;
	if (has < 0)
		has = access(VM_VFIO_CONTAINER_PATH, F_OK) == 0;
	return has;
}

struct vm_vfio *vm_vfio_create(const struct vm_vfio_host *h)
{
	struct vm_vfio *v = calloc(1, sizeof(*v));
	if (v)
		v->h = *h;
	return v;
}

static int add_dev(struct vm_vfio *v, struct vm_vfio_dev *d, const char *path, int want, char *err,
		   size_t errlen)
{
	int index = v->ndevs - 1;
	int rc = open_dev(v, d, path, err, errlen);
	if (!rc)
		rc = map_dma(v, err, errlen);
	if (!rc)
		rc = vfio_pci_init(&d->vp, &d->dev, &irq_ops, d, err, errlen);
	if (rc)
		return rc;
	d->vp_init = true;
	for (int bar = 0; bar < PCI_NUM_BARS && !rc; bar++)
		rc = init_parts(d, index, bar, err, errlen);
	if (!rc)
		rc = init_vectors(d, err, errlen);
	if (!rc)
		rc = plug(d, want, err, errlen);
	if (rc >= 0)
		init_intx(d);
	return rc;
}

int vm_vfio_count(const struct vm_vfio *v)
{
	int n = 0;
	for (int i = 0; v && i < v->ndevs; i++)
		n += !v->devs[i]->gone;
	return n;
}

struct vm_vfio_dev *vm_vfio_find_slot(struct vm_vfio *v, int slot)
{
	for (int i = 0; v && i < v->ndevs; i++)
		if (!v->devs[i]->gone && v->devs[i]->on_bus && v->devs[i]->slot == slot)
			return v->devs[i];
	return NULL;
}

static int add(struct vm_vfio *v, const char *path, int want, char *err, size_t errlen)
{
	if (vm_vfio_count(v) == VM_VFIO_MAX_DEVICES)
		return fail_rc(-ENOSPC, err, errlen, "at most %d passed-through devices",
			       VM_VFIO_MAX_DEVICES);
	if (v->ndevs == VM_VFIO_MAX_ADDS)
		return fail_rc(-ENOSPC, err, errlen,
			       "this VM has had %d passed-through devices, as many as it may add "
			       "in its life",
			       VM_VFIO_MAX_ADDS);
	if (!v->c_open) {
		int rc = vfio_container_open(&v->c, v->h.ops, v->h.ops_ctx, err, errlen);
		if (rc)
			return rc;
		v->c_open = true;
	}
	struct vm_vfio_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return fail_rc(-ENOMEM, err, errlen, "out of memory");
	d->v = v;
	d->rom.d = d;
	d->rom.bar = VFIO_PCI_ROM_BAR;
	pthread_mutex_init(&d->lock, NULL);
	for (int i = 0; i < VM_VFIO_MAX_VECTORS; i++)
		d->fds[i] = -1;
	d->intx_fd = d->resample_fd = -1;
	v->devs[v->ndevs++] = d; /* freed by vm_vfio_destroy(), also on failure */
	return add_dev(v, d, path, want, err, errlen);
}

int vm_vfio_add(struct vm_vfio *v, const char *path, char *err, size_t errlen)
{
	return add(v, path, -1, err, errlen);
}

/* The vCPUs are gone and the bus may be too: only the device, KVM and the mappings. */
static void stop_dev(struct vm_vfio *v, struct vm_vfio_dev *d)
{
	if (d->msix_on)
		vfio_irq_set_eventfds(&d->dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
	if (d->intx_on)
		vfio_irq_set_eventfds(&d->dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
	if (d->intx_irqfd)
		kvm_notify_irqfd_remove(kvm_notifier(v->h.kvm), d->intx_fd, d->intx_gsi);
	if (d->intx_fd >= 0)
		close(d->intx_fd);
	if (d->resample_fd >= 0)
		close(d->resample_fd);
	for (uint16_t i = 0; i < VM_VFIO_MAX_VECTORS; i++) {
		if (d->irqfd_on[i])
			irqfd_set(d, i, false);
		if (d->fds[i] >= 0)
			close(d->fds[i]);
	}
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		for (unsigned i = 0; i < d->nparts[bar]; i++) {
			struct vm_vfio_part *p = &d->parts[bar][i];
			if (p->host && p->on)
				set_slot(v->h.kvm, p->slot, p->gpa, 0, p->host);
			vfio_region_munmap(&d->dev, p->host, p->p.size);
		}
	}
	if (d->dev_open && vfio_device_reset(&d->dev))
		log_warn("%s: reset at the end failed", d->dev.bdf);
}

static void close_files(struct vm_vfio *v, struct vm_vfio_dev *d)
{
	if (d->vp_init)
		vfio_pci_destroy(&d->vp);
	if (d->dev_open) {
		vfio_device_close(&d->dev);
		vfio_group_close(&v->c, &d->group);
	}
	d->vp_init = d->dev_open = false;
}

static void close_dev(struct vm_vfio *v, struct vm_vfio_dev *d)
{
	close_files(v, d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* A removed device's or a failed hot-add's: off the bus and out of the routing table, so that
 * nothing reaches it any more, then stopped, reset and closed (its struct stays). */
static void retire(struct vm_vfio *v, struct vm_vfio_dev *d)
{
	struct vm_pci *pci = v->h.pci;
	if (d->on_bus)
		pci_bus_remove(&pci->bus, &d->vp.func);
	pthread_mutex_lock(&d->lock);
	for (int bar = 0; bar < PCI_NUM_BARS; bar++)
		for (unsigned i = 0; i < d->nparts[bar]; i++)
			part_off(&d->parts[bar][i]);
	rom_moved(d, false, 0);
	if (d->nvec) {
		pthread_mutex_lock(&pci->route_lock);
		for (uint16_t i = 0; i < d->nvec; i++)
			d->routes[i].valid = false;
		vm_pci_set_routes(pci);
		pthread_mutex_unlock(&pci->route_lock);
	}
	stop_dev(v, d);
	d->gone = true;
	pthread_mutex_unlock(&d->lock);
	if (!vm_vfio_count(v)) /* the last device: nothing may DMA any more */
		unmap_dma(v);
	close_files(v, d);
}

int vm_vfio_add_at(struct vm_vfio *v, const char *path, int slot, char *err, size_t errlen)
{
	int before = v->ndevs;
	int rc = add(v, path, slot, err, errlen);
	if (rc < 0 && v->ndevs > before) /* nothing half-added: what it got goes at once */
		retire(v, v->devs[before]);
	return rc;
}

void vm_vfio_remove(struct vm_vfio *v, struct vm_vfio_dev *d)
{
	if (d && !d->gone)
		retire(v, d);
}

void vm_vfio_destroy(struct vm_vfio *v)
{
	if (!v)
		return;
	for (int i = v->ndevs - 1; i >= 0; i--)
		if (!v->devs[i]->gone)
			stop_dev(v, v->devs[i]);
	/* The devices are reset (no DMA in flight): their mappings go while a group still holds
	 * the container's IOMMU (the last group out takes it, and an unmap then fails). */
	unmap_dma(v);
	for (int i = v->ndevs - 1; i >= 0; i--)
		close_dev(v, v->devs[i]);
	if (v->c_open)
		vfio_container_close(&v->c);
	free(v);
}
