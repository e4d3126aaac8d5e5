/* --fs tag=NAME,socket=PATH[,num-queues=N,queue-size=N]: virtio-fs over vhost-user
 * (virtio/fs/fs.h). Guest RAM becomes a shared memfd when one is configured (its claims). */
#include "vmm/descriptors/dev_fs.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "virtio/vhost_user/vu_frontend.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* Takes the id=NAME items out of `l` into id[DEV_FS_ID_MAX] (the device's parser does not know
 * it). 0, or -EINVAL with the reason in err (an empty or long NAME, two of them). */
static int take_id(struct opt_items *l, char *id, char *err, size_t errlen)
{
	char *v = NULL;
	id[0] = '\0';
	while (opt_items_take(l, "id", &v)) {
		size_t n = v ? strlen(v) : 0;
		bool twice = id[0];
		if (n && n < DEV_FS_ID_MAX && !twice)
			memcpy(id, v, n + 1);
		free(v);
		if (!n || n >= DEV_FS_ID_MAX || twice) {
			snprintf(err, errlen, "id: %s",
				 twice ? "given twice" : "1 to 63 bytes are expected");
			return -EINVAL;
		}
	}
	return 0;
}

/* The share `items` describe, with its id and hotplug slot, checked against the shares `cfg`
 * has. 0, or -errno with the reason in err. */
static int fs_from_items(const struct vm_config *cfg, const struct opt_items *items,
			 struct virtio_fs_opts *o, char *id, int *slot, char *err, size_t errlen)
{
	struct opt_items rest;
	int rc = opt_items_copy(&rest, items);
	if (rc)
		return fail_rc(rc, err, errlen, "out of memory");
	rc = dev_hotplug_slot_take(&rest, cfg->transport, false, slot, err, errlen);
	if (!rc)
		rc = take_id(&rest, id, err, errlen);
	if (!rc)
		rc = virtio_fs_opts_from_items(&rest, o, err, errlen);
	opt_items_free(&rest);
	if (rc)
		return rc;
	if (*slot && !id[0])
		return fail_rc(-EINVAL, err, errlen,
			       "hotplug-slot: a hot-added shared folder has an id=");
	if (id[0] && dev_fs_find(cfg, id) >= 0)
		return fail_rc(-EINVAL, err, errlen, "id %s is given twice", id);
	if (dev_fs_find_tag(cfg, o->tag) >= 0)
		return fail_rc(-EINVAL, err, errlen, "tag %s is given twice", o->tag);
	return 0;
}

/* device_desc.record_add: one more share, on cfg->transport. */
static int add_fs(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	struct virtio_fs_opts o;
	char id[DEV_FS_ID_MAX];
	int slot;
	if (dev_fs_count(cfg) == DEV_FS_MAX)
		return fail_rc(-EINVAL, err, errlen, "at most %d shared folders", DEV_FS_MAX);
	int rc = fs_from_items(cfg, items, &o, id, &slot, err, errlen);
	struct dev_fs_cfg *c = rc ? NULL : device_cfg(cfg, &device_fs);
	if (!rc && !c)
		rc = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (rc)
		return rc;
	c->fs[c->n].opts = o;
	c->fs[c->n].transport = cfg->transport;
	snprintf(c->fs[c->n].id, sizeof(c->fs[c->n].id), "%s", id);
	c->fs[c->n].hotplug_slot = slot;
	c->n++;
	return 0;
}

static int parse_fs(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_fs, cfg, arg, err, errlen);
}

/* device_desc.record_items: share `i`'s options, its id= and its hotplug slot. */
static int fs_items(const struct vm_config *cfg, int i, struct opt_items *out,
		    enum virtio_transport *t)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	*t = c->fs[i].transport;
	int r = virtio_fs_opts_to_items(&c->fs[i].opts, out);
	if (!r && c->fs[i].id[0])
		r = opt_items_add(out, "id", c->fs[i].id);
	return r ? r : dev_hotplug_slot_put(out, c->fs[i].hotplug_slot);
}

/* A share's name in the API: its id=, else its tag. */
static const char *fs_id(const struct dev_fs_cfg *c, int i)
{
	return c->fs[i].id[0] ? c->fs[i].id : c->fs[i].opts.tag;
}

int dev_fs_find(const struct vm_config *cfg, const char *id)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	for (int i = 0; c && i < c->n; i++)
		if (!strcmp(fs_id(c, i), id))
			return i;
	return -1;
}

int dev_fs_find_tag(const struct vm_config *cfg, const char *tag)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	for (int i = 0; c && i < c->n; i++)
		if (!strcmp(c->fs[i].opts.tag, tag))
			return i;
	return -1;
}

int dev_fs_count(const struct vm_config *cfg)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	return c ? c->n : 0;
}

int dev_fs_pin(struct vm_config *cfg, int i, int slot)
{
	struct dev_fs_cfg *c =
	    device_cfg_find(cfg, &device_fs) ? device_cfg(cfg, &device_fs) : NULL;
	if (!c || i < 0 || i >= c->n || slot < 1 || slot > 31)
		return -EINVAL;
	size_t n = strlen(c->fs[i].opts.tag);
	if (!c->fs[i].id[0] && n < sizeof(c->fs[i].id))
		memcpy(c->fs[i].id, c->fs[i].opts.tag, n + 1);
	c->fs[i].hotplug_slot = slot;
	return 0;
}

void dev_fs_forget(struct vm_config *cfg, const char *id)
{
	int i = dev_fs_find(cfg, id);
	struct dev_fs_cfg *c = i >= 0 ? device_cfg(cfg, &device_fs) : NULL;
	if (!c)
		return;
	memmove(&c->fs[i], &c->fs[i + 1], (size_t)(c->n - i - 1) * sizeof(c->fs[0]));
	memset(&c->fs[--c->n], 0, sizeof(c->fs[0]));
}

/* Before KVM: the back-end's socket must exist (virtiofsd creates it at start). No memory
 * hotplug beside it, and one device per socket, are the claims' rules (device_claims.c). */
static int check_socket(const struct virtio_fs_opts *o, char *err, size_t errlen)
{
	struct stat st;
	if (stat(o->socket, &st) < 0) {
		int e = errno;
		snprintf(err, errlen,
			 "--fs tag=%s: %s: %s (start the vhost-user back-end first, e.g. "
			 "virtiofsd --socket-path=%s -o source=DIR)",
			 o->tag, o->socket, strerror(e), o->socket);
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--fs tag=%s: %s is not a socket", o->tag, o->socket);
		return -EINVAL;
	}
	return 0;
}

static int check_fs(const struct vm_config *cfg)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	char err[512];
	for (int i = 0; c && i < c->n; i++) {
		int r = check_socket(&c->fs[i].opts, err, sizeof(err));
		if (r) {
			log_error("%s", err);
			return r;
		}
	}
	return 0;
}

/* The device connected to its back-end and initialised, not placed. 0 or -errno (logged). */
static int build_one(struct vm *vm, const struct virtio_fs_opts *o, struct virtio_dev **out)
{
	struct virtio_dev *dev = NULL;
	int err = virtio_fs_create(&dev, o, vm_vu_timeout_ms(vm->cfg));
	if (err)
		return err; /* logged */
	err = virtio_dev_init(dev, &vm->mem);
	if (!err)
		err = virtio_fs_attach(dev);
	if (err) {
		log_error("--fs tag=%s: device init failed: %s", o->tag, strerror(-err));
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	*out = dev;
	return 0;
}

static int create_fs(struct vm *vm)
{
	const struct dev_fs_cfg *c = device_cfg_find(vm->cfg, &device_fs);
	for (int i = 0; c && i < c->n; i++) {
		struct virtio_dev *dev = NULL;
		int err = build_one(vm, &c->fs[i].opts, &dev);
		if (!err && c->fs[i].hotplug_slot) /* hot-added: back into its slot */
			err = vm_hotplug_boot_device(vm, c->fs[i].id, dev_fs_hotplug.kind, dev,
						     c->fs[i].hotplug_slot);
		else if (!err && !(err = vm_virtio_place(vm, dev, c->fs[i].transport)) &&
			 c->fs[i].transport == TRANSPORT_PCI) /* docs/hotplug.md */
			vm_hotplug_boot_removable(vm, fs_id(c, i), dev_fs_hotplug.kind, dev);
		if (err)
			return err;
	}
	return 0;
}

int dev_fs_hot_create(struct vm *vm, const struct opt_items *record, struct virtio_dev **dev,
		      char *err, size_t errlen)
{
	struct virtio_fs_opts o;
	struct opt_items items;
	char id[DEV_FS_ID_MAX];
	int r = opt_items_copy(&items, record);
	if (!r)
		r = take_id(&items, id, err, errlen);
	if (!r)
		r = virtio_fs_opts_from_items(&items, &o, err, errlen);
	opt_items_free(&items);
	if (r)
		return r < 0 ? r : -EINVAL;
	r = dev_vu_hot_check_ram(vm, "virtio-fs", err, errlen);
	if (r)
		return r;
	if (dev_fs_find_tag(vm->cfg, o.tag) >= 0) {
		snprintf(err, errlen, "tag %s: another shared folder has it", o.tag);
		return -EEXIST;
	}
	struct device_claim other;
	if (device_table_claim_find(vm->cfg, DEVICE_CLAIM_SOCKET, o.socket, &other)) {
		/* a back-end connection serves one device (device_claims.c's rule at boot) */
		snprintf(err, errlen,
			 "%s: the %s of %s already uses it: a back-end serves one device", o.socket,
			 other.what ? other.what : "socket", other.id ? other.id : "a device");
		return -EEXIST;
	}
	r = check_socket(&o, err, errlen);
	if (r)
		return r;
	r = build_one(vm, &o, dev);
	if (r && !err[0])
		snprintf(err, errlen, "%s", log_last_error());
	return r;
}

/* ---- PUT /fs/{id} and the config file's "fs" array: Cloud Hypervisor's FsConfig fields
 * {"tag", "socket", "num_queues"?, "queue_size"?} and an "id"? (the path's; the tag when a
 * config file's element has none) ---- */

/* A string of the --fs option: 1 to max bytes. */
static int check_item(const json_t *body, const char *name, size_t max, char *err, size_t errlen)
{
	const char *v = api_json_str(body, name, "");
	if (v[0] && strlen(v) <= max)
		return 0;
	snprintf(err, errlen, "%s must have 1 to %zu bytes", name, max);
	return -EINVAL;
}

static int check_fs_values(const json_t *body, char *err, size_t errlen)
{
	uint64_t nq = api_json_uint(body, "num_queues", 1);
	uint64_t qs = api_json_uint(body, "queue_size", VIRTIO_FS_DEFAULT_QSIZE);
	int r = check_item(body, "tag", VIRTIO_FS_TAG_MAX, err, errlen);
	if (!r)
		r = check_item(body, "socket", sizeof(((struct virtio_fs_opts *)0)->socket) - 1,
			       err, errlen);
	if (r)
		return r;
	if (nq < 1 || nq > VIRTIO_FS_MAX_REQUEST_QUEUES) {
		snprintf(err, errlen, "num_queues must be 1 to %d", VIRTIO_FS_MAX_REQUEST_QUEUES);
		return -EINVAL;
	}
	if (qs < 2 || qs > VQ_CHAIN_MAX_SEGS || (qs & (qs - 1))) { /* virtio 1.2 2.7 */
		snprintf(err, errlen, "queue_size must be a power of two, 2 to %u",
			 VQ_CHAIN_MAX_SEGS);
		return -EINVAL;
	}
	return 0;
}

static int api_check_fs(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"id", API_JSON_STRING, false},	  {"tag", API_JSON_STRING, true},
	    {"socket", API_JSON_STRING, true},	  {"num_queues", API_JSON_UINT, false},
	    {"queue_size", API_JSON_UINT, false}, {NULL, 0, false}};
	(void)ctx;
	int r = api_json_check(body, f, err, errlen);
	if (!r)
		r = check_fs_values(body, err, errlen);
	if (r)
		return r;
	const char *tag = api_json_str(body, "tag", "");
	*doc = json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", id ? id : api_json_str(body, "id", tag),
			 "tag", tag, "socket", api_json_str(body, "socket", ""), "num_queues",
			 (json_int_t)api_json_uint(body, "num_queues", 1), "queue_size",
			 (json_int_t)api_json_uint(body, "queue_size", VIRTIO_FS_DEFAULT_QSIZE));
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int api_fs_items(const json_t *doc, struct opt_items *out, const struct device_desc **owner)
{
	(void)owner;
	int r = opt_items_add(out, "tag", api_json_str(doc, "tag", ""));
	if (!r)
		r = opt_items_add(out, "socket", api_json_str(doc, "socket", ""));
	if (!r)
		r = opt_items_addf(out, "num-queues", "%llu",
				   (unsigned long long)api_json_uint(doc, "num_queues", 1));
	if (!r)
		r = opt_items_addf(out, "queue-size", "%llu",
				   (unsigned long long)api_json_uint(doc, "queue_size", 0));
	return r;
}

/* The command line's --fs folders, each named by its tag (the option has no id). */
static json_t *describe_fs(const struct vm_config *cfg)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	json_t *list = c && c->n ? json_array() : NULL;
	for (int i = 0; list && i < c->n; i++) {
		const struct virtio_fs_opts *o = &c->fs[i].opts;
		if (json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:i, s:i}", "id", fs_id(c, i), "tag",
					o->tag, "socket", o->socket, "num_queues",
					o->num_request_queues, "queue_size", o->queue_size))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static const struct device_api fs_api = {.section = "fs",
					 .route = "/fs/",
					 .id_field = "id",
					 .check = api_check_fs,
					 .to_items = api_fs_items,
					 .describe = describe_fs,
					 .ext = &dev_fs_api_ext};

/* Each share's socket (a host path too) and guest RAM shared with its back-end. */
static int claims_fs(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	struct device_claim ram = {.kind = DEVICE_CLAIM_SHARED_RAM, .option = "--fs"};
	int r = 0;
	for (int i = 0; !r && c && i < c->n; i++) {
		struct device_claim sock = {.kind = DEVICE_CLAIM_SOCKET,
					    .option = "--fs socket",
					    .value = c->fs[i].opts.socket,
					    .what = "virtio-fs socket",
					    .id = c->fs[i].opts.tag,
					    .access = DEVICE_PATH_READ | DEVICE_PATH_WRITE};
		r = fn(&sock, opaque);
		if (!r)
			r = fn(&ram, opaque);
	}
	return r;
}

static const struct device_option fs_options[] = {
    {"fs", required_argument,
     "      --fs tag=NAME,socket=PATH[,num-queues=N,queue-size=N,id=NAME]\n"
     "                        share a host folder over virtio-fs, served by the vhost-user\n"
     "                        back-end listening on PATH (virtiofsd --socket-path=PATH\n"
     "                        -o source=DIR); in the guest: mount -t virtiofs NAME /mnt.\n"
     "                        Repeatable; guest RAM becomes a shared memfd; id=NAME is its\n"
     "                        name in the API (its tag without one); hotplug-slot=N (with\n"
     "                        id=) puts it in PCI hotplug slot N, removable (how a hot-added\n"
     "                        share is recorded: docs/hotplug.md)\n",
     parse_fs},
    {NULL, 0, NULL, NULL},
};

/* The socket of the share's back-end (named by its tag in messages). */
static const struct device_path_field fs_path_fields[] = {
    {"socket", DEVICE_PATH_KIND_SOCKET, "virtio-fs socket", NULL, NULL, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths fs_paths = {"tag", NULL, fs_path_fields};

const struct device_desc device_fs = {.name = "fs",
				      .options = fs_options,
				      .check = check_fs,
				      .create = create_fs,
				      .cfg_size = sizeof(struct dev_fs_cfg),
				      .claims = claims_fs,
				      .api = &fs_api,
				      .record_count = dev_fs_count,
				      .record_items = fs_items,
				      .hotplug = &dev_fs_hotplug,
				      .record_add = add_fs,
				      .paths = &fs_paths};
