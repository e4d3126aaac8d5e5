/* --pmem path=FILE[,ro][,root][,id=NAME]: virtio-pmem devices (virtio/pmem/pmem.h), each a host
 * file mapped into a 2 MiB-aligned window above the RAM and the hotplug region (vmm/base/layout.h,
 * vmm/machine/pmem_file.h). The first device the guest sees is /dev/pmem0; `root` puts
 * "root=/dev/pmemN rootflags=dax ro|rw" on the kernel command line. */
#ifndef VMM_DEV_PMEM_H
#define VMM_DEV_PMEM_H

#include "virtio/pmem/pmem.h"
#include "vmm/machine/device_table.h"

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

/* Adds or replaces (same id) one device in `cfg`. Returns 0, or -EINVAL / -ENOSPC / -ENOMEM with
 * the reason in `err` (a second root device, too many devices). */
int dev_pmem_add(struct vm_config *cfg, const char *id, const struct virtio_pmem_opts *o, char *err,
		 size_t errlen);

/* How many devices `cfg` has; dropping those past the first `n` (a failed InstanceStart takes its
 * own back). */
int dev_pmem_count(const struct vm_config *cfg);
void dev_pmem_truncate(struct vm_config *cfg, int n);

#endif
