/* --rng: a virtio-rng fed from getrandom() (virtio/rng/rng.h), also Firecracker's entropy device
 * (PUT /entropy, the config file's "entropy"). The model for a new device: its configuration
 * lives in its own block (device_cfg()), not in struct vm_config. */
#include "vmm/descriptors/dev_rng.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "base/parse.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

static int add_rng(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	if (device_cfg_find(cfg, &device_rng)) {
		snprintf(err, errlen, "only one rng device");
		return -EINVAL;
	}
	struct opt_items rest;
	struct dev_rng_cfg c = {.transport = cfg->transport};
	int r = opt_items_copy(&rest, items);
	if (!r)
		r = dev_hotplug_slot_take(&rest, cfg->transport, true, &c.hotplug_slot, err,
					  errlen);
	if (!r)
		r = virtio_rng_opts_from_items(&rest, &c.opts, err, errlen);
	opt_items_free(&rest);
	struct dev_rng_cfg *block = r ? NULL : device_cfg(cfg, &device_rng);
	if (!r && !block)
		r = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (!r)
		*block = c;
	return r;
}

static int parse_rng(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_rng, cfg, arg, err, errlen);
}

static int rng_count(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_rng) ? 1 : 0;
}

static int rng_items(const struct vm_config *cfg, int i, struct opt_items *out,
		     enum virtio_transport *t)
{
	const struct dev_rng_cfg *c = device_cfg_find(cfg, &device_rng);
	(void)i;
	*t = c->transport;
	int r = virtio_rng_opts_to_items(&c->opts, out);
	return r ? r : dev_hotplug_slot_put(out, c->hotplug_slot);
}

static int create_rng(struct vm *vm)
{
	const struct dev_rng_cfg *c = device_cfg_find(vm->cfg, &device_rng);
	if (!c)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_rng_create(&dev, &c->opts);
	return err ? err
		   : vm_virtio_place_kept(vm, dev, c->transport, dev_rng_hotplug.kind,
					  c->hotplug_slot);
}

/* ---- PUT /entropy and the config file's "entropy": Firecracker's {"rate_limiter"?} ---- */

/* Firecracker's rate_limiter as this device's buckets, as it applies them: bytes (bandwidth)
 * and requests (ops, a chain each), each with its one_time_burst (--rng bw=,ops=). */
static int entropy_opts(const json_t *body, struct virtio_rng_opts *o, char *err, size_t errlen)
{
	*o = (struct virtio_rng_opts){0};
	return api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter", &o->rl,
				      err, errlen);
}

/* The document of a limit: {"rate_limiter": {"bandwidth": ...}}, or {} without one. */
static json_t *entropy_doc(const struct virtio_rng_opts *o)
{
	json_t *doc = json_object();
	if (doc && rate_limiter_cfg_active(&o->rl) &&
	    json_object_set_new(doc, "rate_limiter", api_rate_limiter_json(&o->rl))) {
		json_decref(doc);
		return NULL;
	}
	if (!doc || !o->rate) /* --rng rate=,burst=: shown as the bandwidth bucket it is */
		return doc;
	uint64_t size = o->burst ? o->burst : o->rate; /* the device's default burst */
	uint64_t refill = size * 1000 / o->rate;
	struct rate_limiter_cfg rl = {.bw = {.size = size, .refill_ms = refill ? refill : 1}};
	if (json_object_set_new(doc, "rate_limiter", api_rate_limiter_json(&rl))) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int api_check_entropy(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			     json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	struct virtio_rng_opts o;
	(void)id, (void)ctx;
	int r = api_json_check(body, f, err, errlen);
	if (!r)
		r = entropy_opts(body, &o, err, errlen);
	if (r)
		return r;
	*doc = entropy_doc(&o);
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int api_entropy_items(const json_t *doc, struct opt_items *out,
			     const struct device_desc **owner)
{
	struct virtio_rng_opts o;
	char why[200];
	(void)owner;
	if (entropy_opts(doc, &o, why, sizeof(why))) /* a document api_check_entropy() made */
		return -EINVAL;
	return virtio_rng_opts_to_items(&o, out);
}

/* The command line's --rng as Firecracker's entropy device. */
static json_t *describe_rng(const struct vm_config *cfg)
{
	const struct dev_rng_cfg *c = device_cfg_find(cfg, &device_rng);
	return c ? entropy_doc(&c->opts) : NULL;
}

static const struct device_api rng_api = {.section = "entropy",
					  .route = "/entropy",
					  .check = api_check_entropy,
					  .to_items = api_entropy_items,
					  .describe = describe_rng};

static const struct device_option rng_options[] = {
    {"rng", optional_argument,
     "      --rng[=rate=BYTES_PER_SEC[,burst=BYTES]]\n"
     "      --rng=bw=SIZE:REFILL_MS[:BURST][,ops=SIZE:REFILL_MS[:BURST]]\n"
     "                        a virtio-rng fed from getrandom(), optionally rate limited:\n"
     "                        bytes a second, or Firecracker's buckets of bytes and of\n"
     "                        requests (as --disk's bw=, ops=); hotplug-slot=N (PCI) keeps it\n"
     "                        at device number N (how a removal of an earlier boot device\n"
     "                        records it: docs/hotplug.md)\n",
     parse_rng},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_rng = {.name = "rng",
				       .options = rng_options,
				       .create = create_rng,
				       .cfg_size = sizeof(struct dev_rng_cfg),
				       .api = &rng_api,
				       .built_beside_source = true,
				       .record_count = rng_count,
				       .record_items = rng_items,
				       .hotplug = &dev_rng_hotplug,
				       .record_add = add_rng};
