/* --rng's option string and the rule every way of configuring the limit shares
 * (virtio/rng/rng.h). */
#include "virtio/rng/rng.h"

#include <errno.h>

#include "base/options.h"
#include "base/parse.h"

#define OPTS_USAGE                                                                                 \
	"expected rate=BYTES_PER_SEC[,burst=BYTES] or "                                            \
	"bw=SIZE:REFILL_MS[:BURST][,ops=SIZE:REFILL_MS[:BURST]]"

int virtio_rng_opts_check(const struct virtio_rng_opts *o, char *err, size_t errlen)
{
	if (o->burst && !o->rate)
		return parse_fail(err, errlen, "burst needs a rate (%s)", OPTS_USAGE);
	if (o->rate > VIRTIO_RNG_MAX_RATE || o->burst > VIRTIO_RNG_MAX_RATE)
		return parse_fail(err, errlen, "rate and burst are at most 1G");
	if (o->rate && rate_limiter_cfg_active(&o->rl))
		return parse_fail(err, errlen, "rate= and burst= do not mix with bw= and ops=");
	struct rate_limiter rl; /* the limiter's own check of the buckets */
	if (rate_limiter_init(&rl, &o->rl, NULL, NULL))
		return parse_fail(err, errlen, "a bucket needs a size and a refill time");
	rate_limiter_destroy(&rl);
	return 0;
}

/* rate= and burst=: a byte count from 1 to 1G (K, M, G suffixes). */
static int set_bytes(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_rng_opts *o = dst;
	uint64_t *out = key[0] == 'r' ? &o->rate : &o->burst;
	int r = parse_size(val, 1, out);

	if (!r && *out == 0)
		r = -EINVAL;
	if (!r && *out > VIRTIO_RNG_MAX_RATE)
		r = -ERANGE;
	if (r)
		parse_fail(err, errlen, "bad %s '%s': a byte count from 1 to 1G is expected", key,
			   val);
	return r;
}

/* bw=, ops=: a bucket of the limiter, as --disk's */
static int set_bucket(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_rng_opts *o = dst;
	return rl_bucket_parse(val, key[0] == 'b' ? &o->rl.bw : &o->rl.ops, err, errlen) ? -EINVAL
											 : 0;
}

static const struct opt_key keys[] = {
    {"rate", 0, set_bytes}, {"burst", 0, set_bytes}, {"bw", 0, set_bucket},
    {"ops", 0, set_bucket}, {NULL, 0, NULL},
};

int virtio_rng_opts_parse(const char *arg, struct virtio_rng_opts *opts, char *err, size_t errlen)
{
	struct opt_items items;
	int r = opts_split(arg, NULL, &items, err, errlen);
	*opts = (struct virtio_rng_opts){0};
	if (!r)
		r = virtio_rng_opts_from_items(&items, opts, err, errlen);
	opt_items_free(&items);
	return r;
}

int virtio_rng_opts_to_items(const struct virtio_rng_opts *o, struct opt_items *out)
{
	int r = 0;
	if (o->rate)
		r = opt_items_addf(out, "rate", "%llu", (unsigned long long)o->rate);
	if (!r && o->burst)
		r = opt_items_addf(out, "burst", "%llu", (unsigned long long)o->burst);
	if (!r)
		r = rl_bucket_to_item(&o->rl.bw, "bw", out);
	return r ? r : rl_bucket_to_item(&o->rl.ops, "ops", out);
}

int virtio_rng_opts_from_items(const struct opt_items *items, struct virtio_rng_opts *opts,
			       char *err, size_t errlen)
{
	struct virtio_rng_opts o = {0};
	int r = opts_parse_items(items, keys, &o, OPTS_USAGE, err, errlen);

	if (!r)
		r = virtio_rng_opts_check(&o, err, errlen);
	if (!r && o.rate && !o.burst)
		o.burst = o.rate; /* one second's worth */
	*opts = r ? (struct virtio_rng_opts){0} : o;
	return r;
}
