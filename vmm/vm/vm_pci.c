/* PCI bus 0 of the VM and its virtio-pci devices (devices/pci/pci.h, virtio/transport/virtio_pci.h
 * on KVM). */
#include "vmm/vm/vm_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/vm_pci_irq.h"
#include "vmm/vm/vm_virtio.h"

struct vm_pci *vm_pci_create(struct kvm *kvm, struct io_bus *pio, struct io_bus *mmio)
{
	struct vm_pci *p = calloc(1, sizeof(*p));
	if (!p) {
		log_error("PCI: out of memory");
		return NULL;
	}
	p->kvm = kvm;
	p->pio = pio;
	p->mmio = mmio;
	p->next_gsi = VM_PCI_FIRST_MSI_GSI;
	pthread_mutex_init(&p->route_lock, NULL);
	int err = pci_bus_init(&p->bus, mmio);
	if (!err) {
		err = vm_arch_pci_config_attach(pio, &p->bus); /* x86: ports 0xCF8-0xCFF */
		p->conf1_on = err == 0;
		err = err > 0 ? 0 : err;
	}
	if (!err) {
		err = io_bus_register(mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, &p->bus,
				      "pci-ecam");
		p->ecam_on = !err;
	}
	if (err) {
		log_error("PCI: cannot create bus 0: %s", strerror(-err));
		vm_pci_destroy(p);
		return NULL;
	}
	return p;
}

static struct vm_pci_dev *new_dev(struct vm_pci *p, struct virtio_dev *dev, int slot)
{
	struct vm_pci_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->pci = p;
	d->dev = dev;
	d->intx_fd = d->resample_fd = -1;
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
		d->vec_fd[v] = -1;
	d->slot = slot > 0 ? slot : p->ndevs + 1; /* 00:00.0 is the host bridge */
	d->intx_gsi = pci_intx_ioapic_pin((unsigned)d->slot, 0);
	p->devs[p->ndevs] = d;
	/* published last: the metrics thread may walk devs[] while a device is hot-added */
	__atomic_store_n(&p->ndevs, p->ndevs + 1, __ATOMIC_RELEASE);
	return d;
}

static int wire(struct vm_pci *p, struct vm_pci_dev *d)
{
	struct virtio_pci_host host = vm_pci_irq_host(d);
	int err = virtio_pci_init(&d->t, d->dev, &host);
	if (err)
		return err;
	for (uint16_t v = 0; v < d->t.msix.nvec; v++)
		d->routes[v].gsi = p->next_gsi++;
	err = vm_pci_irq_init(d);
	if (err)
		return err;
	/* a vhost-user back-end may then signal a queue's vector itself (docs/vhost-user.md) */
	struct virtio_pci_irqfds irqfds = vm_pci_irq_irqfds(d);
	virtio_pci_set_irqfds(&d->t, &irqfds);
	int slot = pci_bus_add(&p->bus, &d->t.func, d->slot);
	for (uint16_t v = 0; slot >= 0 && v < d->t.msix.nvec; v++)
		d->routes[v].devid = (uint32_t)slot << 3; /* bus 0, function 0 */
	return slot < 0 ? slot : 0;
}

int vm_pci_add_virtio(struct vm_pci *p, struct virtio_dev *dev)
{
	struct vm_pci_dev *d = p->ndevs < VM_PCI_MAX_DEVICES ? new_dev(p, dev, 0) : NULL;
	if (!d) {
		log_error("%s: no room on PCI bus 0 (at most %d devices)", dev->name,
			  VM_PCI_MAX_DEVICES);
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return -ENOSPC;
	}
	int err = wire(p, d);
	if (err)
		log_error("%s: cannot attach to PCI slot %d: %s", dev->name, d->slot,
			  strerror(-err));
	return err;
}

/* What wire() set up, undone, the device stopped: a hot unplug, or a hot plug that failed. */
static void unwire(struct vm_pci *p, struct vm_pci_dev *d)
{
	vm_pci_unbind_notify(d);
	virtio_dev_destroy(d->dev);
	vm_pci_irq_destroy(d);
	pci_bus_remove(&p->bus, &d->t.func);
	d->gone = true;
}

struct vm_pci_dev *vm_pci_add_virtio_at(struct vm_pci *p, struct virtio_dev *dev, int slot)
{
	struct vm_pci_dev *d = p->ndevs < VM_PCI_MAX_ENTRIES ? new_dev(p, dev, slot) : NULL;
	if (!d) {
		log_error("%s: no room for another PCI device", dev->name);
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return NULL;
	}
	int err = wire(p, d);
	if (err) {
		log_error("%s: cannot attach to PCI slot %d: %s", dev->name, slot, strerror(-err));
		unwire(p, d);
		return NULL;
	}
	return d;
}

struct vm_pci_dev *vm_pci_hotplug_virtio(struct vm_pci *p, struct virtio_dev *dev, int slot)
{
	struct vm_pci_dev *d = p->ndevs < VM_PCI_MAX_ENTRIES ? new_dev(p, dev, slot) : NULL;
	if (!d) {
		log_error("%s: no room for another PCI device (%d hot plugs at most)", dev->name,
			  VM_PCI_MAX_ENTRIES);
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return NULL;
	}
	int err = wire(p, d);
	if (!err)
		err = virtio_dev_start(dev);
	if (err) {
		log_error("%s: cannot plug into PCI slot %d: %s", dev->name, slot, strerror(-err));
		unwire(p, d);
		return NULL;
	}
	return d;
}

void vm_pci_unplug(struct vm_pci *p, struct vm_pci_dev *d)
{
	if (!d->gone)
		unwire(p, d);
}

/* KVM routes GSIs below KVM_MAX_IRQ_ROUTES (4096). */
#define VM_PCI_GSI_LIMIT 4096u

int vm_pci_alloc_gsis(struct vm_pci *p, unsigned n)
{
	pthread_mutex_lock(&p->route_lock);
	unsigned first = p->next_gsi;
	bool fits = n <= VM_PCI_GSI_LIMIT - first;
	if (fits)
		p->next_gsi += n;
	pthread_mutex_unlock(&p->route_lock);
	return fits ? (int)first : -ENOSPC;
}

int vm_pci_add_routes(struct vm_pci *p, const struct vm_pci_msi_route *routes, int n)
{
	pthread_mutex_lock(&p->route_lock);
	int err = p->next_ext < VM_PCI_MAX_EXT ? 0 : -ENOSPC;
	if (!err) {
		p->ext[p->next_ext].routes = routes;
		p->ext[p->next_ext++].n = n;
	}
	pthread_mutex_unlock(&p->route_lock);
	return err;
}

int vm_pci_start(struct vm_pci *p)
{
	for (int i = 0; p && i < p->ndevs; i++) {
		int err = virtio_dev_start(p->devs[i]->dev);
		if (err)
			return err;
	}
	return 0;
}

void vm_pci_destroy(struct vm_pci *p)
{
	if (!p)
		return;
	/* Notify ioeventfds go before the kick fds close; irqfds after the I/O thread stops. */
	for (int i = 0; i < p->ndevs; i++) {
		struct vm_pci_dev *d = p->devs[i];
		if (d->gone)
			continue; /* vm_pci_unplug() did this already */
		vm_pci_unbind_notify(d);
		virtio_dev_destroy(d->dev);
		vm_pci_irq_destroy(d);
	}
	pci_bus_destroy(&p->bus);
	for (int i = 0; i < p->ndevs; i++) {
		vm_virtio_dev_free(p->devs[i]->dev);
		free(p->devs[i]);
	}
	if (p->conf1_on)
		vm_arch_pci_config_detach(p->pio);
	if (p->ecam_on)
		io_bus_unregister(p->mmio, PCI_ECAM_BASE);
	pthread_mutex_destroy(&p->route_lock);
	free(p);
}
