/* The configuration following run-time changes. See live_config.h. */
#include "vmm/api/live_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"

#define LIMITS_MAX 256 /* ",rx-bw=S:R:B" and three more: 4 x (8 + 3 x 20 digits) */

/* The `nth` recorded option called `name` (the last one when nth < 0), or NULL. */
static struct cli_record *find_record(struct vm_config *cfg, const char *name, int nth)
{
	struct cli_record *last = NULL;

	for (int i = 0, n = 0; i < cfg->nrecorded; i++) {
		if (strcmp(cfg->recorded[i].name, name))
			continue;
		last = &cfg->recorded[i];
		if (n++ == nth)
			return last;
	}
	return nth < 0 ? last : NULL;
}

/* The `len` bytes at `item` ("key=value" or "key") name one of the NULL-terminated `keys`. */
static bool item_has_key(const char *item, size_t len, const char *const *keys)
{
	const char *eq = memchr(item, '=', len);
	size_t klen = eq ? (size_t)(eq - item) : len;

	for (; *keys; keys++)
		if (strlen(*keys) == klen && !memcmp(item, *keys, klen))
			return true;
	return false;
}

/* rec->arg without its items that `drop` names (the first `keep` items stay whatever they are:
 * a disk's path), then `add` ("" or ",key=value..."). */
static int edit_items(struct cli_record *rec, int keep, const char *const *drop, const char *add)
{
	const char *p = rec->arg ? rec->arg : "";
	size_t cap = strlen(p) + strlen(add) + 1, len = 0;
	char *out = malloc(cap);

	if (!out)
		return -ENOMEM;
	for (int i = 0; *p; i++) {
		size_t n = strcspn(p, ",");
		if (i < keep || !item_has_key(p, n, drop)) {
			if (len)
				out[len++] = ',';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		p += *p == ',';
	}
	snprintf(out + len, cap - len, "%s", len || *add != ',' ? add : add + 1);
	free(rec->arg);
	rec->arg = out;
	return 0;
}

int live_config_disk_path(struct vm_config *cfg, int disk, const char *path)
{
	struct cli_record *rec = find_record(cfg, "disk", disk);
	struct virtio_blk_opts *o = dev_disk_opts_edit(cfg, disk);
	const char *rest = rec && rec->arg ? strchr(rec->arg, ',') : NULL;
	char *arg, *copy;

	if (!rec || !o)
		return -ENOENT;
	copy = strdup(path);
	if (!copy || asprintf(&arg, "%s%s", path, rest ? rest : "") < 0) {
		free(copy);
		return -ENOMEM;
	}
	free(rec->arg);
	rec->arg = arg;
	free(o->path);
	o->path = copy;
	return 0;
}

int live_config_disk_limits(struct vm_config *cfg, int disk, const struct rate_limiter_cfg *rl)
{
	static const char *const keys[] = {"bw", "ops", NULL};
	struct cli_record *rec = find_record(cfg, "disk", disk);
	struct virtio_blk_opts *o = dev_disk_opts_edit(cfg, disk);
	char add[LIMITS_MAX] = "";

	if (!rec || !o)
		return -ENOENT;
	if (api_rate_limiter_spec(add, sizeof(add), "", rl))
		return -ENOMEM; /* cannot happen: the numbers are bounded */
	int r = edit_items(rec, 1, keys, add);
	if (!r)
		o->rl = *rl;
	return r;
}

int live_config_nic_limits(struct vm_config *cfg, int nic, const struct rate_limiter_cfg *rx,
			   const struct rate_limiter_cfg *tx)
{
	static const char *const keys[] = {"rx-bw", "rx-ops", "tx-bw", "tx-ops", NULL};
	struct cli_record *rec = find_record(cfg, "net", nic);
	struct virtio_net_opts *o = dev_net_opts_edit(cfg, nic);
	char add[LIMITS_MAX] = "";

	if (!rec || !o)
		return -ENOENT;
	if (api_rate_limiter_spec(add, sizeof(add), "rx-", rx) ||
	    api_rate_limiter_spec(add, sizeof(add), "tx-", tx))
		return -ENOMEM; /* cannot happen: the numbers are bounded */
	int r = edit_items(rec, 1, keys, add);
	if (!r) {
		o->rx_rl = *rx;
		o->tx_rl = *tx;
	}
	return r;
}

/* The balloon's option written anew from its parsed configuration, with `o` in force. */
static int record_balloon(struct vm_config *cfg, const struct virtio_balloon_opts *o)
{
	struct cli_record *rec = find_record(cfg, "balloon", -1);
	struct dev_balloon_cfg *c =
	    device_cfg_find(cfg, &device_balloon) ? device_cfg(cfg, &device_balloon) : NULL;
	char spec[128], *copy;

	if (!rec || !c)
		return -ENOENT;
	if (dev_balloon_option(o, spec, sizeof(spec)) || !(copy = strdup(spec)))
		return -ENOMEM;
	free(rec->arg);
	rec->arg = copy;
	c->opts = *o;
	return 0;
}

int live_config_balloon_target(struct vm_config *cfg, uint64_t mib)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);
	struct virtio_balloon_opts o;

	if (!c)
		return -ENOENT;
	o = c->opts;
	o.target_mib = mib;
	return record_balloon(cfg, &o);
}

int live_config_balloon_stats(struct vm_config *cfg, uint32_t seconds)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);
	struct virtio_balloon_opts o;

	if (!c)
		return -ENOENT;
	o = c->opts;
	o.stats_interval_s = seconds;
	return record_balloon(cfg, &o);
}
