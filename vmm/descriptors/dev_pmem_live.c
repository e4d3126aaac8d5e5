/* PATCH /pmem/{id} on a running device (struct device_live): new rate limits for its FLUSH
 * requests (Firecracker's PmemDeviceUpdateConfig), written into its --pmem option (bw=, ops=)
 * so that a snapshot or a migration keeps them. The instance is found by its id (s->str): the
 * API's pmem documents and the configuration's devices need not be in the same order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_pmem.h"

/* Instance `i` has the limits `rl` now (its block, which its record is). */
static int record_limits(struct vm_config *cfg, int i, const struct rate_limiter_cfg *rl)
{
	struct dev_pmem_cfg *c = device_cfg(cfg, &device_pmem);

	if (!c || i < 0 || i >= c->n)
		return -ENOENT;
	c->dev[i].opts.rl = *rl;
	return 0;
}

static int pmem_live_set(struct vm *vm, struct vm_config *cfg, int index, struct device_live_set *s,
			 char *err, size_t errlen)
{
	int i = s->str ? dev_pmem_find(cfg, s->str) : -1;
	struct virtio_dev *dev = dev_pmem_device(vm, i);

	(void)index;
	if (!dev) {
		snprintf(err, errlen, "no pmem device with id `%s`", s->str ? s->str : "");
		return -ENODEV;
	}
	int r = virtio_pmem_patch_rate_limiter(dev, s->rl[0], s->rl_now[0]);
	if (r)
		snprintf(err, errlen, "the rate limiter cannot be changed so: %s", strerror(-r));
	else
		live_record_warn(record_limits(cfg, i, s->rl_now[0]), "the pmem device's limits");
	return r;
}

const struct device_live dev_pmem_live = {
    .set = pmem_live_set,
    .recorded = true,
};
