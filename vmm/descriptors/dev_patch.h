/* What the PATCH hooks of the drives, the NICs and pmem share (dev_disk_patch.c,
 * dev_net_patch.c, dev_pmem_patch.c; struct device_patch_hooks). Pure code, no VM. */
#ifndef VMM_DESCRIPTORS_DEV_PATCH_H
#define VMM_DESCRIPTORS_DEV_PATCH_H

#include <jansson.h>
#include <stddef.h>

#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"

/* A hot-added device's PATCH body: its `fields`, and its `key` (required) the path's id.
 * 0 or -EINVAL with the client's message in err. */
int dev_patch_hot_named(const json_t *body, const char *id, const char *key,
			const struct api_json_field *fields, char *err, size_t errlen);

/* Adds a step changing `member` to the rate limiters p->rl[0] (and p->rl[1] when `both`),
 * their limits after it into p->now. */
void dev_patch_limits_step(struct device_patch *p, const char *member, bool both,
			   const char *failed, const char *unavailable);

#endif
