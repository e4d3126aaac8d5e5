/* Rate limiter bodies of the API (see api_rate_limit.h). */
#include "vmm/descriptors/api_rate_limit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "vmm/descriptors/api_json.h"

/* A TokenBucket body `v` into *b; `label` names it in messages. Firecracker's rule: a bucket
 * whose size or refill_time is 0 is no limit (its other values are then ignored). */
static int bucket_value_parse(const json_t *v, const char *label, struct rl_bucket_cfg *b,
			      char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"size", API_JSON_UINT, true},
						  {"one_time_burst", API_JSON_UINT, false},
						  {"refill_time", API_JSON_UINT, true},
						  {NULL, 0, false}};
	char why[160];

	*b = (struct rl_bucket_cfg){0};
	if (api_json_check(v, f, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", label, why);
		return -EINVAL;
	}
	b->size = api_json_uint(v, "size", 0);
	b->one_time_burst = api_json_uint(v, "one_time_burst", 0);
	b->refill_ms = api_json_uint(v, "refill_time", 0);
	if (!b->size || !b->refill_ms)
		*b = (struct rl_bucket_cfg){0};
	return 0;
}

/* Bucket `name` of `obj` into *b, *named telling whether the body has it. */
static int bucket_parse(const json_t *obj, const char *what, const char *name,
			struct rl_bucket_cfg *b, bool *named, char *err, size_t errlen)
{
	char label[96];
	const json_t *v = json_object_get(obj, name);

	*b = (struct rl_bucket_cfg){0};
	*named = v != NULL;
	if (!v)
		return 0;
	snprintf(label, sizeof(label), "%s.%s", what, name);
	return bucket_value_parse(v, label, b, err, errlen);
}

int api_rate_limiter_parse_patch(const json_t *obj, const char *what, struct rate_limiter_patch *p,
				 char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"bandwidth", API_JSON_OBJECT, false},
						  {"ops", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	char why[160];
	int r;

	*p = (struct rate_limiter_patch){0};
	if (!obj || json_is_null(obj))
		return 0;
	if (api_json_check(obj, f, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -EINVAL;
	}
	r = bucket_parse(obj, what, "bandwidth", &p->cfg.bw, &p->has_bw, err, errlen);
	if (!r)
		r = bucket_parse(obj, what, "ops", &p->cfg.ops, &p->has_ops, err, errlen);
	if (!r && rate_limiter_patch_check(p, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", what, why);
		r = -EINVAL;
	}
	if (r)
		*p = (struct rate_limiter_patch){0};
	return r;
}

int api_rate_limiter_parse(const json_t *obj, const char *what, struct rate_limiter_cfg *cfg,
			   char *err, size_t errlen)
{
	struct rate_limiter_patch p;
	int r = api_rate_limiter_parse_patch(obj, what, &p, err, errlen);

	*cfg = (struct rate_limiter_cfg){0};
	rate_limiter_cfg_patch(cfg, &p); /* a bucket not named: no limit */
	return r;
}

int api_token_bucket_parse(const json_t *obj, const char *what, struct rl_bucket_cfg *b, char *err,
			   size_t errlen)
{
	struct rate_limiter_patch p = {.has_bw = true};
	char why[160];

	*b = (struct rl_bucket_cfg){0};
	if (!obj || json_is_null(obj))
		return 0;
	int r = bucket_value_parse(obj, what, &p.cfg.bw, err, errlen);
	if (!r && rate_limiter_patch_check(&p, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", what, why);
		r = -EINVAL;
	}
	if (!r)
		*b = p.cfg.bw;
	return r;
}

static json_t *bucket_json(const struct rl_bucket_cfg *b)
{
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)b->size, "one_time_burst",
			 (json_int_t)b->one_time_burst, "refill_time", (json_int_t)b->refill_ms);
}

json_t *api_token_bucket_json(const struct rl_bucket_cfg *b)
{
	return b->size ? bucket_json(b) : NULL;
}

json_t *api_rate_limiter_json(const struct rate_limiter_cfg *cfg)
{
	json_t *j;

	if (!rate_limiter_cfg_active(cfg))
		return NULL;
	j = json_object();
	if (j && cfg->bw.size)
		json_object_set_new(j, "bandwidth", bucket_json(&cfg->bw));
	if (j && cfg->ops.size)
		json_object_set_new(j, "ops", bucket_json(&cfg->ops));
	return j;
}

static int append_bucket(char *buf, size_t len, const char *prefix, const char *key,
			 const struct rl_bucket_cfg *b)
{
	size_t used = strlen(buf);

	if (!b->size)
		return 0;
	int n = snprintf(buf + used, len - used, ",%s%s=%llu:%llu:%llu", prefix, key,
			 (unsigned long long)b->size, (unsigned long long)b->refill_ms,
			 (unsigned long long)b->one_time_burst);
	return n < 0 || (size_t)n >= len - used ? -ENAMETOOLONG : 0;
}

int api_rate_limiter_items(struct opt_items *out, const char *prefix,
			   const struct rate_limiter_cfg *cfg)
{
	char bw[32], ops[32];
	snprintf(bw, sizeof(bw), "%sbw", prefix);
	snprintf(ops, sizeof(ops), "%sops", prefix);
	int r = rl_bucket_to_item(&cfg->bw, bw, out);
	return r ? r : rl_bucket_to_item(&cfg->ops, ops, out);
}

int api_rate_limiter_spec(char *buf, size_t len, const char *prefix,
			  const struct rate_limiter_cfg *cfg)
{
	int r = append_bucket(buf, len, prefix, "bw", &cfg->bw);

	return r ? r : append_bucket(buf, len, prefix, "ops", &cfg->ops);
}

void api_rate_limiter_json_set(json_t *doc, const char *name, const struct rate_limiter_cfg *cfg)
{
	json_t *v = api_rate_limiter_json(cfg);
	json_object_del(doc, name);
	if (v)
		json_object_set_new(doc, name, v);
}
