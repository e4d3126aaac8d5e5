/* The running balloon through the API (struct device_live): PATCH /balloon (its target), PATCH
 * /balloon/statistics (its interval), in Firecracker's bodies; GET /balloon and GET
 * /balloon/statistics, its documents; each change written into its configuration block. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/vm/vm.h"

#define PAGES_PER_MIB VIRTIO_BALLOON_PAGES_PER_MIB

/* ---- the configuration a snapshot saves ---- */

/* The balloon's configuration (its record) with `o` in force. */
static int record_balloon(struct vm_config *cfg, const struct virtio_balloon_opts *o)
{
	struct dev_balloon_cfg *c =
	    device_cfg_find(cfg, &device_balloon) ? device_cfg(cfg, &device_balloon) : NULL;

	if (!c)
		return -ENOENT;
	c->opts = *o;
	return 0;
}

int dev_balloon_live_record_target(struct vm_config *cfg, uint64_t mib)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);
	struct virtio_balloon_opts o;

	if (!c)
		return -ENOENT;
	o = c->opts;
	o.target_mib = mib;
	return record_balloon(cfg, &o);
}

int dev_balloon_live_record_stats(struct vm_config *cfg, uint32_t seconds)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);
	struct virtio_balloon_opts o;

	if (!c)
		return -ENOENT;
	o = c->opts;
	o.stats_interval_s = seconds;
	return record_balloon(cfg, &o);
}

/* ---- the bodies: {"amount_mib"} and {"stats_polling_interval_s"} (1 s to a day) ---- */

static int check_target(const json_t *body, struct device_live_set *s, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"amount_mib", API_JSON_UINT, true},
						  {NULL, 0, false}};

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	*s = (struct device_live_set){.member = "amount_mib",
				      .num = api_json_uint(body, "amount_mib", 0)};
	return 0;
}

static int check_stats(const json_t *body, struct device_live_set *s, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"stats_polling_interval_s", API_JSON_UINT, true},
						  {NULL, 0, false}};

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	uint64_t n = api_json_uint(body, "stats_polling_interval_s", 0);
	if (n == 0 || n > VIRTIO_BALLOON_MAX_STATS_S) {
		snprintf(err, errlen, "stats_polling_interval_s must be 1 to %u",
			 VIRTIO_BALLOON_MAX_STATS_S);
		return -EINVAL;
	}
	*s = (struct device_live_set){.member = "stats_polling_interval_s", .num = n};
	return 0;
}

static int balloon_live_check(const char *view, const json_t *body, struct device_live_set *s,
			      char *err, size_t errlen)
{
	return strcmp(view, "statistics") ? check_target(body, s, err, errlen)
					  : check_stats(body, s, err, errlen);
}

/* ---- the documents ---- */

/* The configuration (Firecracker's three fields) plus the driver's actual_mib and our
 * free_page_reporting. */
static json_t *info_json(const struct virtio_balloon_info *i)
{
	json_t *j = json_pack(
	    "{s:I, s:b, s:I, s:b}", "amount_mib", (json_int_t)(i->target_pages / PAGES_PER_MIB),
	    "deflate_on_oom", i->deflate_on_oom, "stats_polling_interval_s",
	    (json_int_t)i->stats_interval_s, "free_page_reporting", i->free_page_reporting);

	if (j)
		json_object_set_new(j, "actual_mib", json_integer(i->actual_pages / PAGES_PER_MIB));
	return j;
}

/* Firecracker's names, indexed by VIRTIO_BALLOON_S_* (5.5.6.3). */
static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
    "swap_in",	    "swap_out",		"major_faults", "minor_faults",	       "free_memory",
    "total_memory", "available_memory", "disk_caches",	"hugetlb_allocations", "hugetlb_failures",
};

/* Target/actual in pages and MiB, then each statistic the driver sent under Firecracker's
 * name. */
static json_t *stats_json(const struct virtio_balloon_info *i)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)i->target_pages,
			      "actual_pages", (json_int_t)i->actual_pages, "target_mib",
			      (json_int_t)(i->target_pages / PAGES_PER_MIB), "actual_mib",
			      (json_int_t)(i->actual_pages / PAGES_PER_MIB));

	for (int t = 0; j && t < VIRTIO_BALLOON_S_NR; t++) {
		if (i->stat_valid[t])
			json_object_set_new(j, stat_names[t],
					    json_integer((json_int_t)(i->stats[t] & INT64_MAX)));
	}
	return j;
}

int dev_balloon_live_doc(const struct virtio_balloon_info *info, const char *view, json_t **doc)
{
	bool stats = !strcmp(view, "statistics");

	if (stats && !info->stats_interval_s)
		return -ENODATA;
	*doc = stats ? stats_json(info) : info_json(info);
	return *doc ? 0 : -ENOMEM;
}

/* ---- the running device ---- */

static int balloon_live_get(struct vm *vm, const char *view, json_t **doc)
{
	struct virtio_dev *dev = dev_balloon_find(vm);
	struct virtio_balloon_info info;

	if (!dev)
		return -ENODEV;
	virtio_balloon_get_info(dev, &info);
	return dev_balloon_live_doc(&info, view, doc);
}

static int set_target(struct virtio_dev *dev, struct vm_config *cfg, uint64_t mib, char *err,
		      size_t errlen)
{
	if (virtio_balloon_set_target(dev, mib)) {
		snprintf(err, errlen, "amount_mib %llu is more than the guest's memory",
			 (unsigned long long)mib);
		return -EINVAL;
	}
	live_record_warn(dev_balloon_live_record_target(cfg, mib), "the balloon's target");
	return 0;
}

static int set_stats(struct virtio_dev *dev, struct vm_config *cfg, uint32_t seconds, char *err,
		     size_t errlen)
{
	if (virtio_balloon_set_stats_interval(dev, seconds)) {
		snprintf(err, errlen,
			 "statistics were not enabled at start "
			 "(stats_polling_interval_s 0)");
		return -EINVAL;
	}
	live_record_warn(dev_balloon_live_record_stats(cfg, seconds), "the statistics interval");
	return 0;
}

static int balloon_live_set(struct vm *vm, struct vm_config *cfg, int index,
			    struct device_live_set *s, char *err, size_t errlen)
{
	struct virtio_dev *dev = dev_balloon_find(vm);

	(void)index;
	if (!dev)
		return -ENODEV;
	return strcmp(s->member, "amount_mib") ? set_stats(dev, cfg, (uint32_t)s->num, err, errlen)
					       : set_target(dev, cfg, s->num, err, errlen);
}

const struct device_live dev_balloon_live = {
    .check = balloon_live_check,
    .get = balloon_live_get,
    .set = balloon_live_set,
    .recorded = true,
};
