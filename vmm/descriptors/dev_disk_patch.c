/* PATCH /drives/{id} (Firecracker's PartialDrive {"drive_id", "path_on_host"?,
 * "rate_limiter"?}): the body checked against the drive's document, then on the running VM new
 * rate limits (the buckets the body names change, the others stay) and a new file. A hot-added
 * drive takes new limits only: its file stays the one it was added with. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_patch.h"

static const struct api_json_field fields[] = {{"drive_id", API_JSON_STRING, true},
					       {"path_on_host", API_JSON_STRING, false},
					       {"rate_limiter", API_JSON_OBJECT, false},
					       {NULL, 0, false}};

static int check(const json_t *doc, const char *id, const json_t *body, struct device_patch *p,
		 char *err, size_t errlen)
{
	struct rate_limiter_cfg rl;
	int r = api_body_check_named(body, id, "drive_id", fields, err, errlen);

	(void)p;
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter",
					   &rl, err, errlen);
	if (r)
		return r;
	if (!doc) {
		snprintf(err, errlen, "no drive with id `%s`", id);
		return -ENOENT;
	}
	if (api_body_has(doc, "socket")) {
		snprintf(err, errlen,
			 "drive `%s` is a vhost-user disk (socket): its back-end serves it, so "
			 "neither path_on_host nor rate_limiter can be changed here",
			 id);
		return -EINVAL;
	}
	const char *path = api_json_str(body, "path_on_host", NULL);
	if (path && !path[0]) {
		snprintf(err, errlen, "path_on_host is empty");
		return -EINVAL;
	}
	return 0;
}

/* The limits first, then the file. */
static int changes(const char *id, const json_t *body, struct device_patch *p, char *err,
		   size_t errlen)
{
	const json_t *rl = json_object_get(body, "rate_limiter");
	const char *path = api_json_str(body, "path_on_host", NULL);

	(void)id, (void)err, (void)errlen;
	if (!api_rate_limiter_parse_patch(rl, "rate_limiter", &p->rl[0], NULL, 0) &&
	    rate_limiter_patch_any(&p->rl[0]))
		dev_patch_limits_step(p, "rate_limiter", false, "cannot update the rate limiter",
				      "rate limiters cannot be changed here");
	if (path)
		p->step[p->n++] =
		    (struct device_patch_step){.set = {.member = "path_on_host", .str = path},
					       .failed = "cannot update the drive"};
	return 0;
}

static void record(json_t *doc, const struct device_live_set *s)
{
	if (!strcmp(s->member, "path_on_host"))
		json_object_set_new(doc, "path_on_host", json_string(s->str));
	else
		api_rate_limiter_json_set(doc, "rate_limiter", s->rl_now[0]);
}

static const struct api_json_field hot_fields[] = {
    {"drive_id", API_JSON_STRING, true},
    {"rate_limiter", API_JSON_OBJECT, false},
    {NULL, 0, false},
};

/* A hot-added drive's limits (the call also finds whether the id is a hot-added drive's). */
static int hot_check(const char *id, const json_t *body, struct device_patch *p, char *err,
		     size_t errlen)
{
	if (dev_patch_hot_named(body, id, "drive_id", hot_fields, err, errlen) ||
	    api_rate_limiter_parse_patch(json_object_get(body, "rate_limiter"), "rate_limiter",
					 &p->rl[0], err, errlen))
		return -EINVAL;
	dev_patch_limits_step(p, "rate_limiter", true, "cannot update the rate limiter", NULL);
	return 0;
}

const struct device_patch_hooks dev_disk_patch = {
    .check = check,
    .changes = changes,
    .record = record,
    .hot_check = hot_check,
};
