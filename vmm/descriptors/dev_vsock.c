/* --vsock cid=N,uds=PATH: a virtio-vsock with Firecracker's Unix-socket host side
 * (virtio/vsock/vsock.h). */
#include "vmm/descriptors/dev_vsock.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/parse.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* The vsock's block; a cid of 0 is none (a refused option, a forgotten vsock). A refused option
 * leaves it as it was. */
static int add_vsock(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	const struct dev_vsock_cfg *was = device_cfg_find(cfg, &device_vsock);
	if (was && was->opts.cid) {
		snprintf(err, errlen, "only one vsock device");
		return -EINVAL;
	}
	struct dev_vsock_cfg c = {.transport = cfg->transport};
	struct opt_items rest;
	int ret = opt_items_copy(&rest, items);
	if (!ret)
		ret = dev_hotplug_slot_take(&rest, cfg->transport, false, &c.hotplug_slot, err,
					    errlen);
	if (!ret)
		ret = virtio_vsock_opts_from_items(&rest, &c.opts, err, errlen);
	opt_items_free(&rest);
	if (!ret && c.hotplug_slot && !c.opts.id[0])
		ret = fail_rc(-EINVAL, err, errlen, "hotplug-slot: a hot-added vsock has an id=");
	struct dev_vsock_cfg *block = ret ? NULL : device_cfg(cfg, &device_vsock);
	if (!ret && !block)
		ret = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (!ret)
		*block = c;
	return ret;
}

static int parse_vsock(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_vsock, cfg, arg, err, errlen);
}

static int vsock_count(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	return c && c->opts.cid ? 1 : 0;
}

static int vsock_items(const struct vm_config *cfg, int i, struct opt_items *out,
		       enum virtio_transport *t)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	(void)i;
	*t = c->transport;
	int ret = virtio_vsock_opts_to_items(&c->opts, out);
	return ret ? ret : dev_hotplug_slot_put(out, c->hotplug_slot);
}

const char *dev_vsock_id(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	if (!c || !c->opts.cid)
		return NULL;
	return c->opts.id[0] ? c->opts.id : "vsock0";
}

bool dev_vsock_hot_added(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	return c && c->opts.cid && c->hotplug_slot;
}

void dev_vsock_forget(struct vm_config *cfg)
{
	struct dev_vsock_cfg *c =
	    device_cfg_find(cfg, &device_vsock) ? device_cfg(cfg, &device_vsock) : NULL;
	if (c)
		*c = (struct dev_vsock_cfg){0};
}

int dev_vsock_pin(struct vm_config *cfg, int slot)
{
	struct dev_vsock_cfg *c =
	    device_cfg_find(cfg, &device_vsock) ? device_cfg(cfg, &device_vsock) : NULL;
	if (!c || !c->opts.cid || slot < 1 || slot > 31)
		return -EINVAL;
	if (!c->opts.id[0])
		snprintf(c->opts.id, sizeof(c->opts.id), "%s", "vsock0");
	c->hotplug_slot = slot;
	return 0;
}

static int create_vsock(struct vm *vm)
{
	const struct dev_vsock_cfg *c = device_cfg_find(vm->cfg, &device_vsock);
	if (!c || !c->opts.cid)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_vsock_create(&dev, &c->opts);
	if (!err && !c->hotplug_slot) {
		err = vm_virtio_init_and_place(vm, dev, c->transport); /* frees it on failure */
		if (!err && c->transport == TRANSPORT_PCI)	       /* docs/hotplug.md */
			vm_hotplug_boot_removable(vm, dev_vsock_id(vm->cfg), dev_vsock_hotplug.kind,
						  dev);
		return err;
	}
	if (err)
		return err;
	/* hot-added before a snapshot or a migration: back into its slot (vm_hotplug_setup()) */
	err = virtio_dev_init(dev, &vm->mem);
	if (err) {
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	return vm_hotplug_boot_device(vm, c->opts.id, dev_vsock_hotplug.kind, dev, c->hotplug_slot);
}

/* Before KVM is opened: the socket's directory, so a bad path has its own message. */
static int check_vsock(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	char err[VIRTIO_VSOCK_UDS_MAX + 128];
	if (!c || !c->opts.cid)
		return 0;
	int r = virtio_vsock_check_opts(&c->opts, err, sizeof(err));
	if (r)
		log_error("%s", err);
	return r;
}

bool dev_vsock_configured(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	return c && c->opts.cid;
}

/* ---- PUT /vsock and the config file's "vsock": Firecracker's {"guest_cid", "uds_path",
 * "vsock_id"?} ---- */

/* The values: a CID the guest may have (virtio 1.2 5.10.4: 0-2 are reserved), a path the
 * device can bind (its "_PORT" suffix included). */
static int check_vsock_values(const json_t *body, char *err, size_t errlen)
{
	uint64_t cid = api_json_uint(body, "guest_cid", 0);
	const char *uds = api_json_str(body, "uds_path", "");
	const char *id = api_json_str(body, "vsock_id", NULL);

	if (cid < 3 || cid > 0xfffffffeull) {
		snprintf(err, errlen, "guest_cid must be between 3 and 4294967294");
		return -EINVAL;
	}
	if (!uds[0] || strlen(uds) > VIRTIO_VSOCK_UDS_MAX) {
		snprintf(err, errlen, "uds_path must have 1 to %u bytes", VIRTIO_VSOCK_UDS_MAX);
		return -EINVAL;
	}
	return id ? api_json_check_id(id, err, errlen) : 0;
}

static int api_check_vsock(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			   json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"guest_cid", API_JSON_UINT, true},
						  {"uds_path", API_JSON_STRING, true},
						  {"vsock_id", API_JSON_STRING, false},
						  {NULL, 0, false}};
	(void)id, (void)ctx;
	int r = api_json_check(body, f, err, errlen);
	if (!r)
		r = check_vsock_values(body, err, errlen);
	if (r)
		return r;
	*doc = json_pack("{s:I, s:s}", "guest_cid", (json_int_t)api_json_uint(body, "guest_cid", 0),
			 "uds_path", api_json_str(body, "uds_path", ""));
	const char *vid = api_json_str(body, "vsock_id", NULL);
	if (*doc && vid && json_object_set_new(*doc, "vsock_id", json_string(vid))) {
		json_decref(*doc);
		*doc = NULL;
	}
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int api_vsock_items(const json_t *doc, struct opt_items *out,
			   const struct device_desc **owner)
{
	const char *id = api_json_str(doc, "vsock_id", "");
	(void)owner;
	int r = opt_items_addf(out, "cid", "%llu",
			       (unsigned long long)api_json_uint(doc, "guest_cid", 0));
	if (!r)
		r = opt_items_add(out, "uds", api_json_str(doc, "uds_path", ""));
	return r || !id[0] ? r : opt_items_add(out, "id", id);
}

/* The command line's --vsock, named by its id= ("vsock0" without one). */
static json_t *describe_vsock(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	if (!c || !c->opts.cid)
		return NULL;
	return json_pack("{s:I, s:s, s:s}", "guest_cid", (json_int_t)c->opts.cid, "uds_path",
			 c->opts.uds, "vsock_id", c->opts.id[0] ? c->opts.id : "vsock0");
}

static const struct device_api vsock_api = {.section = "vsock",
					    .route = "/vsock",
					    .check = api_check_vsock,
					    .to_items = api_vsock_items,
					    .describe = describe_vsock,
					    .ext = &dev_vsock_api_ext};

static const struct device_option vsock_options[] = {
    {"vsock", required_argument,
     "      --vsock cid=N,uds=PATH[,id=NAME]\n"
     "                        a virtio-vsock with guest CID N (>= 3); the guest's connections\n"
     "                        to host port P go to the Unix socket PATH_P, and host programs\n"
     "                        connect to PATH and write \"CONNECT <port>\\n\" to reach the guest;\n"
     "                        id=NAME is its name in the API (vsock_id); hotplug-slot=N (with\n"
     "                        id=) puts it in PCI hotplug slot N, removable (how a hot-added\n"
     "                        vsock is recorded: docs/hotplug.md)\n",
     parse_vsock},
    {NULL, 0, NULL, NULL},
};

/* The host-side socket it listens on (a restore checks it). */
static int claims_vsock(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	if (!c || !c->opts.uds[0])
		return 0;
	struct device_claim uds = {.kind = DEVICE_CLAIM_PATH,
				   .option = "vsock",
				   .value = c->opts.uds,
				   .what = "vsock socket",
				   .id = c->opts.id,
				   .access = DEVICE_PATH_WRITE | DEVICE_PATH_CREATE,
				   .hint = "API: vsock_override"};
	return fn(&uds, opaque);
}

/* The host-side socket it listens on. */
static const struct device_path_field vsock_path_fields[] = {
    {"uds", DEVICE_PATH_KIND_LISTEN, "vsock socket", NULL, NULL, 0, "API: vsock_override"},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths vsock_paths = {"id", NULL, vsock_path_fields};

const struct device_desc device_vsock = {.name = "vsock",
					 .options = vsock_options,
					 .check = check_vsock,
					 .create = create_vsock,
					 .cfg_size = sizeof(struct dev_vsock_cfg),
					 .claims = claims_vsock,
					 .api = &vsock_api,
					 .record_count = vsock_count,
					 .record_items = vsock_items,
					 .hotplug = &dev_vsock_hotplug,
					 .record_add = add_vsock,
					 .paths = &vsock_paths,
					 .save = &dev_vsock_save};
