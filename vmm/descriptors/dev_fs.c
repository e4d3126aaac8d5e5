/* --fs tag=NAME,socket=PATH[,num-queues=N,queue-size=N]: virtio-fs over vhost-user
 * (virtio/fs/fs.h). Guest RAM becomes a shared memfd when one is configured (its claims). */
#include "vmm/descriptors/dev_fs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "virtio/vhost_user/vu_frontend.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

static int parse_fs(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_fs_cfg *c = device_cfg(cfg, &device_fs);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (c->n == DEV_FS_MAX) {
		snprintf(err, errlen, "at most %d shared folders", DEV_FS_MAX);
		return -EINVAL;
	}
	struct virtio_fs_opts o;
	int rc = virtio_fs_opts_parse(arg, &o, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < c->n; i++) {
		if (!strcmp(c->fs[i].opts.tag, o.tag)) {
			snprintf(err, errlen, "tag %s is given twice", o.tag);
			return -EINVAL;
		}
	}
	c->fs[c->n].opts = o;
	c->fs[c->n].transport = cfg->transport;
	c->n++;
	return 0;
}

/* Before KVM: the back-end's socket must exist (virtiofsd creates it at start). No memory
 * hotplug beside it, and one device per socket, are the claims' rules (device_claims.c). */
static int check_fs(const struct vm_config *cfg)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	struct stat st;
	for (int i = 0; c && i < c->n; i++) {
		const char *path = c->fs[i].opts.socket;
		if (stat(path, &st) < 0) {
			log_error("--fs tag=%s: %s: %s (start the vhost-user back-end first, e.g. "
				  "virtiofsd --socket-path=%s -o source=DIR)",
				  c->fs[i].opts.tag, path, strerror(errno), path);
			return -errno;
		}
		if (!S_ISSOCK(st.st_mode)) {
			log_error("--fs tag=%s: %s is not a socket", c->fs[i].opts.tag, path);
			return -EINVAL;
		}
	}
	return 0;
}

static int create_one(struct vm *vm, const struct virtio_fs_opts *o, enum virtio_transport t)
{
	struct virtio_dev *dev = NULL;
	int err = virtio_fs_create(&dev, o, VU_DEFAULT_TIMEOUT_MS);
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
	return vm_virtio_place(vm, dev, t);
}

static int create_fs(struct vm *vm)
{
	const struct dev_fs_cfg *c = device_cfg_find(vm->cfg, &device_fs);
	for (int i = 0; c && i < c->n; i++) {
		int err = create_one(vm, &c->fs[i].opts, c->fs[i].transport);
		if (err)
			return err;
	}
	return 0;
}

/* ---- PUT /fs/{id} and the config file's "fs" array: Cloud Hypervisor's FsConfig fields
 * {"tag", "socket", "num_queues"?, "queue_size"?} and an "id"? (the path's; the tag when a
 * config file's element has none) ---- */

/* A string the --fs option can carry: 1 to max bytes, no comma (it would start another item). */
static int check_item(const json_t *body, const char *name, size_t max, char *err, size_t errlen)
{
	const char *v = api_json_str(body, name, "");
	if (v[0] && strlen(v) <= max && !strchr(v, ','))
		return 0;
	snprintf(err, errlen, "%s must have 1 to %zu bytes and no comma", name, max);
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

static int api_fs_option(const json_t *doc, char *arg, size_t len)
{
	int n = snprintf(arg, len, "tag=%s,socket=%s,num-queues=%llu,queue-size=%llu",
			 api_json_str(doc, "tag", ""), api_json_str(doc, "socket", ""),
			 (unsigned long long)api_json_uint(doc, "num_queues", 1),
			 (unsigned long long)api_json_uint(doc, "queue_size", 0));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The command line's --fs folders, each named by its tag (the option has no id). */
static json_t *describe_fs(const struct vm_config *cfg)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	json_t *list = c && c->n ? json_array() : NULL;
	for (int i = 0; list && i < c->n; i++) {
		const struct virtio_fs_opts *o = &c->fs[i].opts;
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:i}", "id", o->tag,
							  "tag", o->tag, "socket", o->socket,
							  "num_queues", o->num_request_queues,
							  "queue_size", o->queue_size))) {
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
					 .to_option = api_fs_option,
					 .describe = describe_fs};

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
     "      --fs tag=NAME,socket=PATH[,num-queues=N,queue-size=N]\n"
     "                        share a host folder over virtio-fs, served by the vhost-user\n"
     "                        back-end listening on PATH (virtiofsd --socket-path=PATH\n"
     "                        -o source=DIR); in the guest: mount -t virtiofs NAME /mnt.\n"
     "                        Repeatable; guest RAM becomes a shared memfd\n",
     parse_fs},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_fs = {.name = "fs",
				      .options = fs_options,
				      .check = check_fs,
				      .create = create_fs,
				      .cfg_size = sizeof(struct dev_fs_cfg),
				      .claims = claims_fs,
				      .api = &fs_api};
