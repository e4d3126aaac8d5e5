/* PUT /drives/{id} and the config file's "drives": Firecracker's drive bodies as hooks of the
 * --disk descriptor (struct device_api). A drive on a file:
 *   {"drive_id", "path_on_host", "is_root_device", "is_read_only"?, "cache_type"?, "io_engine"?,
 *    "partuuid"?, "rate_limiter"?, "image_type"?, "backing_files"?, "backing_dirs"?}
 * (image_type is Cloud Hypervisor's: "Raw" or "Qcow2" force the format like --disk format=,
 * "Unknown" or none probes it, as Firecracker's drives are; backing_files is Cloud Hypervisor's
 * too: true is --disk backing_files=on, false or none refuses a qcow2 image that names a backing
 * file; backing_dirs, ours, is --disk backing_dirs=, "DIR[:DIR...]", with backing_files true)
 * or a vhost-user disk (Firecracker's socket, Cloud Hypervisor's vhost_user and queue fields):
 *   {"drive_id", "socket", "is_root_device", "partuuid"?, "vhost_user"?: true, "num_queues"?,
 *    "queue_size"?}
 * where is_read_only true, cache_type, io_engine and rate_limiter are refused: the back-end
 * serves the disk. A drive's document is --disk PATH,...,id=ID (or vhost-user=SOCKET,...). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/device_table.h"

_Static_assert(API_SOCKET_MAX == sizeof(((struct vu_opts *)0)->socket),
	       "a document keeps what --disk/--net vhost-user= can take");

/* A vhost-user disk's back-end does its I/O, decides whether it has a write cache
 * (VIRTIO_BLK_F_FLUSH) or is read-only (VIRTIO_BLK_F_RO), and its requests never pass through
 * the VMM: the fields that would ask the VMM for those are refused. */
static int check_vu_drive(const json_t *body, char *err, size_t errlen)
{
	static const char *const refused[][2] = {
	    {"cache_type", "the vhost-user back-end decides whether the disk has a write cache "
			   "(VIRTIO_BLK_F_FLUSH)"},
	    {"io_engine", "the vhost-user back-end does the disk's I/O"},
	    {"rate_limiter", "the disk's requests go to the vhost-user back-end without passing "
			     "through the VMM"},
	    {"image_type", "the vhost-user back-end reads the image"},
	    {"backing_files", "the vhost-user back-end opens the image and its backing files"},
	    {"backing_dirs", "the vhost-user back-end opens the image and its backing files"},
	};
	int r = api_body_refuse_fields(body, refused, sizeof(refused) / sizeof(refused[0]), err,
				       errlen);
	if (!r && api_json_bool(body, "is_read_only", false)) {
		snprintf(
		    err, errlen,
		    "is_read_only true cannot be honoured with socket: a vhost-user disk is "
		    "read-only when its back-end says so (VIRTIO_BLK_F_RO): export it read-only");
		r = -EINVAL;
	}
	return r ? r : api_body_check_socket(body, err, errlen);
}

/* image_type as --disk's format= ("" for a probe), or NULL for a value this VMM cannot read. */
static const char *image_format(const char *type)
{
	if (!type[0] || !strcmp(type, "Unknown"))
		return "";
	return !strcmp(type, "Raw") ? "raw" : !strcmp(type, "Qcow2") ? "qcow2" : NULL;
}

/* backing_dirs, with --disk's own rules for it. */
static int check_backing_dirs(const json_t *body, char *err, size_t errlen)
{
	const char *dirs = api_json_str(body, "backing_dirs", "");
	struct opt_items items = {0};
	struct virtio_blk_opts o;
	char why[256];
	if (!api_json_bool(body, "backing_files", false)) {
		snprintf(err, errlen, "backing_dirs needs \"backing_files\": true");
		return -EINVAL;
	}
	int r = opt_items_add(&items, "path", "x");
	if (!r)
		r = opt_items_add(&items, "backing_files", "on");
	if (!r)
		r = opt_items_add(&items, "backing_dirs", dirs);
	if (!r && (strlen(dirs) >= VIRTIO_BLK_BACKING_DIRS_MAX ||
		   virtio_blk_opts_from_items(&items, &o, why, sizeof(why)))) {
		snprintf(err, errlen, "backing_dirs: DIR[:DIR...], at most %d bytes",
			 VIRTIO_BLK_BACKING_DIRS_MAX - 1);
		r = -EINVAL;
	} else if (!r) {
		virtio_blk_opts_free(&o);
	}
	opt_items_free(&items);
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return r;
}

/* A drive on a file: its cache_type, io_engine, image_type and path_on_host. */
static int check_file_drive(const json_t *body, char *err, size_t errlen)
{
	const char *cache = api_json_str(body, "cache_type", "Writeback");
	const char *engine = api_json_str(body, "io_engine", "");
	const char *type = api_json_str(body, "image_type", "");
	if (!image_format(type)) {
		snprintf(err, errlen,
			 "image_type %.32s: Raw, Qcow2 or Unknown (probed); VHD and VHDX images "
			 "are not supported (qemu-img convert -O qcow2 makes one)",
			 type);
		return -EINVAL;
	}
	if (strcmp(cache, "Unsafe") && strcmp(cache, "Writeback")) {
		snprintf(err, errlen, "cache_type must be Unsafe or Writeback");
		return -EINVAL;
	}
	if (engine[0] && strcmp(engine, "Sync") && strcmp(engine, "Async")) {
		snprintf(err, errlen, "io_engine must be Sync or Async");
		return -EINVAL;
	}
	if (!api_json_str(body, "path_on_host", "")[0]) {
		snprintf(err, errlen, "path_on_host is empty");
		return -EINVAL;
	}
	int r = api_body_has(body, "backing_dirs") ? check_backing_dirs(body, err, errlen) : 0;
	return r ? r : api_body_refuse_queues(body, "path_on_host", err, errlen);
}

/* One root device at most: another drive, or another device's root (ctx). */
static int check_root(const json_t *body, const struct device_api_ctx *ctx, char *err,
		      size_t errlen)
{
	if (!api_json_bool(body, "is_root_device", false) || !ctx->root_id)
		return 0;
	if (ctx->root_dev == &device_disk)
		snprintf(err, errlen, "A root block device already exists!");
	else
		snprintf(err, errlen, "A root device already exists: %s", ctx->root_id);
	return -EINVAL;
}

/* partuuid (used for the root device only, as in Firecracker: root=PARTUUID=...) must be a
 * partition UUID the kernel parses: hex digits and dashes. */
static int check_partuuid(const json_t *body, char *err, size_t errlen)
{
	const char *uuid = api_json_str(body, "partuuid", "");
	size_t n = strlen(uuid);

	if (n >= API_PARTUUID_MAX || strspn(uuid, "0123456789abcdefABCDEF-") != n) {
		snprintf(err, errlen, "partuuid must be a partition UUID (hex digits and dashes)");
		return -EINVAL;
	}
	return 0;
}

/* A new drive when the model has as many as the command line takes. */
static int check_room(const json_t *docs, const char *id, char *err, size_t errlen)
{
	size_t i;
	json_t *doc;

	json_array_foreach(docs, i, doc)
	{
		if (!strcmp(api_json_str(doc, "drive_id", ""), id))
			return 0;
	}
	if (json_array_size(docs) < VM_MAX_DISKS)
		return 0;
	snprintf(err, errlen, "at most %d drives", VM_MAX_DISKS);
	return -EINVAL;
}

/* backing_files and backing_dirs in a drive's document, when the drive follows backing files. */
static void backing_json(json_t *j, bool on, const char *dirs)
{
	if (j && on)
		json_object_set_new(j, "backing_files", json_true());
	if (j && on && dirs[0])
		json_object_set_new(j, "backing_dirs", json_string(dirs));
}

/* The document of a drive: what GET /vm/config shows, as Firecracker's Drive. */
static json_t *drive_doc(const char *id, const char *path, bool root, bool ro, const char *cache,
			 const char *engine, const char *partuuid, const char *type,
			 const struct rate_limiter_cfg *rl)
{
	json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:s}", "drive_id", id, "path_on_host", path,
			      "is_root_device", root, "is_read_only", ro, "cache_type", cache);
	json_t *limits = api_rate_limiter_json(rl);
	if (j && engine[0])
		json_object_set_new(j, "io_engine", json_string(engine));
	if (j && partuuid[0])
		json_object_set_new(j, "partuuid", json_string(partuuid));
	if (j && image_format(type) && image_format(type)[0])
		json_object_set_new(j, "image_type", json_string(type));
	if (j && limits)
		json_object_set_new(j, "rate_limiter", limits);
	else
		json_decref(limits);
	return j;
}

/* A vhost-user disk as it was given: its socket instead of path_on_host. */
static json_t *vu_drive_doc(const char *id, const char *socket, bool root, const char *partuuid,
			    int64_t queues, int64_t size)
{
	json_t *j =
	    json_pack("{s:s, s:s, s:b}", "drive_id", id, "socket", socket, "is_root_device", root);
	if (j && partuuid[0])
		json_object_set_new(j, "partuuid", json_string(partuuid));
	api_body_queues_json(j, queues, size);
	return j;
}

static int check_drive(const json_t *body, const char *id, const struct device_api_ctx *ctx,
		       json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"drive_id", API_JSON_STRING, true},      {"path_on_host", API_JSON_STRING, false},
	    {"is_root_device", API_JSON_BOOL, true},  {"is_read_only", API_JSON_BOOL, false},
	    {"partuuid", API_JSON_STRING, false},     {"cache_type", API_JSON_STRING, false},
	    {"io_engine", API_JSON_STRING, false},    {"rate_limiter", API_JSON_OBJECT, false},
	    {"socket", API_JSON_STRING, false},	      {"vhost_user", API_JSON_BOOL, false},
	    {"num_queues", API_JSON_UINT, false},     {"queue_size", API_JSON_UINT, false},
	    {"image_type", API_JSON_STRING, false},   {"backing_files", API_JSON_BOOL, false},
	    {"backing_dirs", API_JSON_STRING, false}, {NULL, 0, false}};
	struct rate_limiter_cfg rl;
	bool vu = api_body_has(body, "socket"), root = api_json_bool(body, "is_root_device", false);
	int r = api_body_check_named(body, id, "drive_id", f, err, errlen);
	if (!r)
		r = api_body_check_backend(body, "path_on_host", "a file", err, errlen);
	if (!r)
		r = vu ? check_vu_drive(body, err, errlen) : check_file_drive(body, err, errlen);
	if (!r)
		r = check_root(body, ctx, err, errlen);
	if (!r)
		r = check_partuuid(body, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter",
					   &rl, err, errlen);
	if (!r)
		r = check_room(ctx->docs, id, err, errlen);
	if (r)
		return r;
	const char *partuuid = api_json_str(body, "partuuid", "");
	*doc = vu ? vu_drive_doc(id, api_json_str(body, "socket", ""), root, partuuid,
				 api_body_queues(body, "num_queues"),
				 api_body_queues(body, "queue_size"))
		  : drive_doc(id, api_json_str(body, "path_on_host", ""), root,
			      api_json_bool(body, "is_read_only", false),
			      api_json_str(body, "cache_type", "Writeback"),
			      api_json_str(body, "io_engine", ""), partuuid,
			      api_json_str(body, "image_type", ""), &rl);
	if (!vu)
		backing_json(*doc, api_json_bool(body, "backing_files", false),
			     api_json_str(body, "backing_dirs", ""));
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int drive_items(const json_t *doc, struct opt_items *out, const struct device_desc **owner)
{
	const char *id = api_json_str(doc, "drive_id", "");
	const char *engine = api_json_str(doc, "io_engine", "");
	const char *format = image_format(api_json_str(doc, "image_type", ""));
	struct rate_limiter_cfg rl;

	if (api_body_has(doc, "socket")) {
		*owner = &device_vu_blk;
		return api_body_vu_items(out, doc, "", id);
	}
	if (api_rate_limiter_parse(json_object_get(doc, "rate_limiter"), "rate_limiter", &rl, NULL,
				   0))
		rl = (struct rate_limiter_cfg){0}; /* cannot happen: the document's own */
	int r = opt_items_add(out, "path", api_json_str(doc, "path_on_host", ""));
	if (!r && api_json_bool(doc, "is_read_only", false))
		r = opt_items_add(out, "ro", NULL);
	if (!r && api_json_bool(doc, "is_root_device", false))
		r = opt_items_add(out, "root", NULL);
	if (!r && engine[0])
		r = opt_items_add(out, "aio", strcmp(engine, "Sync") ? "io_uring" : "sync");
	if (!r && !strcmp(api_json_str(doc, "cache_type", ""), "Unsafe"))
		r = opt_items_add(out, "flush", "off");
	if (!r && format && format[0])
		r = opt_items_add(out, "format", format);
	if (!r)
		r = opt_items_add(out, "id", id);
	if (!r)
		r = api_rate_limiter_items(out, "", &rl);
	if (!r && api_json_bool(doc, "backing_files", false))
		r = opt_items_add(out, "backing_files", "on");
	if (!r && api_json_str(doc, "backing_dirs", "")[0])
		r = opt_items_add(out, "backing_dirs", api_json_str(doc, "backing_dirs", ""));
	return r;
}

/* A device's id= as the API's id, or "drive" and its place among the drives. */
static void model_id(char *out, size_t len, const char *id, int index)
{
	if (id[0])
		snprintf(out, len, "%s", id);
	else
		snprintf(out, len, "drive%d", index);
}

/* The command line's (or a snapshot's) disks, named by their id= ("drive0", ... without one),
 * the vhost-user ones after the others as the guest sees them, with their socket. */
static json_t *describe_drives(const struct vm_config *cfg)
{
	const struct dev_vu_cfg *vu = device_cfg_find(cfg, &device_vu_blk);
	int ndisks = dev_disk_count(cfg), n = ndisks + (vu ? vu->n : 0);
	json_t *list = n ? json_array() : NULL;
	char id[VIRTIO_BLK_DRIVE_ID_MAX];

	for (int i = 0; list && i < n && i < VM_MAX_DISKS; i++) {
		json_t *doc;
		if (i < ndisks) {
			const struct virtio_blk_opts *o = dev_disk_opts(cfg, i);
			/* what an io_engine became (drive_option()) */
			const char *engine = o->aio == VIRTIO_BLK_AIO_SYNC	 ? "Sync"
					     : o->aio == VIRTIO_BLK_AIO_IO_URING ? "Async"
										 : "";
			const char *type = o->format == VIRTIO_BLK_FORMAT_RAW	  ? "Raw"
					   : o->format == VIRTIO_BLK_FORMAT_QCOW2 ? "Qcow2"
										  : "";
			model_id(id, sizeof(id), o->id, i);
			doc = drive_doc(id, o->path, o->root, o->ro,
					o->no_flush ? "Unsafe" : "Writeback", engine, "", type,
					&o->rl);
			backing_json(doc, o->backing_files, o->backing_dirs);
		} else {
			const struct vu_opts *o = &vu->dev[i - ndisks].opts;
			model_id(id, sizeof(id), o->id, i);
			doc = vu_drive_doc(id, o->socket, false, "", o->num_queues, o->queue_size);
		}
		if (json_array_append_new(list, doc)) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* A document of a vhost-user disk (its back-end serves it: no in-process device). */
static bool drive_is_vu(const json_t *doc)
{
	return api_json_str(doc, "socket", NULL) != NULL;
}

/* The guest's name of the root drive, vdX: the in-process disks come first (the root first of
 * the documents', device_api.root_arg), then the vhost-user ones (device_table's order). */
static char root_letter(const json_t *docs, bool vu, const struct vm_config *cfg)
{
	int index = dev_disk_count(cfg);
	const json_t *doc;
	size_t i;

	if (vu) {
		json_array_foreach(docs, i, doc) index += !drive_is_vu(doc);
		index += dev_vu_count(cfg, &device_vu_blk);
	}
	return (char)('a' + index);
}

/* The document among `docs` that makes its drive the root, or NULL. */
static const json_t *root_drive(const json_t *docs)
{
	const json_t *root = NULL, *doc;
	size_t i;

	json_array_foreach(docs, i, doc) if (api_json_bool(doc, "is_root_device", false)) root =
	    doc;
	return root;
}

/* root=/dev/vdX, or Firecracker's root=PARTUUID= (that partition, wherever the kernel finds
 * it), read-only or not as the drive is. */
static int drive_root_arg(const json_t *docs, const struct vm_config *cfg, char *arg, size_t len)
{
	const json_t *root = root_drive(docs);
	int n;

	if (!root)
		return snprintf(arg, len, "%s", "") < 0 ? -ENAMETOOLONG : 0;
	const char *partuuid = api_json_str(root, "partuuid", "");
	const char *mode = api_json_bool(root, "is_read_only", false) ? "ro" : "rw";
	if (partuuid[0])
		n = snprintf(arg, len, "root=PARTUUID=%s %s", partuuid, mode);
	else
		n = snprintf(arg, len, "root=/dev/vd%c %s",
			     root_letter(docs, drive_is_vu(root), cfg), mode);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The file PUT opens (Firecracker's check), in the drive's mode; none for a vhost-user disk:
 * its socket is looked at when the VM starts (the back-end may come later). The check takes the
 * drive's path and mode only, so it refuses a qcow2 image that names a backing file (backing
 * files off, dev_disk_check_file()): a drive with backing_files true has its file and its chain
 * checked when the VM starts, where they are opened under its rules. */
static const char *drive_file(const json_t *doc, bool *ro)
{
	*ro = api_json_bool(doc, "is_read_only", false);
	if (api_body_has(doc, "socket") || api_json_bool(doc, "backing_files", false))
		return NULL;
	return api_json_str(doc, "path_on_host", NULL);
}

const struct device_api dev_disk_api = {
    .section = "drives",
    .route = "/drives/",
    .id_field = "drive_id",
    .root_field = "is_root_device",
    .root_taken = "A root block device is already configured.",
    .core = true,
    .check = check_drive,
    .to_items = drive_items,
    .describe = describe_drives,
    .root_arg = drive_root_arg,
    .host_file = drive_file,
    .live = &dev_disk_live,
    .ext = &dev_disk_api_ext,
};
