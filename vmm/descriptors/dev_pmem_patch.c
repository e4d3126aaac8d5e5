/* PATCH /pmem/{id} (Firecracker's PmemDeviceUpdateConfig {"id", "rate_limiter"?}): new limits
 * for a running device's FLUSH requests; the buckets the body does not name stay. The device
 * is named by its id (device_live_set.str), and an unknown id is answered after the VM's
 * state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_patch.h"

static int check(const json_t *doc, const char *id, const json_t *body, struct device_patch *p,
		 char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"id", API_JSON_STRING, true},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};

	if (api_body_check_named(body, id, "id", f, err, errlen) ||
	    api_rate_limiter_parse_patch(json_object_get(body, "rate_limiter"), "rate_limiter",
					 &p->rl[0], err, errlen))
		return -EINVAL;
	if (!doc) {
		snprintf(err, errlen, "no pmem device with id `%s`", id);
		return -ENOENT;
	}
	return 0;
}

static int changes(const char *id, const json_t *body, struct device_patch *p, char *err,
		   size_t errlen)
{
	(void)body, (void)err, (void)errlen;
	if (!rate_limiter_patch_any(&p->rl[0]))
		return 0; /* nothing to change */
	dev_patch_limits_step(p, "rate_limiter", false, "cannot update the rate limiter", NULL);
	p->step[0].set.str = id;
	return 0;
}

static void record(json_t *doc, const struct device_live_set *s)
{
	api_rate_limiter_json_set(doc, "rate_limiter", s->rl_now[0]);
}

const struct device_patch_hooks dev_pmem_patch = {
    .check = check,
    .changes = changes,
    .record = record,
    .id_after_state = true,
};
