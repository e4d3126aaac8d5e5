/* The balloon's bodies and documents. See api_balloon.h. */
#include "vmm/api/api_balloon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/api/api_json.h"
#include "vmm/machine/dev_balloon.h"

#define PAGES_PER_MIB VIRTIO_BALLOON_PAGES_PER_MIB

static int check_interval(uint64_t s, bool zero_ok, char *err, size_t errlen)
{
	if ((s == 0 && !zero_ok) || s > VIRTIO_BALLOON_MAX_STATS_S) {
		snprintf(err, errlen, "stats_polling_interval_s must be %s to %u",
			 zero_ok ? "0" : "1", VIRTIO_BALLOON_MAX_STATS_S);
		return -EINVAL;
	}
	return 0;
}

int api_balloon_put(struct api_balloon *b, unsigned mem_mib, const json_t *body, char *err,
		    size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"amount_mib", API_JSON_UINT, true},
	    {"deflate_on_oom", API_JSON_BOOL, true},
	    {"stats_polling_interval_s", API_JSON_UINT, false},
	    {"free_page_reporting", API_JSON_BOOL, false},
	    {"free_page_hinting", API_JSON_BOOL, false},
	    {NULL, 0, false}};
	uint64_t mib, s;

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	mib = api_json_uint(body, "amount_mib", 0);
	s = api_json_uint(body, "stats_polling_interval_s", 0);
	if (mib > mem_mib) {
		snprintf(err, errlen, "amount_mib %llu is more than the guest's %u MiB",
			 (unsigned long long)mib, mem_mib);
		return -EINVAL;
	}
	if (check_interval(s, true, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "free_page_hinting", false)) {
		snprintf(
		    err, errlen,
		    "free_page_hinting is not supported (the balloon has free_page_reporting)");
		return -EINVAL;
	}
	*b = (struct api_balloon){
	    .set = true,
	    .amount_mib = mib,
	    .deflate_on_oom = api_json_bool(body, "deflate_on_oom", false),
	    .free_page_reporting = api_json_bool(body, "free_page_reporting", false),
	    .stats_interval_s = (uint32_t)s,
	};
	return 0;
}

int api_balloon_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"amount_mib", API_JSON_UINT, true},
						  {NULL, 0, false}};

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	*mib = api_json_uint(body, "amount_mib", 0);
	return 0;
}

int api_balloon_check_patch_stats(const json_t *body, uint32_t *seconds, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"stats_polling_interval_s", API_JSON_UINT, true},
						  {NULL, 0, false}};
	uint64_t s;

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	s = api_json_uint(body, "stats_polling_interval_s", 0);
	if (check_interval(s, false, err, errlen))
		return -EINVAL;
	*seconds = (uint32_t)s;
	return 0;
}

static json_t *config_json(uint64_t amount_mib, bool oom, uint32_t s, bool fpr)
{
	return json_pack("{s:I, s:b, s:I, s:b}", "amount_mib", (json_int_t)amount_mib,
			 "deflate_on_oom", oom, "stats_polling_interval_s", (json_int_t)s,
			 "free_page_reporting", fpr);
}

json_t *api_balloon_json(const struct virtio_balloon_info *i)
{
	json_t *j = config_json(i->target_pages / PAGES_PER_MIB, i->deflate_on_oom,
				i->stats_interval_s, i->free_page_reporting);

	if (j)
		json_object_set_new(j, "actual_mib", json_integer(i->actual_pages / PAGES_PER_MIB));
	return j;
}

json_t *api_balloon_model_json(const struct api_balloon *b)
{
	return config_json(b->amount_mib, b->deflate_on_oom, b->stats_interval_s,
			   b->free_page_reporting);
}

/* Firecracker's names, indexed by VIRTIO_BALLOON_S_* (5.5.6.3). */
static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
    "swap_in",	    "swap_out",		"major_faults", "minor_faults",	       "free_memory",
    "total_memory", "available_memory", "disk_caches",	"hugetlb_allocations", "hugetlb_failures",
};

json_t *api_balloon_stats_json(const struct virtio_balloon_info *i)
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

int api_balloon_spec(const struct api_balloon *b, char *spec, size_t len)
{
	int n = snprintf(spec, len, "size=%llu,stats=%us,deflate-on-oom=%s,free-page-reporting=%s",
			 (unsigned long long)b->amount_mib, b->stats_interval_s,
			 b->deflate_on_oom ? "on" : "off", b->free_page_reporting ? "on" : "off");
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void api_balloon_from_config(struct api_balloon *b, const struct vm_config *cfg)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);

	*b = (struct api_balloon){0};
	if (!c)
		return;
	*b = (struct api_balloon){
	    .set = true,
	    .amount_mib = c->opts.target_mib,
	    .deflate_on_oom = c->opts.deflate_on_oom,
	    .free_page_reporting = c->opts.free_page_reporting,
	    .stats_interval_s = c->opts.stats_interval_s,
	};
}
