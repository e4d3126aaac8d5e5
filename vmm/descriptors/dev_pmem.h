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
	} dev[DEV_PMEM_MAX];
};

extern const struct device_desc device_pmem;
/* PATCH /pmem/{id}: a running device's rate limiter (dev_pmem_live.c). */
extern const struct device_live dev_pmem_live;

/* The device of instance `i` of the running VM, or NULL. */
struct virtio_dev *dev_pmem_device(struct vm *vm, int i);
/* The instance whose id is `id` in `cfg`, or -1. */
int dev_pmem_find(const struct vm_config *cfg, const char *id);

#endif
