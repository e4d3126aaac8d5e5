/* PCI hotplug of virtio devices while the VM runs (docs/hotplug.md), through ACPI: the
 * controller's registers (devices/pci/acpi_pcihp.h), its slots in the DSDT
 * (firmware/acpi/dsdt_pcihp.c) and the Generic Event Device's ACPI_GED_PCI_HOTPLUG event.
 *
 * A VM has hotplug when it has ACPI (not --acpi off) and a PCI bus at boot (a device with
 * --transport pci): every device number bus 0 leaves free at boot is a hotplug slot. A device
 * added here is a plain virtio-pci device (metrics, pause, its I/O thread's filter, its rate
 * limiter); vm_hotplug_remove() asks the guest to release it and waits.
 *
 * Threads: add and remove on the hotplug thread (vm_hotplug_call()), for one control thread at a
 * time (the API's, under its lock);
 * the registers from vCPU threads. */
#ifndef VMM_VM_HOTPLUG_H
#define VMM_VM_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>

struct vm;
struct virtio_dev;

#define VM_HOTPLUG_ID_MAX 64
/* How long a remove waits for the guest by default: Linux lets a device go in well under a
 * second on an idle host, but took over 10 s under load on kvm_pvm (2026-12-01). */
#define VM_HOTPLUG_REMOVE_TIMEOUT_MS 30000u

/* A device kind hotplug places (a disk, a NIC, an rng, ...): each device's descriptor defines
 * its own (vmm/descriptors, struct device_hotplug.kind), one object per kind. The VM names no
 * kind: it tells them apart by the object's address and reads only these fields. */
struct vm_hotplug_kind {
	/* The kind's name ("disk", "rng"): what the slot table and the log call the one instance
	 * of a kept kind. */
	const char *name;
	/* A boot device that is never removed, but whose record keeps its slot when an earlier
	 * boot device goes (an rng, a balloon, the console's hvc0: vm_hotplug_boot_kept()). */
	bool kept;
};

/* A PCI function that is not virtio (a passed-through device, vmm/vm/vm_vfio.h) in a hotplug
 * slot: its owner puts it at device number `slot` (0 or -errno with the reason in err, nothing
 * left behind on failure) and takes it out once the guest released it. */
struct vm_hotplug_func {
	int (*plug)(void *opaque, int slot, char *err, size_t errlen);
	void (*unplug)(void *opaque, int slot);
	void *opaque;
};

struct sandbox_list;
/* What the hotplug thread is given of the device kinds it may add, which it does not know
 * (vmm/descriptors fills it: device_table_hotplug_devices, kept in vm->hotplug_devices). */
struct vm_hotplug_devices {
	/* The seccomp lists of what building, starting and stopping an instance of any kind takes
	 * beyond the virtio framework's, its I/O threads' included (virtio-blk's, a tap's, ...),
	 * each once, into out[0..max): their count. */
	int (*sandboxes)(const struct sandbox_list **out, int max);
};

/* At the end of the devices' creation, before the ACPI tables are written: the controller and
 * its slots, when the VM can have them (see above). 0, or -errno (logged). */
int vm_hotplug_setup(struct vm *vm);
/* In vm_run(), before the main thread confines itself: the thread that plugs and unplugs
 * (hotplug_worker.c says why it is one of its own), with the device kinds' seccomp lists of
 * vm->hotplug_devices. 0, or -errno (logged). */
int vm_hotplug_start(struct vm *vm);
/* Runs fn(arg) on that thread and returns its result (-ENODEV: the VM has no hotplug). The
 * device's creation, vm_hotplug_add() and vm_hotplug_remove() are called this way. */
int vm_hotplug_call(struct vm *vm, int (*fn)(void *), void *arg);
/* Ends that thread and unregisters the controller (the devices go with the PCI bus). */
void vm_hotplug_destroy(struct vm *vm);

/* In the devices' creation (vmm/descriptors: a --disk or --net with hotplug-slot=N, the record
 * of a device hot-added before a snapshot): `dev` (created and initialised, owned from here on:
 * freed on failure) goes into hotplug slot `slot` once vm_hotplug_setup() knows the slots, as
 * a hot-added device of that `id` (removable). A kept kind's (kind->kept: a --rng or
 * --balloon with hotplug-slot=N) goes to device number `slot` before the slots are
 * known, as the fixed boot device it was (no hotplug slot, not removable), and is kept
 * (vm_hotplug_boot_kept()). 0, or -errno (logged). */
int vm_hotplug_boot_device(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
			   struct virtio_dev *dev, int slot);
/* Whether the guest has an event of the controller still to answer (a slot to scan, a device
 * to release): a snapshot then would restore a guest that never sees it. 0, or -EBUSY with
 * the reason in err. */
int vm_hotplug_check_quiet(const struct vm *vm, char *err, size_t errlen);

/* Whether the VM has hotplug at all, and how many hotplug slots are free now. */
bool vm_hotplug_enabled(const struct vm *vm);

/* Whether a passed-through device may be hot-added to this VM: started with --vfio-hotplug, with
 * PCI hotplug, on a host with VFIO (vm_vfio_host_has_vfio()). Only then do its vCPU and main
 * threads take the VFIO seccomp lists at start (pread/pwrite, memory slots: wider than a vCPU
 * otherwise needs) and may the hotplug thread open the VFIO files (docs/sandbox.md). */
bool vm_vfio_may_hot_add(const struct vm *vm);
int vm_hotplug_free_slots(const struct vm *vm);
/* How many hot-added devices the VM has now; the id of the first in *first (may be NULL). */
int vm_hotplug_count(const struct vm *vm, const char **first);
/* Whether a hot-added device has the id `id`. */
bool vm_hotplug_has_id(const struct vm *vm, const char *id);
/* The hot-added device `id` of `kind` (its model, for a live change such as its rate limits),
 * or NULL. */
struct virtio_dev *vm_hotplug_device(const struct vm *vm, const char *id,
				     const struct vm_hotplug_kind *kind);

/* Puts `dev` (created and initialised, not started, owned from here on: destroyed on failure)
 * into the first free hotplug slot, starts it and tells the guest. *slot gets the device
 * number. 0, or -errno with the reason in err: -ENODEV (no hotplug), -ENOSPC (no free slot),
 * -EEXIST (id taken), -EIO (wiring failed, logged). */
int vm_hotplug_add(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
		   struct virtio_dev *dev, int *slot, char *err, size_t errlen);

/* As vm_hotplug_add() for a function `f` plugs itself into the first free hotplug slot. */
int vm_hotplug_add_func(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
			const struct vm_hotplug_func *f, int *slot, char *err, size_t errlen);

/* In the devices' creation: the virtio-pci boot device `dev` just placed (vm_virtio_place()) may
 * be removed at run time by its API id `id`: its device number is a hotplug slot too (an Sxx
 * with _EJ0 in the DSDT), and vm_hotplug_remove() takes it out as a hot-added one. Not the root
 * disk, nor a device on virtio-mmio. Does nothing when `dev` is not on the PCI bus. */
void vm_hotplug_boot_removable(struct vm *vm, const char *id, const struct vm_hotplug_kind *kind,
			       const struct virtio_dev *dev);
/* In the devices' creation: the virtio-pci boot device `dev` of a kept kind (kind->kept: an rng,
 * a balloon) just placed is never removed, but when an earlier boot device goes its record is
 * rewritten with its slot (hotplug-slot=N) as a removable one's, so a restore places it
 * there again: vm_hotplug_boot_after() lists it, by kind->name. Its slot stays a fixed one (no
 * Sxx). Does nothing when `dev` is not on the PCI bus. */
void vm_hotplug_boot_kept(struct vm *vm, const struct vm_hotplug_kind *kind,
			  const struct virtio_dev *dev);
/* The slot of the removable boot device `id` (not yet adopted), its kind in *kind; or -1. */
int vm_hotplug_boot_slot(const struct vm *vm, const char *id, const struct vm_hotplug_kind **kind);

/* A removable boot device past a slot (vm_hotplug_boot_after()). */
struct vm_hotplug_boot {
	int slot;
	const struct vm_hotplug_kind *kind;
	char id[VM_HOTPLUG_ID_MAX];
};
/* The removable (and kept) boot devices at device numbers past `slot`, in slot order, into
 * out[0..max) (their count); *fixed gets the first device number past `slot` that a device holds
 * which is neither removable, kept nor hot-added (0: none): a boot device that would move in a
 * restore. A kept device is listed even when its record has its slot already. */
int vm_hotplug_boot_after(const struct vm *vm, int slot, struct vm_hotplug_boot *out, int max,
			  int *fixed);
/* The boot device in `slot` is from now on recorded as a hotplug-slot= device (its descriptor
 * finds it with vm_hotplug_device(), a remove treats it as a hot-added one). */
void vm_hotplug_boot_adopt(struct vm *vm, int slot);

/* Asks the guest to release the hot-added (or removable boot) device `id` and waits up to
 * timeout_ms for its _EJ0; then the device is stopped and goes. 0, or -errno with the reason in
 * err: -ENOENT (no hot-added device of that id), -ETIMEDOUT (the guest did not release it: it
 * stays, the request is taken back). */
int vm_hotplug_remove(struct vm *vm, const char *id, unsigned timeout_ms, char *err, size_t errlen);

#endif
