/* A disk added to a running VM through the API (device_api.ext): Cloud Hypervisor's PUT
 * /vmm/vm.add-disk body (DiskConfig: "path", "readonly", "direct", "num_queues",
 * "rate_limiter_config", "serial", "id", "pci_segment" 0, "iommu" false; or "vhost_user": true
 * with "vhost_socket": --disk vhost-user=), Firecracker's hot-add of a drive, the check of its
 * file at PUT, and a disk given with --restore (another file for the snapshot's). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

#include "virtio/vhost_user/vu_opts.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_hot_body.h"

static const struct api_json_field disk_fields[] = {
    {"path", API_JSON_STRING, false},
    {"readonly", API_JSON_BOOL, false},
    {"direct", API_JSON_BOOL, false},
    {"num_queues", API_JSON_UINT, false},
    {"queue_size", API_JSON_UINT, false},
    {"rate_limiter_config", API_JSON_OBJECT, false},
    {"serial", API_JSON_STRING, false},
    {"id", API_JSON_STRING, false},
    {"pci_segment", API_JSON_UINT, false},
    {"iommu", API_JSON_BOOL, false},
    {"vhost_user", API_JSON_BOOL, false},
    {"vhost_socket", API_JSON_STRING, false},
    {NULL, 0, false},
};

/* The file's members: read-only, direct, queues, serial. */
static int file_members(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	if (api_json_bool(body, "readonly", false) && dev_hot_add(out, "ro", NULL, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "direct", false) && dev_hot_add(out, "cache", "none", err, errlen))
		return -EINVAL;
	uint64_t q = api_json_uint(body, "num_queues", 1);
	if (q < 1 || q > 8) {
		snprintf(err, errlen, "num_queues: 1 to 8");
		return -EINVAL;
	}
	if (q > 1 && dev_hot_add_num(out, "num-queues", q, err, errlen))
		return -EINVAL;
	const char *serial = api_json_str(body, "serial", NULL);
	if (serial && (dev_hot_safe("serial", serial, err, errlen) ||
		       dev_hot_add(out, "serial", serial, err, errlen)))
		return -EINVAL;
	return 0;
}

static int add_body(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	if (api_json_check(body, disk_fields, err, errlen) ||
	    dev_hot_common(body, out, false, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "vhost_user", false))
		return dev_hot_vu_body(body, out, true, err, errlen);
	if (!json_object_get(body, "path")) {
		snprintf(err, errlen, "path: required (or \"vhost_user\": true and vhost_socket)");
		return -EINVAL;
	}
	const char *path = api_json_str(body, "path", "");
	if (dev_hot_safe("path", path, err, errlen) || dev_hot_add(out, "path", path, err, errlen))
		return -EINVAL;
	if (file_members(body, out, err, errlen))
		return -EINVAL;
	return dev_hot_rate_limits(body, out, "", err, errlen);
}

/* Firecracker's drive: a file, or with a "socket" its vhost-user record, checked by the --disk
 * vhost-user= parser as Cloud Hypervisor's body is. */
static int fc_add_check(const char *id, const struct opt_items *items, bool vhost_user, char *err,
			size_t errlen)
{
	struct vu_opts o;
	if (dev_hot_fc_common(id, items, vhost_user, true, err, errlen))
		return -EINVAL;
	if (vhost_user && vu_opts_from_items(items, VU_OPTS_BLK, &o, err, errlen))
		return -EINVAL;
	return 0;
}

/* A drive that follows backing files is checked at PUT: its chain under its own rules (the plain
 * file check of host_file knows only the path and the mode). A vhost-user one (a "socket") is
 * not: its back-end may start after the PUT. */
static bool checked_at_put(const json_t *doc)
{
	return !json_object_get(doc, "socket") &&
	       json_is_true(json_object_get(doc, "backing_files"));
}

/* The drive's file opened and locked in its mode, as --disk checks it. */
static int host_file_check(const char *path, bool ro)
{
	struct virtio_blk_opts o = {.path = (char *)path, .ro = ro};
	return dev_disk_check_file(&o);
}

/* True when disk i of `cfg` was given as PATH[,id=NAME] and nothing else: its record has no
 * other item. */
static bool path_and_id(const struct vm_config *cfg, int i)
{
	struct opt_items items = {0};
	enum virtio_transport t;
	bool only = !device_disk.record_items(cfg, i, &items, &t);
	for (size_t k = 0; only && k < items.n; k++)
		only = !strcmp(items.v[k].key, device_disk.record_head) ||
		       !strcmp(items.v[k].key, "id");
	opt_items_free(&items);
	return only;
}

/* Disk i given with --restore: a path override, PATH[,id=NAME] and nothing else; the disk named
 * NAME, or without it the disk in the same place, opens PATH. */
static int restore_given(const struct vm_config *cfg, int i, struct device_restore_given *out)
{
	const struct virtio_blk_opts *d = dev_disk_opts(cfg, i);

	if (!path_and_id(cfg, i)) {
		log_error(
		    "--restore: --disk %s: give only PATH[,id=NAME] (the disk of the snapshot "
		    "named NAME, else the one in the same place, opens PATH)",
		    d->path);
		return -EINVAL;
	}
	out->path = d->path;
	out->id = d->id[0] ? d->id : NULL;
	return 0;
}

const struct device_api_ext dev_disk_api_ext = {
    .live_by_doc = true,
    .add_route = "/vmm/vm.add-disk",
    .add_body = add_body,
    .fc_add_check = fc_add_check,
    .checked_at_put = checked_at_put,
    .host_file_check = host_file_check,
    .restore_given = restore_given,
    .fork_disk = &dev_disk_fork,
    .patch = &dev_disk_patch,
};
