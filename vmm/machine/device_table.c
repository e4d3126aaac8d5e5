/* The device table (see vmm/machine/device_table.h): one line per device, in the order the guest
 * sees them. */
#include "vmm/machine/device_table.h"

#include <stdlib.h>

/* Each defined in its vmm/machine/dev_<name>.c. */
extern const struct device_desc device_disk, device_net, device_console, device_rng, device_display,
    device_vsock, device_balloon, device_memhp, device_pmem, device_fs, device_vu_blk,
    device_vu_net;

const struct device_desc *const device_table[] = {
    &device_disk,    /* /dev/vda, /dev/vdb, ... */
    &device_net,     /* eth0, ... */
    &device_console, /* hvc0 with --console virtio */
    &device_rng,
    &device_display, /* gpu, keyboard, tablet */
    &device_vsock,
    &device_balloon, /* memory the guest gives back */
    &device_fs,	     /* shared folders (vhost-user) */
    &device_vu_blk,  /* vhost-user disks: after every --disk PATH */
    &device_vu_net,  /* vhost-user NICs: after every other --net */
    &device_memhp,   /* memory the guest plugs and unplugs */
    &device_pmem,    /* /dev/pmem0, ... */
    NULL,
};

_Static_assert(sizeof(device_table) / sizeof(device_table[0]) <= CLI_MAX_DEVICE_KINDS + 1,
	       "struct vm_config has a device_cfg slot per table entry");

static int index_of(const struct device_desc *d)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i] == d)
			return i;
	return -1;
}

void *device_cfg(struct vm_config *cfg, const struct device_desc *d)
{
	int i = index_of(d);
	if (i < 0 || !d->cfg_size)
		return NULL;
	if (!cfg->device_cfg[i])
		cfg->device_cfg[i] = calloc(1, d->cfg_size);
	return cfg->device_cfg[i];
}

const void *device_cfg_find(const struct vm_config *cfg, const struct device_desc *d)
{
	int i = index_of(d);
	return i < 0 ? NULL : cfg->device_cfg[i];
}

void device_cfg_free_all(struct vm_config *cfg)
{
	for (int i = 0; i < CLI_MAX_DEVICE_KINDS; i++) {
		free(cfg->device_cfg[i]);
		cfg->device_cfg[i] = NULL;
	}
}

int device_table_check(const struct vm_config *cfg)
{
	for (int i = 0; device_table[i]; i++) {
		int err = device_table[i]->check ? device_table[i]->check(cfg) : 0;
		if (err)
			return err;
	}
	return 0;
}

bool device_table_shares_memory(const struct vm_config *cfg)
{
	for (int i = 0; device_table[i]; i++) {
		if (device_table[i]->shares_memory && device_cfg_find(cfg, device_table[i]))
			return true;
	}
	return false;
}
