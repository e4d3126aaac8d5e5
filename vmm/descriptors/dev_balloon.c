/* --balloon: a virtio-balloon (virtio/balloon/balloon.h) whose target the API can change. */
#include "vmm/descriptors/dev_balloon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* Given again (a second --balloon, or PUT /balloon over the command line's), the last one wins;
 * a refused one leaves the block as it was. */
static int add_balloon(struct vm_config *cfg, const struct opt_items *items, char *err,
		       size_t errlen)
{
	struct dev_balloon_cfg c = {.transport = cfg->transport};
	struct opt_items rest;
	int rc = opt_items_copy(&rest, items);

	if (!rc)
		rc = dev_hotplug_slot_take(&rest, cfg->transport, true, &c.hotplug_slot, err,
					   errlen);
	if (!rc)
		rc = virtio_balloon_opts_from_items(&rest, &c.opts, err, errlen);
	opt_items_free(&rest);
	struct dev_balloon_cfg *block = rc ? NULL : device_cfg(cfg, &device_balloon);
	if (!rc && !block)
		rc = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (!rc)
		*block = c;
	return rc;
}

static int parse_balloon(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_balloon, cfg, arg, err, errlen);
}

static int balloon_count(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_balloon) ? 1 : 0;
}

static int balloon_items(const struct vm_config *cfg, int i, struct opt_items *out,
			 enum virtio_transport *t)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);
	(void)i;
	*t = c->transport;
	int rc = virtio_balloon_opts_to_items(&c->opts, out);
	return rc ? rc : dev_hotplug_slot_put(out, c->hotplug_slot);
}

static int create_balloon(struct vm *vm)
{
	const struct dev_balloon_cfg *c = device_cfg_find(vm->cfg, &device_balloon);
	struct virtio_dev *dev = NULL;
	int err;

	if (!c)
		return 0;
	err = virtio_balloon_create(&dev, &c->opts, vm->cfg->mem_size);
	return err ? err
		   : vm_virtio_place_kept(vm, dev, c->transport, dev_balloon_hotplug.kind,
					  c->hotplug_slot);
}

static int pick_balloon(struct virtio_dev *dev, void *opaque)
{
	if (!virtio_balloon_is(dev))
		return 0;
	*(struct virtio_dev **)opaque = dev;
	return 1;
}

struct virtio_dev *dev_balloon_find(struct vm *vm)
{
	struct virtio_dev *found = NULL;

	vm_for_each_virtio_dev(vm, pick_balloon, &found);
	return found;
}

/* ---- PUT /balloon and the config file's "balloon": Firecracker's {"amount_mib",
 * "deflate_on_oom", "stats_polling_interval_s"?, "free_page_reporting"?} ---- */

/* The document GET /balloon (before start) and GET /vm/config show. */
static json_t *balloon_doc(uint64_t mib, bool oom, uint64_t stats_s, bool fpr)
{
	return json_pack("{s:I, s:b, s:I, s:b}", "amount_mib", (json_int_t)mib, "deflate_on_oom",
			 oom, "stats_polling_interval_s", (json_int_t)stats_s,
			 "free_page_reporting", fpr);
}

static int balloon_values(const json_t *body, unsigned mem_mib, char *err, size_t errlen)
{
	uint64_t mib = api_json_uint(body, "amount_mib", 0);
	uint64_t s = api_json_uint(body, "stats_polling_interval_s", 0);
	if (mib > mem_mib) {
		snprintf(err, errlen, "amount_mib %llu is more than the guest's %u MiB",
			 (unsigned long long)mib, mem_mib);
		return -EINVAL;
	}
	if (s > VIRTIO_BALLOON_MAX_STATS_S) {
		snprintf(err, errlen, "stats_polling_interval_s must be 0 to %u",
			 VIRTIO_BALLOON_MAX_STATS_S);
		return -EINVAL;
	}
	if (api_json_bool(body, "free_page_hinting", false)) {
		snprintf(
		    err, errlen,
		    "free_page_hinting is not supported (the balloon has free_page_reporting)");
		return -EINVAL;
	}
	return 0;
}

static int api_check_balloon(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			     json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"amount_mib", API_JSON_UINT, true},
	    {"deflate_on_oom", API_JSON_BOOL, true},
	    {"stats_polling_interval_s", API_JSON_UINT, false},
	    {"free_page_reporting", API_JSON_BOOL, false},
	    {"free_page_hinting", API_JSON_BOOL, false},
	    {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, err, errlen) || balloon_values(body, ctx->mem_mib, err, errlen))
		return -EINVAL;
	*doc = balloon_doc(api_json_uint(body, "amount_mib", 0),
			   api_json_bool(body, "deflate_on_oom", false),
			   api_json_uint(body, "stats_polling_interval_s", 0),
			   api_json_bool(body, "free_page_reporting", false));
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int dev_balloon_option(const struct virtio_balloon_opts *o, char *arg, size_t len)
{
	int n = snprintf(arg, len, "size=%llu,stats=%us,deflate-on-oom=%s,free-page-reporting=%s",
			 (unsigned long long)o->target_mib, o->stats_interval_s,
			 o->deflate_on_oom ? "on" : "off", o->free_page_reporting ? "on" : "off");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int api_balloon_items(const json_t *doc, struct opt_items *out,
			     const struct device_desc **owner)
{
	const struct virtio_balloon_opts o = {
	    .target_mib = api_json_uint(doc, "amount_mib", 0),
	    .deflate_on_oom = api_json_bool(doc, "deflate_on_oom", false),
	    .free_page_reporting = api_json_bool(doc, "free_page_reporting", false),
	    .stats_interval_s = (uint32_t)api_json_uint(doc, "stats_polling_interval_s", 0)};
	(void)owner;
	return virtio_balloon_opts_to_items(&o, out);
}

static json_t *describe_balloon(const struct vm_config *cfg)
{
	const struct dev_balloon_cfg *c = device_cfg_find(cfg, &device_balloon);
	return c ? balloon_doc(c->opts.target_mib, c->opts.deflate_on_oom, c->opts.stats_interval_s,
			       c->opts.free_page_reporting)
		 : NULL;
}

static const struct device_api balloon_api = {.section = "balloon",
					      .route = "/balloon",
					      .check = api_check_balloon,
					      .to_items = api_balloon_items,
					      .describe = describe_balloon,
					      .live = &dev_balloon_live};

static const struct device_option balloon_options[] = {
    {"balloon", required_argument,
     "      --balloon size=MIB[,stats=Ns][,deflate-on-oom=on|off][,free-page-reporting=on|off]\n"
     "                        a virtio-balloon asking the guest for MIB of its RAM (default 0;\n"
     "                        PATCH /balloon changes it), guest statistics every N seconds;\n"
     "                        hotplug-slot=N (PCI) keeps it at device number N (how a removal\n"
     "                        of an earlier boot device records it: docs/hotplug.md)\n",
     parse_balloon},
    {NULL, 0, NULL, NULL},
};

/* The pages the guest gives back (a passed-through device's pinned DMA maps would keep them). */
static int claims_balloon(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	struct device_claim c = {.kind = DEVICE_CLAIM_RAM_RETURNED, .option = "--balloon"};
	return device_cfg_find(cfg, &device_balloon) ? fn(&c, opaque) : 0;
}

const struct device_desc device_balloon = {.name = "balloon",
					   .options = balloon_options,
					   .create = create_balloon,
					   .cfg_size = sizeof(struct dev_balloon_cfg),
					   .api = &balloon_api,
					   .claims = claims_balloon,
					   .built_beside_source = true,
					   .record_count = balloon_count,
					   .record_items = balloon_items,
					   .hotplug = &dev_balloon_hotplug,
					   .record_add = add_balloon};
