/* PCI hotplug of virtio devices through ACPI (see hotplug.h). */
#include "vmm/vm/hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/layout.h"
#include "base/log.h"
#include "devices/acpi_ged.h"
#include "devices/pci/acpi_pcihp.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "vmm/vm/guest_cpu.h"
#include "vmm/vm/hotplug_internal.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_vfio.h"
#include "vmm/vm/vm_virtio.h"

#define POLL_NS 5000000ull /* how often a remove looks for the guest's _EJ0 */

struct hp_slot {
	struct vm_pci_dev *d; /* NULL: free (or a fixed boot device's, then not in `slots`) */
	bool boot;	      /* a boot device's own slot (vm_hotplug_boot_removable()) */
	bool kept;	      /* a kept boot device's (vm_hotplug_boot_kept()): no hotplug slot */
	bool is_func;	      /* ... or taken by a function that is not virtio: */
	struct vm_hotplug_func func;
	const struct vm_hotplug_kind *kind;
	char id[VM_HOTPLUG_ID_MAX];
};

/* A device of the configuration that goes into a hotplug slot (vm_hotplug_boot_device()). */
struct hp_pending {
	struct virtio_dev *dev; /* NULL: placed (or none) */
	const struct vm_hotplug_kind *kind;
	int slot;
	char id[VM_HOTPLUG_ID_MAX];
};

struct vm_hotplug {
	struct acpi_pcihp regs;
	bool attached; /* regs on the MMIO bus */
	struct hp_slot slot[32];
	struct hp_pending pending[32];
	struct hp_worker worker;
};

/* The VM's hotplug block, made on first use (a device of the configuration may come before
 * vm_hotplug_setup()). NULL: out of memory (logged). */
static struct vm_hotplug *hotplug_of(struct vm *vm)
{
	if (!vm->hotplug && !(vm->hotplug = calloc(1, sizeof(*vm->hotplug))))
		log_error("PCI hotplug: out of memory");
	return vm->hotplug;
}

int vm_hotplug_boot_device(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
			   struct virtio_dev *dev, int slot)
{
	struct vm_hotplug *h = hotplug_of(vm);
	if (!h || slot < 1 || slot > 31 || h->pending[slot].dev) {
		if (h)
			log_error("%s: PCI hotplug slot %d is given twice", id, slot);
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return h ? -EINVAL : -ENOMEM;
	}
	h->pending[slot] = (struct hp_pending){.dev = dev, .kind = kind, .slot = slot};
	snprintf(h->pending[slot].id, sizeof(h->pending[slot].id), "%s", id);
	return 0;
}

/* The devices of the configuration that sit in hotplug slots, each in its own, as a boot
 * device (started by vm_pci_start(); the guest finds them when it scans the bus, or a restored
 * one knows them). 0, or -errno (logged). */
static int place_pending(struct vm *vm, struct vm_hotplug *h, bool kept)
{
	for (int s = 1; s < 32; s++) {
		struct hp_pending *p = &h->pending[s];
		if (!p->dev || p->kind->kept != kept)
			continue;
		struct virtio_dev *dev = p->dev;
		p->dev = NULL;
		bool busy = kept ? !vm->pci || vm->pci->bus.funcs[PCI_DEVFN(s, 0)] != NULL
				 : !(h->regs.slots & (1u << s)) || h->slot[s].d;
		if (busy) {
			log_error(
			    kept ? "%s: PCI slot %d (hotplug-slot=) is taken by a boot device "
				   "placed before it (put the device last)"
				 : "%s: PCI slot %d is no hotplug slot of this VM (a boot device "
				   "has it, or the VM has no hotplug)",
			    p->id, s);
			virtio_dev_destroy(dev);
			vm_virtio_dev_free(dev);
			return -EINVAL;
		}
		vm_io_poll_attach(vm, dev);
		struct vm_pci_dev *d = vm_pci_add_virtio_at(vm->pci, dev, s);
		if (!d)
			return -EIO;
		/* a kept one is a fixed boot device again: its INTA route as vm_virtio_place() */
		if (kept) {
			int err = machine_add_pci_intx(&vm->machine, (uint8_t)s, 0, d->intx_gsi);
			if (err)
				return err;
		}
		h->slot[s] = (struct hp_slot){.d = d, .kept = kept, .kind = p->kind};
		snprintf(h->slot[s].id, sizeof(h->slot[s].id), "%s", p->id);
		log_debug("PCI hotplug: %s in slot %d from the configuration", p->id, s);
	}
	return 0;
}

/* Frees the devices vm_hotplug_setup() did not place (the VM failed before). */
static void drop_pending(struct vm_hotplug *h)
{
	for (int s = 1; s < 32; s++) {
		if (h->pending[s].dev) {
			virtio_dev_destroy(h->pending[s].dev);
			vm_virtio_dev_free(h->pending[s].dev);
			h->pending[s].dev = NULL;
		}
	}
}

static bool has_pending(const struct vm_hotplug *h)
{
	for (int s = 1; h && s < 32; s++)
		if (h->pending[s].dev)
			return true;
	return false;
}

/* The device numbers bus 0 has free now: bit n for device n (never the host bridge's 0). */
static uint32_t free_device_numbers(struct vm_pci *p)
{
	uint32_t slots = 0;
	for (int s = 1; s < 32; s++)
		if (!p->bus.funcs[PCI_DEVFN(s, 0)])
			slots |= 1u << s;
	return slots;
}

/* The device numbers of the boot devices that may be removed (vm_hotplug_boot_removable()). */
static uint32_t boot_slots(const struct vm_hotplug *h)
{
	uint32_t slots = 0;
	for (int s = 1; h && s < 32; s++)
		if (h->slot[s].boot)
			slots |= 1u << s;
	return slots;
}

static int describe(struct vm *vm, uint32_t slots, uint32_t boot)
{
	int err = machine_set_pci_hotplug(&vm->machine, ACPI_PCIHP_MMIO_BASE, slots);
	/* INTx routes for every slot a device may arrive in, each of the four pins (a
	 * passed-through function's pin is the device's, not always INTA): the _PRT is written
	 * once, at boot; a boot device's slot has its INTA route from its placing already */
	for (int s = 1; !err && s < 32; s++)
		for (unsigned pin = (boot & (1u << s)) ? 1 : 0;
		     !err && (slots & (1u << s)) && pin < 4; pin++)
			err = machine_add_pci_intx(&vm->machine, (uint8_t)s, (uint8_t)pin,
						   pci_intx_ioapic_pin((unsigned)s, pin));
	return err;
}

/* The slot table's entry of boot device `dev` (removable, or kept). */
static void boot_entry(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
		       const struct virtio_dev *dev)
{
	struct vm_hotplug *h = hotplug_of(vm);
	bool kept = kind->kept;
	int npci = vm->pci ? vm->pci->ndevs : 0;
	for (int i = 0; h && i < npci; i++) {
		struct vm_pci_dev *d = vm->pci->devs[i];
		if (d->dev != dev || d->slot < 1 || d->slot > 31)
			continue;
		h->slot[d->slot] =
		    (struct hp_slot){.d = d, .boot = !kept, .kept = kept, .kind = kind};
		snprintf(h->slot[d->slot].id, sizeof(h->slot[d->slot].id), "%s", id);
		return;
	}
}

void vm_hotplug_boot_removable(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
			       const struct virtio_dev *dev)
{
	boot_entry(vm, id, kind, dev);
}

void vm_hotplug_boot_kept(struct vm *vm, const struct vm_hotplug_kind *kind,
			  const struct virtio_dev *dev)
{
	boot_entry(vm, kind->name, kind, dev);
}

int vm_hotplug_setup(struct vm *vm)
{
	/* the kept boot devices first, into their fixed device numbers (not hotplug slots) */
	int kerr = vm->hotplug ? place_pending(vm, vm->hotplug, true) : 0;
	if (kerr)
		return kerr;
	bool possible = !vm->cfg->acpi_off && vm->pci && vm->machine.acpi_ged.size;
	uint32_t boot = possible ? boot_slots(vm->hotplug) : 0,
		 slots = possible ? free_device_numbers(vm->pci) | boot : 0;
	if (!slots) {
		if (!has_pending(vm->hotplug)) { /* the boot devices stay where they are */
			free(vm->hotplug);
			vm->hotplug = NULL;
			return 0;
		}
		log_error(
		    "a hot-added device (hotplug-slot=) needs PCI hotplug: ACPI and a PCI bus "
		    "at boot (a device with --transport pci), with a free slot");
		return -EINVAL;
	}
	struct vm_hotplug *h = hotplug_of(vm);
	if (!h)
		return -ENOMEM;
	int err = acpi_pcihp_attach(&h->regs, &vm->mmio, ACPI_PCIHP_MMIO_BASE, slots);
	if (err)
		return err;
	h->attached = true;
	/* a NIC added later opens its tap through /dev/net/tun, after the Landlock set is sealed */
	err = sandbox_landlock_allow_dir_of("/dev/net/tun", LANDLOCK_READ | LANDLOCK_WRITE);
	if (err && err != -EBUSY)
		return err;
	/* a passed-through device added later (vm_vfio.h) opens /dev/vfio/vfio and its group's
	 * /dev/vfio/N, and lists its IOMMU group's members (/sys/kernel/iommu_groups/N/devices,
	 * where .../iommu_group/devices leads); its sysfs links are read with readlink(), which
	 * Landlock does not restrict */
	if (vm->cfg->vfio_hotplug && vm_vfio_host_has_vfio()) {
		err = sandbox_landlock_allow_dir_of(VM_VFIO_CONTAINER_PATH,
						    LANDLOCK_READ | LANDLOCK_WRITE);
		if (!err || err == -EBUSY)
			err = sandbox_landlock_allow_dir_of("/sys/kernel/iommu_groups/0",
							    LANDLOCK_READ);
		if (err && err != -EBUSY)
			return err;
	}
	err = describe(vm, slots, boot);
	if (err)
		log_error("PCI hotplug: cannot describe its slots: %s", strerror(-err));
	else
		log_debug("PCI hotplug: slots 0x%08x", slots);
	return err ? err : place_pending(vm, h, false);
}

bool vm_vfio_may_hot_add(const struct vm *vm)
{
	return vm->cfg->vfio_hotplug && vm_hotplug_enabled(vm) && vm_vfio_host_has_vfio();
}

int vm_hotplug_start(struct vm *vm)
{
	if (!vm->hotplug)
		return 0;
	hp_worker_devices(&vm->hotplug->worker, vm->hotplug_devices);
	return hp_worker_start(&vm->hotplug->worker);
}

int vm_hotplug_call(struct vm *vm, int (*fn)(void *), void *arg)
{
	return vm->hotplug ? hp_worker_call(&vm->hotplug->worker, fn, arg) : -ENODEV;
}

void vm_hotplug_destroy(struct vm *vm)
{
	if (!vm->hotplug)
		return;
	hp_worker_stop(&vm->hotplug->worker);
	drop_pending(vm->hotplug);
	if (vm->hotplug->attached)
		acpi_pcihp_detach(&vm->hotplug->regs, &vm->mmio);
	free(vm->hotplug);
	vm->hotplug = NULL;
}

bool vm_hotplug_enabled(const struct vm *vm)
{
	return vm->hotplug && vm->hotplug->attached;
}

int vm_hotplug_check_quiet(const struct vm *vm, char *err, size_t errlen)
{
	const struct vm_hotplug *h = vm->hotplug;
	if (!h || !h->attached)
		return 0;
	uint32_t up = __atomic_load_n(&h->regs.up, __ATOMIC_ACQUIRE),
		 down = __atomic_load_n(&h->regs.down, __ATOMIC_ACQUIRE),
		 asked = __atomic_load_n(&h->regs.requested, __ATOMIC_ACQUIRE);
	if (!up && !down && !asked)
		return 0;
	snprintf(err, errlen,
		 "a PCI hotplug event is under way (%s): the guest has not answered it yet; "
		 "try again once it has (a second or so after the add or remove)",
		 up ? "a device added, the guest has not scanned its slot"
		    : "a device's removal, the guest has not released it");
	return -EBUSY;
}

static bool is_slot(const struct vm_hotplug *h, int s)
{
	return h->regs.slots & (1u << s);
}

static bool taken(const struct vm_hotplug *h, int s)
{
	return h->slot[s].d || h->slot[s].is_func;
}

int vm_hotplug_free_slots(const struct vm *vm)
{
	int n = 0;
	for (int s = 1; vm->hotplug && s < 32; s++)
		n += is_slot(vm->hotplug, s) && !taken(vm->hotplug, s);
	return n;
}

/* The slot of device `id`: a hot-added one's (or one of the configuration's hotplug-slot=),
 * or with `boot`, a removable boot device's too; -1: none. */
static int find_in(const struct vm *vm, const char *id, bool boot)
{
	for (int s = 1; vm->hotplug && s < 32; s++)
		if (taken(vm->hotplug, s) && !vm->hotplug->slot[s].kept &&
		    (boot || !vm->hotplug->slot[s].boot) && !strcmp(vm->hotplug->slot[s].id, id))
			return s;
	return -1;
}

static int find(const struct vm *vm, const char *id)
{
	return find_in(vm, id, false);
}

int vm_hotplug_boot_slot(const struct vm *vm, const char *id, const struct vm_hotplug_kind **kind)
{
	int s = find_in(vm, id, true);
	if (s < 0 || !vm->hotplug->slot[s].boot)
		return -1;
	*kind = vm->hotplug->slot[s].kind;
	return s;
}

int vm_hotplug_boot_after(const struct vm *vm, int slot, struct vm_hotplug_boot *out, int max,
			  int *fixed)
{
	int n = 0;
	*fixed = 0;
	for (int s = slot + 1; vm->pci && s < 32; s++) {
		const struct hp_slot *e = vm->hotplug ? &vm->hotplug->slot[s] : NULL;
		if (e && (e->boot || e->kept) && n < max) {
			out[n] = (struct vm_hotplug_boot){.slot = s, .kind = e->kind};
			snprintf(out[n++].id, sizeof(out[0].id), "%s", e->id);
		} else if ((!e || !taken(vm->hotplug, s)) && vm->pci->bus.funcs[PCI_DEVFN(s, 0)] &&
			   !*fixed) {
			*fixed = s; /* a boot device that is not removable: it would move */
		}
	}
	return n;
}

void vm_hotplug_boot_adopt(struct vm *vm, int slot)
{
	if (vm->hotplug && slot > 0 && slot < 32)
		vm->hotplug->slot[slot].boot = false;
}

bool vm_hotplug_has_id(const struct vm *vm, const char *id)
{
	return find(vm, id) >= 0;
}

struct virtio_dev *vm_hotplug_device(const struct vm *vm, const char *id,
				     const struct vm_hotplug_kind *kind)
{
	int s = find(vm, id);
	if (s < 0 || vm->hotplug->slot[s].kind != kind || !vm->hotplug->slot[s].d)
		return NULL; /* (a boot device's is its descriptor's business) */
	return vm->hotplug->slot[s].d->dev;
}

int vm_hotplug_count(const struct vm *vm, const char **first)
{
	int n = 0;
	for (int s = 1; vm->hotplug && s < 32; s++) {
		if (!taken(vm->hotplug, s) || vm->hotplug->slot[s].boot ||
		    vm->hotplug->slot[s].kept)
			continue;
		if (!n && first)
			*first = vm->hotplug->slot[s].id;
		n++;
	}
	return n;
}

/* Why `dev` cannot be added (`what`, then `id` when given) into err; `dev` is destroyed. */
static int refuse(struct virtio_dev *dev, int ret, char *err, size_t errlen, const char *what,
		  const char *id)
{
	snprintf(err, errlen, "%s%s%s", id ? id : "", id ? ": " : "", what);
	virtio_dev_destroy(dev);
	free(dev);
	return ret;
}

static int first_free(const struct vm_hotplug *h)
{
	for (int s = 1; s < 32; s++)
		if (is_slot(h, s) && !taken(h, s))
			return s;
	return -1;
}

/* The guest learns of a change through the GED's event: _EVT calls PCNT. */
static void tell_guest(struct vm *vm)
{
	int err = vm_devices_acpi_event(vm, ACPI_GED_PCI_HOTPLUG);
	if (err)
		log_warn("PCI hotplug: cannot raise the ACPI event: %s", strerror(-err));
}

int vm_hotplug_add(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
		   struct virtio_dev *dev, int *slot, char *err, size_t errlen)
{
	struct vm_hotplug *h = vm->hotplug;
	if (!vm_hotplug_enabled(vm))
		return refuse(dev, -ENODEV, err, errlen,
			      "this VM has no PCI hotplug: it needs ACPI and a PCI bus at boot "
			      "(a device with --transport pci)",
			      NULL);
	if (find(vm, id) >= 0)
		return refuse(dev, -EEXIST, err, errlen, "a hot-added device has this id already",
			      id);
	int s = first_free(h);
	if (s < 0)
		return refuse(dev, -ENOSPC, err, errlen,
			      "no free PCI hotplug slot: bus 0's 31 device numbers are all taken",
			      NULL);
	/* the I/O thread polls as long as its peers (vm_virtio_choose_io_poll() chose at boot) */
	vm_io_poll_attach(vm, dev);
	struct vm_pci_dev *d = vm_pci_hotplug_virtio(vm->pci, dev, s);
	if (!d) {
		snprintf(err, errlen, "cannot plug the device into PCI slot %d: %s", s,
			 log_last_error());
		return -EIO;
	}
	h->slot[s] = (struct hp_slot){.d = d, .kind = kind};
	snprintf(h->slot[s].id, sizeof(h->slot[s].id), "%s", id);
	acpi_pcihp_plug(&h->regs, s);
	tell_guest(vm);
	log_info("PCI hotplug: %s added in slot %d (00:%02x.0)", id, s, s);
	*slot = s;
	return 0;
}

int vm_hotplug_add_func(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
			const struct vm_hotplug_func *f, int *slot, char *err, size_t errlen)
{
	struct vm_hotplug *h = vm->hotplug;
	int s = vm_hotplug_enabled(vm) ? first_free(h) : -1;
	if (!vm_hotplug_enabled(vm) || find(vm, id) >= 0 || s < 0) {
		snprintf(err, errlen, "%s",
			 !vm_hotplug_enabled(vm) ? "this VM has no PCI hotplug"
			 : s < 0		 ? "no free PCI hotplug slot"
						 : "a hot-added device has this id already");
		return !vm_hotplug_enabled(vm) ? -ENODEV : s < 0 ? -ENOSPC : -EEXIST;
	}
	int r = f->plug(f->opaque, s, err, errlen);
	if (r)
		return r;
	h->slot[s] = (struct hp_slot){.is_func = true, .func = *f, .kind = kind};
	snprintf(h->slot[s].id, sizeof(h->slot[s].id), "%s", id);
	acpi_pcihp_plug(&h->regs, s);
	tell_guest(vm);
	log_info("PCI hotplug: %s added in slot %d (00:%02x.0)", id, s, s);
	*slot = s;
	return 0;
}

/* Waits for the guest's _EJ0 on slot `s` until `deadline` (CLOCK_MONOTONIC ns). */
static bool wait_released(struct vm *vm, int s, uint64_t deadline)
{
	while (!acpi_pcihp_released(&vm->hotplug->regs, s)) {
		if (mono_ns() >= deadline || vm_stopping(vm))
			return false;
		struct timespec ts = {0, (long)POLL_NS};
		nanosleep(&ts, NULL);
	}
	return true;
}

int vm_hotplug_remove(struct vm *vm, const char *id, unsigned timeout_ms, char *err, size_t errlen)
{
	struct vm_hotplug *h = vm->hotplug;
	int s = find_in(vm, id, true);
	if (s < 0) {
		snprintf(err, errlen, "no removable device has the id %s", id);
		return -ENOENT;
	}
	int r = acpi_pcihp_request_unplug(&h->regs, s);
	if (r) {
		snprintf(err, errlen, "%s: cannot ask the guest to release it: %s", id,
			 strerror(-r));
		return r;
	}
	tell_guest(vm);
	bool released = wait_released(vm, s, mono_ns() + (uint64_t)timeout_ms * 1000000ull);
	if (!released) {
		acpi_pcihp_cancel(&h->regs, s);
		/* an _EJ0 may have come between the last look and the cancel: it counts */
		released = acpi_pcihp_released(&h->regs, s);
	}
	if (!released) {
		snprintf(
		    err, errlen,
		    "%s: the guest did not release the device within %u ms (is it in use, "
		    "or does the guest kernel lack ACPI PCI hotplug, CONFIG_HOTPLUG_PCI_ACPI?): "
		    "it stays",
		    id, timeout_ms);
		log_warn("PCI hotplug: %s", err);
		return -ETIMEDOUT;
	}
	if (h->slot[s].is_func)
		h->slot[s].func.unplug(h->slot[s].func.opaque, s);
	else
		vm_pci_unplug(vm->pci, h->slot[s].d);
	acpi_pcihp_clear(&h->regs, s);
	h->slot[s] = (struct hp_slot){0};
	log_info("PCI hotplug: %s removed from slot %d", id, s);
	return 0;
}
