/* Saving and restoring the VM's devices. See vmm/snapshot/vm_snapshot_devices.h. */
#include "vmm/snapshot/vm_snapshot_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/acpi_ged.h"
#include "devices/boot_timer.h"
#include "devices/pflash.h"
#include "devices/pl011.h"
#include "devices/uart8250.h"
#include "devices/vmgenid.h"
#include "virtio/core/dev_snapshot.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/snapshot/flash_restore.h"
#include "vmm/snapshot/snapshot_arch.h"
#include "vmm/vm/vm_firmware.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_pci_irq.h"
#include "vmm/vm/vm_virtio.h"

/* One virtio device and the transport it sits on (exactly one of mmio, pci). */
struct placed {
	struct virtio_dev *dev;
	struct virtio_mmio_slot *mmio;
	struct vm_pci_dev *pci;
};

static struct placed find_transport(struct vm *vm, struct virtio_dev *dev)
{
	struct placed p = {dev, NULL, NULL};
	for (int i = 0; vm->virtio && i < vm->virtio->count; i++) {
		if (vm->virtio->slots[i].dev == dev)
			p.mmio = &vm->virtio->slots[i];
	}
	for (int i = 0; vm->pci && !p.mmio && i < vm->pci->ndevs; i++) {
		if (vm->pci->devs[i]->dev == dev)
			p.pci = vm->pci->devs[i];
	}
	return p;
}

/* ---- save ---- */

int snap_dev_put_section(snap_put_fn put, void *w, uint32_t tag, uint32_t inst, const void *data,
			 size_t len, const char *what, char *err, size_t errlen)
{
	int r = put(w, tag, inst, data, len);
	if (r)
		snprintf(err, errlen, "%s: cannot write its snapshot section: %s", what,
			 strerror(-r));
	return r;
}

/* The firmware's variable store (--firmware-vars): its mode and every byte of it, so that the
 * variables travel with the snapshot (a restore writes them into its own store). */
static int save_flash(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct pflash *f = vm_firmware_flash(vm);
	if (!f)
		return 0;
	struct pflash_state st = pflash_save(f);
	uint8_t *buf = malloc(sizeof(st) + f->size);
	if (!buf) {
		snprintf(err, errlen, "firmware variables: out of memory");
		return -ENOMEM;
	}
	memcpy(buf, &st, sizeof(st));
	memcpy(buf + sizeof(st), f->mem, f->size); /* the vCPUs are paused: nothing programs it */
	int r = snap_dev_put_section(put, w, SNAP_DEV_FLASH, 0, buf, sizeof(st) + f->size,
				     "firmware variables", err, errlen);
	free(buf);
	return r;
}

static int save_acpi(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct vm_acpi_state a = {0};

	if (!vm_devices_acpi_ged(vm))
		return 0;
	a.ged_pending = acpi_ged_pending(vm_devices_acpi_ged(vm));
	const struct vmgenid *g = vm_devices_vmgenid(vm);
	if (g) {
		a.flags |= VM_ACPI_HAS_VMGENID;
		memcpy(a.vmgenid, g->id, sizeof(a.vmgenid));
	}
	int r = snap_dev_put_section(put, w, SNAP_DEV_ACPI, 0, &a, sizeof(a), "acpi", err, errlen);
	if (!r && g && g->gpa && vm->cfg->firmware) {
		uint8_t gpa[8];
		for (int i = 0; i < 8; i++)
			gpa[i] = (uint8_t)(g->gpa >> (8 * i));
		r = snap_dev_put_section(put, w, SNAP_DEV_ACPI, 1, gpa, sizeof(gpa), "vmgenid", err,
					 errlen);
	}
	return r;
}

/* The console UART: COM1 (a 16550) or a PL011. */
static int save_console(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct uart8250_state u;
	struct pl011_state p;

	if (vm_devices_com1(vm)) {
		uart8250_save(vm_devices_com1(vm), &u);
		return snap_dev_put_section(put, w, SNAP_DEV_UART, 0, &u, sizeof(u), "COM1", err,
					    errlen);
	}
	if (vm_devices_pl011(vm)) {
		pl011_save(vm_devices_pl011(vm), &p);
		return snap_dev_put_section(put, w, SNAP_DEV_PL011, 0, &p, sizeof(p), "PL011", err,
					    errlen);
	}
	return 0;
}

static int restore_console(struct vm *vm, snap_get_fn get, void *rd, char *err, size_t errlen)
{
	struct uart8250_state u;
	struct pl011_state s;
	const void *p;

	if (vm_devices_com1(vm)) {
		if (!(p = snap_dev_get_exact(get, rd, SNAP_DEV_UART, 0, sizeof(u), "COM1", err,
					     errlen)))
			return -EINVAL;
		memcpy(&u, p, sizeof(u));
		if (uart8250_restore(vm_devices_com1(vm), &u)) {
			snprintf(err, errlen, "COM1: invalid saved state");
			return -EINVAL;
		}
	}
	if (vm_devices_pl011(vm)) {
		if (!(p = snap_dev_get_exact(get, rd, SNAP_DEV_PL011, 0, sizeof(s), "PL011", err,
					     errlen)))
			return -EINVAL;
		memcpy(&s, p, sizeof(s));
		if (pl011_restore(vm_devices_pl011(vm), &s)) {
			snprintf(err, errlen, "PL011: invalid saved state");
			return -EINVAL;
		}
	}
	return 0;
}

static int save_legacy(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct vm_misc_state m = {0};
	int r = save_console(vm, put, w, err, errlen);

	if (!r)
		r = snapshot_arch_devices_save(vm, put, w, &m, err, errlen);
	if (!r)
		r = save_acpi(vm, put, w, err, errlen);
	if (!r)
		r = save_flash(vm, put, w, err, errlen);
	if (r)
		return r;
	if (vm_devices_boot_timer(vm))
		m.boot_timer_hits =
		    __atomic_load_n(&vm_devices_boot_timer(vm)->hits, __ATOMIC_RELAXED);
	return snap_dev_put_section(put, w, SNAP_DEV_MISC, 0, &m, sizeof(m), "legacy devices", err,
				    errlen);
}

struct save_walk {
	struct vm *vm;
	snap_put_fn put;
	void *w;
	char *err;
	size_t errlen;
	uint32_t index;
	uint8_t *priv; /* priv_cap bytes, grown for a device that needs more */
	size_t priv_cap;
};

/* Room for `dev`'s model state (virtio_dev_snapshot_size()). */
static int priv_room(struct save_walk *s, struct virtio_dev *dev)
{
	size_t need = virtio_dev_snapshot_size(dev);
	uint8_t *p;

	if (need <= s->priv_cap)
		return 0;
	p = realloc(s->priv, need);
	if (!p) {
		snprintf(s->err, s->errlen, "%s: out of memory for its state", dev->name);
		return -ENOMEM;
	}
	s->priv = p;
	s->priv_cap = need;
	return 0;
}

static int save_transport(struct save_walk *s, const struct placed *p)
{
	if (p->mmio) {
		struct virtio_mmio_state st;
		pthread_mutex_lock(&p->dev->lock);
		virtio_mmio_save(&p->mmio->regs, &st);
		pthread_mutex_unlock(&p->dev->lock);
		return snap_dev_put_section(s->put, s->w, SNAP_VIRTIO_MMIO, s->index, &st,
					    sizeof(st), p->dev->name, s->err, s->errlen);
	}
	struct virtio_pci_state *st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	virtio_pci_save(&p->pci->t, st);
	int r = snap_dev_put_section(s->put, s->w, SNAP_VIRTIO_PCI, s->index, st, sizeof(*st),
				     p->dev->name, s->err, s->errlen);
	free(st);
	return r;
}

static int save_one(struct virtio_dev *dev, void *opaque)
{
	struct save_walk *s = opaque;
	struct placed p = find_transport(s->vm, dev);
	struct virtio_dev_state st;
	size_t len = 0;
	int r;

	if (!p.mmio && !p.pci) {
		snprintf(s->err, s->errlen, "%s: not on a transport", dev->name);
		return -EINVAL;
	}
	r = priv_room(s, dev);
	if (!r)
		r = virtio_dev_snapshot_save(dev, &st, s->priv, s->priv_cap, &len, s->err,
					     s->errlen);
	if (!r)
		r = snap_dev_put_section(s->put, s->w, SNAP_VIRTIO_DEV, s->index, &st, sizeof(st),
					 dev->name, s->err, s->errlen);
	if (!r)
		r = snap_dev_put_section(s->put, s->w, SNAP_VIRTIO_DEV_PRIV, s->index, s->priv, len,
					 dev->name, s->err, s->errlen);
	if (!r)
		r = save_transport(s, &p);
	s->index++;
	return r;
}

int vm_devices_save(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct save_walk s = {
	    vm, put, w, err, errlen, 0, malloc(VIRTIO_DEV_PRIV_MAX), VIRTIO_DEV_PRIV_MAX};
	int r = s.priv ? save_legacy(vm, put, w, err, errlen) : -ENOMEM;

	if (!s.priv)
		snprintf(err, errlen, "out of memory");
	if (!r)
		r = vm_for_each_virtio_dev(vm, save_one, &s);
	free(s.priv);
	return r;
}

/* ---- restore ---- */

const void *snap_dev_get_exact(snap_get_fn get, void *rd, uint32_t tag, uint32_t inst, size_t len,
			       const char *what, char *err, size_t errlen)
{
	size_t got = 0;
	const void *p = get(rd, tag, inst, &got);
	if (!p)
		snprintf(err, errlen, "%s: the snapshot has no section %u/%u for it", what, tag,
			 inst);
	else if (got != len)
		snprintf(err, errlen, "%s: section %u/%u has %zu bytes, %zu expected", what, tag,
			 inst, got, len);
	return p && got == len ? p : NULL;
}

/* Where a firmware placed the ID (optional: not placed, or not a firmware boot). */
static int restore_vmgenid_addr(struct vm *vm, snap_get_fn get, void *rd, char *err, size_t errlen)
{
	size_t len = 0;
	const uint8_t *p = get(rd, SNAP_DEV_ACPI, 1, &len);
	uint64_t gpa = 0;

	if (!p || !vm_devices_vmgenid(vm))
		return 0;
	if (!(p = snap_dev_get_exact(get, rd, SNAP_DEV_ACPI, 1, 8, "vmgenid", err, errlen)))
		return -EINVAL;
	for (int i = 7; i >= 0; i--)
		gpa = gpa << 8 | p[i];
	if (vmgenid_place(vm_devices_vmgenid(vm), &vm->mem, gpa)) {
		snprintf(err, errlen, "vmgenid: the saved address %#llx is not guest RAM",
			 (unsigned long long)gpa);
		return -EINVAL;
	}
	return 0;
}

/* Optional (older snapshots have none: nothing pending, and the restore makes a new ID anyway). */
static int restore_acpi(struct vm *vm, snap_get_fn get, void *rd, char *err, size_t errlen)
{
	struct vm_acpi_state a;
	size_t len = 0;
	const void *p = get(rd, SNAP_DEV_ACPI, 0, &len);

	if (!p || !vm_devices_acpi_ged(vm))
		return 0;
	if (!(p = snap_dev_get_exact(get, rd, SNAP_DEV_ACPI, 0, sizeof(a), "acpi", err, errlen)))
		return -EINVAL;
	memcpy(&a, p, sizeof(a));
	if ((a.flags & ~VM_ACPI_HAS_VMGENID) ||
	    acpi_ged_set_pending(vm_devices_acpi_ged(vm), a.ged_pending)) {
		snprintf(err, errlen, "acpi: invalid saved state");
		return -EINVAL;
	}
	if ((a.flags & VM_ACPI_HAS_VMGENID) && vm_devices_vmgenid(vm))
		vmgenid_set(vm_devices_vmgenid(vm), a.vmgenid);
	return restore_vmgenid_addr(vm, get, rd, err, errlen);
}

/* The saved variable store into this VM's (--firmware-vars), after checking it is one. */
static int restore_flash(struct vm *vm, snap_get_fn get, void *rd, char *err, size_t errlen)
{
	size_t len = 0;
	const uint8_t *p = get(rd, SNAP_DEV_FLASH, 0, &len);
	return flash_restore(vm_firmware_flash(vm), vm->cfg->firmware_vars, p, len, err, errlen);
}

static int restore_legacy(struct vm *vm, snap_get_fn get, void *rd, char *err, size_t errlen)
{
	struct vm_misc_state m;
	const void *p;

	if (restore_console(vm, get, rd, err, errlen))
		return -EINVAL;
	if (snapshot_arch_devices_restore(vm, get, rd, err, errlen))
		return -EINVAL;
	if (!(p = snap_dev_get_exact(get, rd, SNAP_DEV_MISC, 0, sizeof(m), "legacy devices", err,
				     errlen)))
		return -EINVAL;
	memcpy(&m, p, sizeof(m));
	if (m.reserved[0] || m.reserved[1] || m.reserved[2]) {
		snprintf(err, errlen, "legacy devices: invalid saved state");
		return -EINVAL;
	}
	if (restore_acpi(vm, get, rd, err, errlen))
		return -EINVAL;
	int r = restore_flash(vm, get, rd, err, errlen);
	if (r)
		return r;
	snapshot_arch_misc_restore(vm, &m);
	if (vm_devices_boot_timer(vm))
		__atomic_store_n(&vm_devices_boot_timer(vm)->hits, m.boot_timer_hits,
				 __ATOMIC_RELAXED);
	return 0;
}

struct restore_walk {
	struct vm *vm;
	snap_get_fn get;
	void *rd;
	char *err;
	size_t errlen;
	uint32_t index;
};

/* The transport's registers (PCI: configuration space, BARs and notify ioeventfds, MSI-X). */
static int restore_transport(struct restore_walk *s, const struct placed *p)
{
	uint32_t other = p->mmio ? SNAP_VIRTIO_PCI : SNAP_VIRTIO_MMIO;
	size_t len = 0;
	const void *sec;
	int r;

	if (s->get(s->rd, other, s->index, &len)) {
		snprintf(s->err, s->errlen, "%s: the snapshot has it on virtio-%s, the VM on %s",
			 p->dev->name, p->mmio ? "pci" : "mmio", p->mmio ? "virtio-mmio" : "PCI");
		return -EINVAL;
	}
	if (p->mmio) {
		struct virtio_mmio_state st;
		sec = snap_dev_get_exact(s->get, s->rd, SNAP_VIRTIO_MMIO, s->index, sizeof(st),
					 p->dev->name, s->err, s->errlen);
		if (!sec)
			return -EINVAL;
		memcpy(&st, sec, sizeof(st));
		pthread_mutex_lock(&p->dev->lock);
		r = virtio_mmio_restore(&p->mmio->regs, &st);
		pthread_mutex_unlock(&p->dev->lock);
	} else {
		struct virtio_pci_state *st = malloc(sizeof(*st));
		sec = st ? snap_dev_get_exact(s->get, s->rd, SNAP_VIRTIO_PCI, s->index, sizeof(*st),
					      p->dev->name, s->err, s->errlen)
			 : NULL;
		if (sec)
			memcpy(st, sec, sizeof(*st));
		r = sec ? virtio_pci_restore(&p->pci->t, st) : -EINVAL;
		free(st);
		if (!sec)
			return -EINVAL;
	}
	if (r)
		snprintf(s->err, s->errlen, "%s: invalid saved transport state", p->dev->name);
	return r;
}

static int restore_one(struct virtio_dev *dev, void *opaque)
{
	struct restore_walk *s = opaque;
	struct placed p = find_transport(s->vm, dev);
	struct virtio_dev_state st;
	size_t priv_len = 0;
	const void *sec, *priv;
	int r;

	if (!p.mmio && !p.pci) {
		snprintf(s->err, s->errlen, "%s: not on a transport", dev->name);
		return -EINVAL;
	}
	sec = snap_dev_get_exact(s->get, s->rd, SNAP_VIRTIO_DEV, s->index, sizeof(st), dev->name,
				 s->err, s->errlen);
	if (!sec)
		return -EINVAL;
	if (!virtio_dev_state_bools_ok(sec)) {
		snprintf(s->err, s->errlen, "%s: invalid saved queue state", dev->name);
		return -EINVAL;
	}
	memcpy(&st, sec, sizeof(st));
	priv = s->get(s->rd, SNAP_VIRTIO_DEV_PRIV, s->index, &priv_len);
	if (!priv) {
		snprintf(s->err, s->errlen, "%s: the snapshot has no section %u/%u for it",
			 dev->name, SNAP_VIRTIO_DEV_PRIV, s->index);
		return -EINVAL;
	}
	/* Transport first: interrupts the device raises when it goes live use its vectors. */
	r = restore_transport(s, &p);
	if (!r)
		r = virtio_dev_snapshot_restore(dev, &st, priv, priv_len, s->err, s->errlen);
	if (!r && p.mmio)
		virtio_kvm_irq_resync(&p.mmio->irq);
	if (!r && p.pci)
		r = vm_pci_irq_restore(p.pci);
	s->index++;
	return r;
}

/* The two passes of vm_devices_restore(): the devices restored first (virtio-mem:
 * device_save_restored_first()) alone, then every other device (each keeps its place in the
 * numbering of the sections). */
static int restore_memhp(struct virtio_dev *dev, void *opaque)
{
	struct restore_walk *s = opaque;

	if (device_save_restored_first(dev))
		return restore_one(dev, s);
	s->index++;
	return 0;
}

static int restore_others(struct virtio_dev *dev, void *opaque)
{
	struct restore_walk *s = opaque;

	if (!device_save_restored_first(dev))
		return restore_one(dev, s);
	s->index++;
	return 0;
}

int vm_devices_restore(struct vm *vm, snap_get_fn get, void *rd, vm_memory_ready_fn ready,
		       void *opaque, char *err, size_t errlen)
{
	struct restore_walk s = {vm, get, rd, err, errlen, 0};
	size_t len;
	int r = restore_legacy(vm, get, rd, err, errlen);

	/* virtio-mem's blocks plugged and filled before any other device goes live: its rings and
	 * buffers may be in them */
	if (!r)
		r = vm_for_each_virtio_dev(vm, restore_memhp, &s);
	if (!r && ready)
		r = ready(vm, opaque, err, errlen);
	s.index = 0;
	if (!r)
		r = vm_for_each_virtio_dev(vm, restore_others, &s);
	if (!r && get(rd, SNAP_VIRTIO_DEV, s.index, &len)) {
		snprintf(err, errlen, "the snapshot has more virtio devices than the VM (%u)",
			 s.index);
		r = -EINVAL;
	}
	return r;
}
