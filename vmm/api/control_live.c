/* The live changes the router asks for (PATCH /drives, /network-interfaces, /balloon,
 * /balloon/statistics, /hotplug/memory) and the live reads beside them: each goes to its device's
 * descriptor (struct device_live, vmm/descriptors/device_table.h), which reaches the device
 * model and keeps the configuration a snapshot saves in step. What stays here is what only the
 * backend knows: which device a model document is, the migration that refuses a recorded
 * change, and the broker for a change that opens a file. See control_internal.h. */
#include <errno.h>
#include <string.h>

#include "host/sandbox/broker.h"
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_memhp.h"
#include "vmm/descriptors/dev_net.h"

/* Device `d`'s running state through its hook; -ENODEV before the VM exists or without one. */
static int live_info(struct control *c, const struct device_desc *d, void *info)
{
	return c->vm_created ? d->api->live->info(&c->vm, info) : -ENODEV;
}

/* One change to instance `index` of device `d`, on this thread. */
static int live_set_here(struct control *c, const struct device_desc *d, int index,
			 struct device_live_set *s, char *err, size_t errlen)
{
	const struct device_live *l = d->api->live;

	if (!c->vm_created)
		return -ENODEV;
	if (l->recorded && ctl_refused_while_migrating(c, err, errlen))
		return -EBUSY;
	return l->set(&c->vm, c->cfg, index, s, err, errlen);
}

struct live_call {
	struct control *c;
	const struct device_desc *d;
	int index;
	struct device_live_set *s;
	char *err;
	size_t errlen;
};

static int call_live_set(void *arg)
{
	struct live_call *k = arg;
	return live_set_here(k->c, k->d, k->index, k->s, k->err, k->errlen);
}

/* A change that names a file the device opens runs on the broker (host/sandbox/broker.h): the
 * API thread opens no file itself. */
static int live_set(struct control *c, const struct device_desc *d, int index,
		    struct device_live_set *s, char *err, size_t errlen)
{
	const char *opens = d->api->live->opens_file;
	struct live_call k = {c, d, index, s, err, errlen};

	if (opens && !strcmp(opens, s->member))
		return sandbox_broker_run(call_live_set, &k);
	return call_live_set(&k);
}

/* Model drive `index`'s disk (-1: a vhost-user disk, or none). */
static int disk_of(const struct control *c, int index)
{
	return index >= 0 && index < API_MAX_DRIVES ? c->disk_index[index] : -1;
}

int ctl_live_patch_drive(void *ctx, int index, const char *path, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct device_live_set s = {.member = "path_on_host", .str = path};
	return live_set(c, &device_disk, disk_of(c, index), &s, err, errlen);
}

int ctl_live_patch_drive_rate_limiter(void *ctx, int index, const struct rate_limiter_patch *p,
				      struct rate_limiter_cfg *now, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct device_live_set s = {.member = "rate_limiter", .rl = {p}, .rl_now = {now}};
	return live_set(c, &device_disk, disk_of(c, index), &s, err, errlen);
}

int ctl_live_patch_nic_rate_limiters(void *ctx, int index, const struct rate_limiter_patch *rx,
				     const struct rate_limiter_patch *tx,
				     struct rate_limiter_cfg *rx_now,
				     struct rate_limiter_cfg *tx_now, char *err, size_t errlen)
{
	struct control *c = ctx;
	const struct api_model *m = &c->api.model;
	int nic = index >= 0 && index < api_model_count(m, &dev_net_api)
		      ? ctl_nic_cfg_index(c, m, index)
		      : -1;
	struct device_live_set s = {
	    .member = "rate_limiters", .rl = {rx, tx}, .rl_now = {rx_now, tx_now}};
	return live_set(c, &device_net, nic, &s, err, errlen);
}

int ctl_live_balloon_info(void *ctx, struct virtio_balloon_info *info)
{
	return live_info(ctx, &device_balloon, info);
}

int ctl_live_balloon_set_target(void *ctx, uint64_t mib, char *err, size_t errlen)
{
	struct device_live_set s = {.member = "amount_mib", .num = mib};
	return live_set(ctx, &device_balloon, 0, &s, err, errlen);
}

int ctl_live_balloon_set_stats(void *ctx, uint32_t seconds, char *err, size_t errlen)
{
	struct device_live_set s = {.member = "stats_polling_interval_s", .num = seconds};
	return live_set(ctx, &device_balloon, 0, &s, err, errlen);
}

int ctl_live_memhp_info(void *ctx, struct virtio_mem_info *info)
{
	return live_info(ctx, &device_memhp, info);
}

int ctl_live_memhp_set_requested(void *ctx, uint64_t mib, char *err, size_t errlen)
{
	struct device_live_set s = {.member = "requested_size_mib", .num = mib};
	return live_set(ctx, &device_memhp, 0, &s, err, errlen);
}
