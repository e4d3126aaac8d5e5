/* The balloon's bodies and documents. See api_balloon.h. */
#include "vmm/api/api_balloon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_json.h"

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
