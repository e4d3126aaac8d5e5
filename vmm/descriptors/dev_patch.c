/* What the devices' PATCH hooks share (dev_patch.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/dev_patch.h"

int dev_patch_hot_named(const json_t *body, const char *id, const char *key,
			const struct api_json_field *fields, char *err, size_t errlen)
{
	if (api_json_check(body, fields, err, errlen))
		return -EINVAL;
	if (strcmp(api_json_str(body, key, ""), id)) {
		snprintf(err, errlen, "The %s in the body differs from the path's.", key);
		return -EINVAL;
	}
	return 0;
}

void dev_patch_limits_step(struct device_patch *p, const char *member, bool both,
			   const char *failed, const char *unavailable)
{
	struct device_patch_step *st = &p->step[p->n++];

	*st = (struct device_patch_step){.set = {.member = member,
						 .rl = {&p->rl[0], both ? &p->rl[1] : NULL},
						 .rl_now = {&p->now[0], both ? &p->now[1] : NULL}},
					 .failed = failed,
					 .unavailable = unavailable};
}
