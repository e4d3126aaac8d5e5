/* --pmem path=FILE[,ro][,root][,id=NAME][,bw=S:R[:B]][,ops=S:R[:B]]: virtio-pmem devices
 * (virtio/pmem/pmem.h), each a host file mapped into a 2 MiB-aligned window above the RAM and the
 * hotplug region (base/layout.h, vmm/vm/pmem_file.h). The first device the guest sees is
 * /dev/pmem0; `root` puts "root=/dev/pmemN rootflags=dax ro|rw" on the kernel command line. */
#ifndef VMM_DEV_PMEM_H
#define VMM_DEV_PMEM_H

#include "virtio/pmem/pmem.h"
#include "vmm/descriptors/device_table.h"

#define DEV_PMEM_MAX	    8
#define DEV_PMEM_FIRST_SLOT 2u /* KVM memory slots 2..9 (RAM has 0 and 1) */
#define DEV_PMEM_ID_MAX	    64

struct dev_pmem_cfg {
	int n;
	struct {
		char id[DEV_PMEM_ID_MAX]; /* PUT /pmem/{id}; "pmemN" for --pmem */
		struct virtio_pmem_opts opts;
		enum virtio_transport transport;
		int hotplug_slot; /* 0, or the PCI hotplug slot of a hot-added device */
		uint64_t gpa;	  /* a hot-added device's window (gpa=), or 0: placed at creation */
	} dev[DEV_PMEM_MAX];
};

/* The item of a hot-added device's record that keeps its window's guest address. */
#define DEV_PMEM_GPA_KEY  "gpa="
#define DEV_PMEM_GPA_ITEM "gpa" /* the same as an item of its record (base/options.h) */

extern const struct device_desc device_pmem;
/* PATCH /pmem/{id}: a running device's rate limiter (dev_pmem_live.c). */
extern const struct device_live dev_pmem_live;

/* The device of instance `i` of the running VM, or NULL. */
struct virtio_dev *dev_pmem_device(struct vm *vm, int i);
/* The instance whose id is `id` in `cfg`, or -1. */
int dev_pmem_find(const struct vm_config *cfg, const char *id);

/* Takes device `id` out of the configuration (a hot-added one was removed). */
void dev_pmem_forget(struct vm_config *cfg, const char *id);
/* Device i, a boot device (on PCI, at device number `slot`, its window at `gpa`), recorded as a
 * hotplug-slot= device from now on: its id= set (its API id), its slot and window's address
 * kept, as dev_disk_pin() does for a disk. 0, or -EINVAL (no device i). */
int dev_pmem_pin(struct vm_config *cfg, int i, int slot, uint64_t gpa);
/* The guest address of device `id`'s window in the running VM, or 0: none open. */
uint64_t dev_pmem_gpa(const char *id);

/* A device hot-added while the VM runs (vmm/api/control_hotplug.c, on the hotplug thread):
 * `record` is its --pmem record's items with its id=; a non-zero `size` must be its file's. Its
 * window is opened at the lowest free guest address (*gpa), its KVM slot set, and *dev is the
 * initialised device, not started. 0, or -errno with the reason in err (nothing kept). */
int dev_pmem_hot_create(struct vm *vm, const struct opt_items *record, uint64_t size,
			struct virtio_dev **dev, uint64_t *gpa, char *err, size_t errlen);
/* Once the guest released hot-added device `id` and its transport stopped it: its KVM slot,
 * mapping and file go. */
void dev_pmem_hot_release(struct vm *vm, const char *id);

#endif
