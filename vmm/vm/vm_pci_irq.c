/* MSI-X, INTx and notifications of virtio-pci devices on KVM, through host/kvm/kvm_notify.h
 * (KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD, KVM_SIGNAL_MSI). */
#include "vmm/vm/vm_pci_irq.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/vm/arch_vm.h"

int vm_pci_build_routes(const struct kvm *kvm, struct kvm_irq_routing_entry *out, int cap,
			const struct vm_pci_msi_route *msi, int nmsi)
{
	if (cap < VM_PCI_DEFAULT_ROUTES)
		return -ENOSPC;
	memset(out, 0, sizeof(*out) * (size_t)cap);
	int n = vm_arch_default_routes(out);
	for (int i = 0; i < nmsi; i++) {
		unsigned line;
		if (!msi[i].valid)
			continue;
		if (n == cap)
			return -ENOSPC;
		out[n].gsi = msi[i].gsi;
		if (vm_arch_msi_line(kvm, msi[i].addr, msi[i].data, &line)) {
			/* an MSI frame's SPI (aarch64's GICv2m): the irqfd pulses that line */
			out[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			out[n++].u.irqchip.pin = line;
			continue;
		}
		out[n].type = KVM_IRQ_ROUTING_MSI;
		out[n].u.msi.address_lo = (uint32_t)msi[i].addr;
		out[n].u.msi.address_hi = (uint32_t)(msi[i].addr >> 32);
		if (LAYOUT_MSI_DEVID) {
			out[n].flags = KVM_MSI_VALID_DEVID;
			out[n].u.msi.devid = msi[i].devid;
		}
		out[n++].u.msi.data = msi[i].data;
	}
	return n;
}

/* Replaces KVM's whole routing table with the defaults plus every device's programmed vectors.
 * Called with route_lock held. Rewriting it all is cheap enough to keep: one call measured
 * 14-16 us with 1 MSI route, 17-19 us with 16, 27-33 us with 64 and 66-74 us with 256 (+40
 * defaults; tests/gsi_routing_cost built from tools/kvm/gsi_routing_cost.c, kvm_pvm, loaded
 * 2-core host), and it runs only when the guest programs a changed MSI-X message (driver
 * setup, an IRQ affinity change), never per interrupt. */
static int set_routes(struct vm_pci *p)
{
	/* at most 31 devices on the bus at once: hot-unplugged ones have no routes */
	int nmsi = 0, at = 0;
	for (int i = 0; i < p->ndevs; i++)
		nmsi += p->devs[i]->gone ? 0 : VIRTIO_PCI_MAX_VECTORS;
	for (int i = 0; i < p->next_ext; i++)
		nmsi += p->ext[i].n;
	struct vm_pci_msi_route *all = calloc((size_t)nmsi + 1, sizeof(*all));
	int cap = VM_PCI_DEFAULT_ROUTES + nmsi;
	struct kvm_irq_routing *r =
	    calloc(1, sizeof(*r) + sizeof(struct kvm_irq_routing_entry) * (size_t)cap);
	if (!r || !all) {
		free(r);
		free(all);
		return -ENOMEM;
	}
	for (int i = 0; i < p->ndevs; i++) {
		if (p->devs[i]->gone)
			continue;
		for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
			all[at++] = p->devs[i]->routes[v];
	}
	for (int i = 0; i < p->next_ext; i++)
		for (int v = 0; v < p->ext[i].n; v++)
			all[at++] = p->ext[i].routes[v];
	int n = vm_pci_build_routes(p->kvm, r->entries, cap, all, nmsi);
	int err = n < 0 ? n : 0;
	if (!err) {
		r->nr = (uint32_t)n;
		err = kvm_notify_set_routes(kvm_notifier(p->kvm), r);
	}
	free(r);
	free(all);
	return err;
}

int vm_pci_set_routes(struct vm_pci *p)
{
	return set_routes(p);
}

static void fire(int fd)
{
	uint64_t one = 1;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("irqfd write: %s", strerror(errno));
}

/* Without routes: KVM_SIGNAL_MSI, or a pulse of the line an MSI frame's message names. */
static void signal_msi(struct vm_pci_dev *d, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct kvm *kvm = d->pci->kvm;
	unsigned line;
	int err;
	if (vm_arch_msi_line(kvm, addr, data, &line)) {
		if (!(err = kvm_irq_line(kvm, line, 1)))
			err = kvm_irq_line(kvm, line, 0);
	} else {
		err = kvm_notify_signal_msi(kvm_notifier(kvm), addr, data, d->routes[vector].devid);
	}
	if (err)
		log_debug("%s: MSI 0x%llx/0x%x: %s", d->dev->name, (unsigned long long)addr, data,
			  strerror(-err));
}

/* The guest programmed a new message for `vector`: route its GSI there. */
static void update_route(struct vm_pci_dev *d, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct vm_pci *p = d->pci;
	pthread_mutex_lock(&p->route_lock);
	d->routes[vector].addr = addr;
	d->routes[vector].data = data;
	d->routes[vector].valid = true;
	int err = set_routes(p);
	pthread_mutex_unlock(&p->route_lock);
	log_debug("%s: MSI-X vector %u -> GSI %u (address 0x%llx, data 0x%x)", d->dev->name, vector,
		  d->routes[vector].gsi, (unsigned long long)addr, data);
	if (err) {
		log_warn("%s: KVM_SET_GSI_ROUTING: %s; sending MSIs with KVM_SIGNAL_MSI",
			 d->dev->name, strerror(-err));
		d->signal_msi = true;
	}
}

/* Runs with dev->lock held (I/O thread, or a vCPU unmasking a pending vector). */
static void host_msi(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct vm_pci_dev *d = opaque;
	if (vector >= VIRTIO_PCI_MAX_VECTORS)
		return;
	const struct vm_pci_msi_route *r = &d->routes[vector];
	if (!d->signal_msi && !(r->valid && r->addr == addr && r->data == data))
		update_route(d, vector, addr, data);
	if (d->signal_msi)
		signal_msi(d, vector, addr, data);
	else
		fire(d->vec_fd[vector]);
}

/* virtio_pci_irqfds.vector_irqfd, dev->lock held (a vCPU writing the device's registers, or the
 * device's I/O thread handing its rings over): the vector's irqfd once its GSI routes the
 * guest's message, so a vhost-user back-end interrupts the guest through KVM alone. -1 for a
 * message never programmed (address 0) or when routes cannot be set (KVM_SIGNAL_MSI mode). */
static int host_vector_irqfd(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct vm_pci_dev *d = opaque;
	if (vector >= VIRTIO_PCI_MAX_VECTORS || d->vec_fd[vector] < 0 || !addr)
		return -1;
	const struct vm_pci_msi_route *r = &d->routes[vector];
	if (!d->signal_msi && !(r->valid && r->addr == addr && r->data == data))
		update_route(d, vector, addr, data);
	return d->signal_msi ? -1 : d->vec_fd[vector];
}

/* The level is dropped by KVM at the guest's EOI (resample); only assertions matter here. */
static void host_intx(void *opaque, int level)
{
	struct vm_pci_dev *d = opaque;
	if (level)
		fire(d->intx_fd);
}

/* 4.1.4.4: queue q notifies at base + multiplier * q. Length 0: any write size matches (Linux
 * writes 16 bits), so no data match either. */
static int ioeventfd(struct vm_pci_dev *d, uint16_t q, uint64_t addr, bool deassign)
{
	struct kvm_notify_kick k = {d->dev->kick_fd[q], addr, 0, false, false, 0};
	return kvm_notify_kick(kvm_notifier(d->pci->kvm), &k, deassign);
}

static void unbind(struct vm_pci_dev *d, uint64_t base, uint16_t nq)
{
	for (uint16_t q = 0; q < nq; q++)
		ioeventfd(d, q, base + VIRTIO_PCI_NOTIFY_MULT * q, true);
}

static int bind(struct vm_pci_dev *d, uint64_t base)
{
	for (uint16_t q = 0; q < d->dev->num_queues; q++) {
		int err = ioeventfd(d, q, base + VIRTIO_PCI_NOTIFY_MULT * q, false);
		if (err) {
			unbind(d, base, q);
			return err;
		}
	}
	return 0;
}

void vm_pci_unbind_notify(struct vm_pci_dev *d)
{
	if (d->notify_bound)
		unbind(d, d->notify_base, d->dev->num_queues);
	d->notify_bound = false;
}

/* Runs with the PCI bus lock and dev->lock held. */
static void host_notify_moved(void *opaque, bool was_on, uint64_t old, bool on, uint64_t base)
{
	struct vm_pci_dev *d = opaque;
	(void)was_on;
	(void)old;
	vm_pci_unbind_notify(d);
	if (!on)
		return;
	int err = bind(d, base);
	if (err) { /* kicks still arrive as MMIO exits, only slower */
		log_warn("%s: KVM_IOEVENTFD at 0x%llx: %s", d->dev->name, (unsigned long long)base,
			 strerror(-err));
		return;
	}
	d->notify_bound = true;
	d->notify_base = base;
}

struct virtio_pci_host vm_pci_irq_host(struct vm_pci_dev *d)
{
	return (struct virtio_pci_host){host_msi, host_intx, host_notify_moved, d};
}

struct virtio_pci_irqfds vm_pci_irq_irqfds(struct vm_pci_dev *d)
{
	return (struct virtio_pci_irqfds){host_vector_irqfd, d};
}

/* The guest EOI'd INTx: assert again while the ISR is unread. I/O thread, dev->lock held. */
static void resample(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)revents;
	uint64_t count;
	if (read(fd, &count, sizeof(count)) < 0)
		return;
	struct virtio_pci *t = dev->irq.opaque;
	struct vm_pci_dev *d = (struct vm_pci_dev *)((char *)t - offsetof(struct vm_pci_dev, t));
	if (virtio_pci_intx_asserted(t))
		fire(d->intx_fd);
}

static int assign_irqfd(struct vm_pci_dev *d, int fd, unsigned gsi, int resample_fd)
{
	return kvm_notify_irqfd(kvm_notifier(d->pci->kvm), fd, gsi, resample_fd);
}

static int init_intx(struct vm_pci_dev *d)
{
	d->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->intx_fd < 0)
		return -errno;
	if (kvm_notify_can_resample(kvm_notifier(d->pci->kvm))) {
		d->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->resample_fd < 0)
			return -errno;
	}
	int err = assign_irqfd(d, d->intx_fd, d->intx_gsi, d->resample_fd);
	if (err)
		return err;
	d->intx_assigned = true;
	return d->resample_fd >= 0 ? virtio_dev_add_fd(d->dev, d->resample_fd, EPOLLIN, resample)
				   : 0;
}

int vm_pci_irq_init(struct vm_pci_dev *d)
{
	for (uint16_t v = 0; v < d->t.msix.nvec; v++) {
		d->vec_fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->vec_fd[v] < 0)
			return -errno;
		int err = assign_irqfd(d, d->vec_fd[v], d->routes[v].gsi, -1);
		if (err) {
			close(d->vec_fd[v]);
			d->vec_fd[v] = -1;
			return err;
		}
	}
	return init_intx(d);
}

static void deassign(struct vm_pci_dev *d, int fd, unsigned gsi)
{
	kvm_notify_irqfd_remove(kvm_notifier(d->pci->kvm), fd, gsi);
}

void vm_pci_irq_flush(struct vm_pci_dev *d)
{
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++) {
		if (d->vec_fd[v] < 0)
			continue;
		deassign(d, d->vec_fd[v], d->routes[v].gsi);
		if (assign_irqfd(d, d->vec_fd[v], d->routes[v].gsi, -1))
			log_warn("%s: MSI-X vector %d's irqfd not assigned again", d->dev->name, v);
	}
	if (!d->intx_assigned)
		return;
	deassign(d, d->intx_fd, d->intx_gsi);
	if (assign_irqfd(d, d->intx_fd, d->intx_gsi, d->resample_fd))
		log_warn("%s: the INTx irqfd not assigned again", d->dev->name);
}

void vm_pci_irq_destroy(struct vm_pci_dev *d)
{
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++) {
		if (d->vec_fd[v] < 0)
			continue;
		deassign(d, d->vec_fd[v], d->routes[v].gsi);
		close(d->vec_fd[v]);
		d->vec_fd[v] = -1;
	}
	if (d->intx_assigned)
		deassign(d, d->intx_fd, d->intx_gsi);
	if (d->intx_fd >= 0)
		close(d->intx_fd);
	if (d->resample_fd >= 0)
		close(d->resample_fd);
	d->intx_fd = d->resample_fd = -1;
	d->intx_assigned = false;
}

int vm_pci_irq_restore(struct vm_pci_dev *d)
{
	struct vm_pci *p = d->pci;
	const struct pci_msix *m = &d->t.msix;
	bool any = false;

	pthread_mutex_lock(&d->dev->lock);
	for (uint16_t v = 0; v < m->nvec && v < VIRTIO_PCI_MAX_VECTORS; v++) {
		uint64_t addr = m->table[v][0] | (uint64_t)m->table[v][1] << 32;
		if (!addr)
			continue;
		d->routes[v].addr = addr;
		d->routes[v].data = m->table[v][2];
		d->routes[v].valid = true;
		any = true;
	}
	if (any) {
		pthread_mutex_lock(&p->route_lock);
		int err = set_routes(p);
		pthread_mutex_unlock(&p->route_lock);
		if (err) {
			log_warn("%s: KVM_SET_GSI_ROUTING: %s; sending MSIs with KVM_SIGNAL_MSI",
				 d->dev->name, strerror(-err));
			d->signal_msi = true;
		}
	}
	pthread_mutex_unlock(&d->dev->lock);
	virtio_pci_sync_intx(&d->t);
	return 0;
}
