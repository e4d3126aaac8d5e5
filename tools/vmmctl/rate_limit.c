/* vmmctl: rate limiter options -> JSON. See rate_limit.h. */
#include "tools/vmmctl/rate_limit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/core/rate_limiter.h"

/* One bucket: *out is {"size", "refill_time", "one_time_burst"?}; "0" is {"size": 0,
 * "refill_time": 0}, no limit (what removes the bucket in a PATCH). */
static int bucket_json(const struct args *a, const char *opt, const char *val, json_t **out,
		       char *e, size_t n)
{
	struct rl_bucket_cfg b = {0};
	char why[160];

	*out = NULL;
	if (strcmp(val, "0") && rl_bucket_parse(val, &b, why, sizeof(why)))
		return cmd_fail(e, n, "%s: --%s: %s", a->cmd, opt, why);
	*out = json_pack("{s:I, s:I}", "size", (json_int_t)b.size, "refill_time",
			 (json_int_t)b.refill_ms);
	if (*out && b.one_time_burst)
		json_object_set_new(*out, "one_time_burst",
				    json_integer((json_int_t)b.one_time_burst));
	return *out ? 0 : cmd_fail(e, n, "%s: out of memory", a->cmd);
}

/* Adds bucket `member` of `limiter` from option PREFIX`name` if that option was given. */
static int add_bucket(json_t *limiter, const char *member, const struct args *a, const char *prefix,
		      const char *name, int *given, char *e, size_t n)
{
	char opt[32];
	json_t *bucket;

	snprintf(opt, sizeof(opt), "%s%s", prefix, name);
	const char *val = arg_opt(a, opt);
	if (!val)
		return 0;
	*given = 1;
	int err = bucket_json(a, opt, val, &bucket, e, n);
	if (!err)
		json_object_set_new(limiter, member, bucket);
	return err;
}

int vmmctl_rate_limiter_set(json_t *body, const char *key, const struct args *a, const char *prefix,
			    char *e, size_t n)
{
	int given = 0;
	json_t *limiter = json_object();

	if (!limiter)
		return cmd_fail(e, n, "%s: out of memory", a->cmd);
	int err = add_bucket(limiter, "bandwidth", a, prefix, "bw", &given, e, n);
	if (!err)
		err = add_bucket(limiter, "ops", a, prefix, "ops", &given, e, n);
	if (!err && given && json_object_set(body, key, limiter))
		err = cmd_fail(e, n, "%s: out of memory", a->cmd);
	json_decref(limiter);
	return err;
}
