/* Firecracker's rate_limiter bodies (drives' `rate_limiter`, network interfaces'
 * `rx_rate_limiter` / `tx_rate_limiter`):
 *   {"bandwidth"?: {"size", "one_time_burst"?, "refill_time"}, "ops"?: {...}}
 * size in bytes or operations, refill_time in ms; a bucket with size 0 or refill_time 0 is no
 * limit (virtio/core/rate_limiter.h has the semantics). The serial console's rate_limiter is
 * one such bucket alone (api_token_bucket_parse()). In a PUT a missing bucket is no limit;
 * in a PATCH it is left as it is. Pure code, for the API's model and router, the configuration
 * built from the model, and the device descriptors' body checks (PUT /entropy). */
#ifndef VMM_MACHINE_API_RATE_LIMIT_H
#define VMM_MACHINE_API_RATE_LIMIT_H

#include <jansson.h>
#include <stddef.h>

#include "virtio/core/rate_limiter.h"

/* Parses `obj` (the rate_limiter member of a PUT; NULL or JSON null: no limit) into *cfg.
 * `what` names the member in messages. Returns 0 or -EINVAL with the reason in err. */
int api_rate_limiter_parse(const json_t *obj, const char *what, struct rate_limiter_cfg *cfg,
			   char *err, size_t errlen);

/* The same for a PATCH: *p names the buckets `obj` has (NULL, JSON null or {}: none, so
 * nothing changes). Returns 0 or -EINVAL with the reason in err (then *p names nothing). */
int api_rate_limiter_parse_patch(const json_t *obj, const char *what, struct rate_limiter_patch *p,
				 char *err, size_t errlen);

/* One TokenBucket body {"size", "one_time_burst"?, "refill_time"} alone (Firecracker's serial
 * rate_limiter; NULL or JSON null: no limit) into *b, checked as a bandwidth bucket. Returns 0
 * or -EINVAL with the reason in err (then *b is no limit). */
int api_token_bucket_parse(const json_t *obj, const char *what, struct rl_bucket_cfg *b, char *err,
			   size_t errlen);

/* The TokenBucket body of `b` (new reference), or NULL when it limits nothing. */
json_t *api_token_bucket_json(const struct rl_bucket_cfg *b);

/* The body describing `cfg` (new reference), or NULL when it limits nothing. */
json_t *api_rate_limiter_json(const struct rate_limiter_cfg *cfg);

/* Sets (or, `cfg` limiting nothing, removes) the member `name` of `doc` to cfg's body, at its
 * end (a PATCH written into the model's document). */
void api_rate_limiter_json_set(json_t *doc, const char *name, const struct rate_limiter_cfg *cfg);

/* Adds `cfg`'s buckets to `out` as the option's items (<p>bw=S:R:B, <p>ops=S:R:B when set, p the
 * key prefix: "" for --disk, "rx-" / "tx-" for --net). Returns 0 or -ENOMEM. */
int api_rate_limiter_items(struct opt_items *out, const char *prefix,
			   const struct rate_limiter_cfg *cfg);

/* Appends the command-line form of `cfg` to buf ("" or ",<p>bw=S:R:B,<p>ops=S:R:B" with p the
 * key prefix, "" for --disk and "rx-" / "tx-" for --net). Returns 0 or -ENAMETOOLONG. */
int api_rate_limiter_spec(char *buf, size_t len, const char *prefix,
			  const struct rate_limiter_cfg *cfg);

#endif
