/* Cloud Hypervisor's hotplug bodies, checked and turned into devices' record items
 * (api_hotplug.h). */
#include "vmm/api/api_hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "virtio/fs/fs.h"
#include "virtio/pmem/pmem.h"
#include "virtio/vhost_user/vu_opts.h"
#include "virtio/vsock/vsock.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"

#define MAX_QUEUES 16 /* CH's num_queues for a NIC counts both directions: 8 pairs */

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

static const struct api_json_field net_fields[] = {
    {"tap", API_JSON_STRING, false},
    {"mac", API_JSON_STRING, false},
    {"num_queues", API_JSON_UINT, false},
    {"queue_size", API_JSON_UINT, false},
    {"rate_limiter_config", API_JSON_OBJECT, false},
    {"id", API_JSON_STRING, false},
    {"mtu", API_JSON_UINT, false},
    {"pci_segment", API_JSON_UINT, false},
    {"iommu", API_JSON_BOOL, false},
    {"vhost_user", API_JSON_BOOL, false},
    {"vhost_socket", API_JSON_STRING, false},
    {"vhost_mode", API_JSON_STRING, false},
    {NULL, 0, false},
};

static const struct api_json_field vsock_fields[] = {
    {"cid", API_JSON_UINT, true},	   {"socket", API_JSON_STRING, true},
    {"id", API_JSON_STRING, false},	   {"iommu", API_JSON_BOOL, false},
    {"pci_segment", API_JSON_UINT, false}, {NULL, 0, false},
};

static const struct api_json_field pmem_fields[] = {
    {"file", API_JSON_STRING, true},
    {"size", API_JSON_UINT, false},
    {"iommu", API_JSON_BOOL, false},
    {"discard_writes", API_JSON_BOOL, false},
    {"id", API_JSON_STRING, false},
    {"pci_segment", API_JSON_UINT, false},
    {NULL, 0, false},
};

static const struct api_json_field fs_fields[] = {
    {"tag", API_JSON_STRING, true},
    {"socket", API_JSON_STRING, true},
    {"num_queues", API_JSON_UINT, false},
    {"queue_size", API_JSON_UINT, false},
    {"id", API_JSON_STRING, false},
    {"pci_segment", API_JSON_UINT, false},
    {NULL, 0, false},
};

static const struct api_json_field remove_fields[] = {
    {"id", API_JSON_STRING, true},
    {"timeout_ms", API_JSON_UINT, false},
    {NULL, 0, false},
};

/* Appends item key=value (value NULL: a flag) to out->items; -ENOMEM with err filled. */
static int add(struct api_hotplug_add *out, const char *key, const char *value, char *err,
	       size_t errlen)
{
	if (!opt_items_add(&out->items, key, value))
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Appends item key=N. */
static int add_num(struct api_hotplug_add *out, const char *key, unsigned long long n, char *err,
		   size_t errlen)
{
	char v[24];
	snprintf(v, sizeof(v), "%llu", n);
	return add(out, key, v, err, errlen);
}

/* A name or path of a body: not empty, nothing unprintable (any other character, a comma
 * included: the record's items hold it whole). */
static int option_safe(const char *what, const char *s, char *err, size_t errlen)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "%s: a control character cannot be used", what);
			return -EINVAL;
		}
	}
	if (!*s) {
		snprintf(err, errlen, "%s: empty", what);
		return -EINVAL;
	}
	return 0;
}

/* What both bodies share: the fields we only take at their one value, and the id. */
static int common(const json_t *body, struct api_hotplug_add *out, char *err, size_t errlen)
{
	if (api_json_uint(body, "pci_segment", 0) != 0) {
		snprintf(err, errlen, "pci_segment: only segment 0 exists here");
		return -EINVAL;
	}
	if (api_json_bool(body, "iommu", false)) {
		snprintf(err, errlen, "iommu: there is no virtual IOMMU here");
		return -EINVAL;
	}
	bool vu = api_json_bool(body, "vhost_user", false);
	if (!vu && json_object_get(body, "vhost_socket")) {
		snprintf(err, errlen, "vhost_socket: only with \"vhost_user\": true");
		return -EINVAL;
	}
	if (!vu && out->kind != API_HOTPLUG_FS && json_object_get(body, "queue_size")) {
		snprintf(err, errlen, "queue_size: the queue size is the VMM's (256)");
		return -EINVAL;
	}
	const char *id = api_json_str(body, "id", NULL);
	if (id && api_json_check_id(id, err, errlen))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
	return 0;
}

static int rate_limits(const json_t *body, struct api_hotplug_add *out, const char *prefix,
		       char *err, size_t errlen)
{
	struct rate_limiter_cfg rl;
	if (api_rate_limiter_parse(json_object_get(body, "rate_limiter_config"),
				   "rate_limiter_config", &rl, err, errlen))
		return -EINVAL;
	if (!api_rate_limiter_items(&out->items, prefix, &rl))
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* A string of at most max bytes for the option: option_safe()'s rules. */
static int option_item(const char *what, const char *s, size_t max, char *err, size_t errlen)
{
	if (option_safe(what, s, err, errlen))
		return -EINVAL;
	if (strlen(s) > max) {
		snprintf(err, errlen, "%s: at most %zu bytes", what, max);
		return -EINVAL;
	}
	return 0;
}

/* Members a vhost-user device's body cannot have: its back-end decides what they would (the
 * disk's file, mode, cache and serial, the NIC's tap) or its requests bypass the VMM (limits). */
static int vu_refused_members(const json_t *body, enum vu_opts_kind kind, char *err, size_t errlen)
{
	static const char *const blk[] = {
	    "path", "readonly", "direct", "serial", "rate_limiter_config", NULL};
	static const char *const net[] = {"tap", "rate_limiter_config", NULL};
	for (const char *const *m = kind == VU_OPTS_BLK ? blk : net; *m; m++) {
		if (json_object_get(body, *m)) {
			snprintf(err, errlen,
				 "%s: not with \"vhost_user\": true (the vhost-user back-end "
				 "serves the device)",
				 *m);
			return -EINVAL;
		}
	}
	const char *mode = api_json_str(body, "vhost_mode", "Client");
	if (strcmp(mode, "Client") && strcmp(mode, "client")) {
		snprintf(err, errlen,
			 "vhost_mode: only Client (the VMM connects to the back-end's socket)");
		return -EINVAL;
	}
	return 0;
}

/* Cloud Hypervisor's vhost-user disk or NIC ("vhost_user": true, "vhost_socket"): the --disk or
 * --net vhost-user= option, checked by its own parser (vu_opts.h) so a bad value is a 400 here. */
static int vu_body(const json_t *body, struct api_hotplug_add *out, enum vu_opts_kind kind,
		   char *err, size_t errlen)
{
	if (vu_refused_members(body, kind, err, errlen))
		return -EINVAL;
	const char *socket = api_json_str(body, "vhost_socket", NULL);
	if (!socket) {
		snprintf(err, errlen, "vhost_socket: required with \"vhost_user\": true");
		return -EINVAL;
	}
	if (option_item("vhost_socket", socket, sizeof(((struct vu_opts *)0)->socket) - 1, err,
			errlen) ||
	    add(out, VU_OPTS_KEY, socket, err, errlen))
		return -EINVAL;
	const char *mac = api_json_str(body, "mac", NULL);
	if (mac && (option_safe("mac", mac, err, errlen) || add(out, "mac", mac, err, errlen)))
		return -EINVAL;
	if (json_object_get(body, "num_queues") &&
	    add_num(out, "num-queues", api_json_uint(body, "num_queues", 0), err, errlen))
		return -EINVAL;
	if (json_object_get(body, "queue_size") &&
	    add_num(out, "queue-size", api_json_uint(body, "queue_size", 0), err, errlen))
		return -EINVAL;
	if (kind == VU_OPTS_NET && json_object_get(body, "mtu") &&
	    api_json_uint(body, "mtu", 0) != 1500) {
		snprintf(err, errlen, "mtu: only 1500");
		return -EINVAL;
	}
	struct vu_opts o;
	if (vu_opts_from_items(&out->items, kind, &o, err, errlen))
		return -EINVAL;
	out->vhost_user = true;
	return 0;
}

int api_hotplug_disk_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			   size_t errlen)
{
	*out = (struct api_hotplug_add){.kind = API_HOTPLUG_DISK};
	if (api_json_check(body, disk_fields, err, errlen) || common(body, out, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "vhost_user", false))
		return vu_body(body, out, VU_OPTS_BLK, err, errlen);
	if (!json_object_get(body, "path")) {
		snprintf(err, errlen, "path: required (or \"vhost_user\": true and vhost_socket)");
		return -EINVAL;
	}
	const char *path = api_json_str(body, "path", "");
	if (option_safe("path", path, err, errlen) || add(out, "path", path, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "readonly", false) && add(out, "ro", NULL, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "direct", false) && add(out, "cache", "none", err, errlen))
		return -EINVAL;
	uint64_t q = api_json_uint(body, "num_queues", 1);
	if (q < 1 || q > 8) {
		snprintf(err, errlen, "num_queues: 1 to 8");
		return -EINVAL;
	}
	if (q > 1 && add_num(out, "num-queues", q, err, errlen))
		return -EINVAL;
	const char *serial = api_json_str(body, "serial", NULL);
	if (serial &&
	    (option_safe("serial", serial, err, errlen) || add(out, "serial", serial, err, errlen)))
		return -EINVAL;
	return rate_limits(body, out, "", err, errlen);
}

int api_hotplug_net_parse(const json_t *body, struct api_hotplug_add *out, char *err, size_t errlen)
{
	*out = (struct api_hotplug_add){.kind = API_HOTPLUG_NET};
	if (api_json_check(body, net_fields, err, errlen) || common(body, out, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "vhost_user", false))
		return vu_body(body, out, VU_OPTS_NET, err, errlen);
	if (!json_object_get(body, "tap")) {
		snprintf(err, errlen,
			 "tap: required, an existing tap (or \"vhost_user\": true and "
			 "vhost_socket)");
		return -EINVAL;
	}
	if (json_object_get(body, "vhost_mode")) {
		snprintf(err, errlen, "vhost_mode: only with \"vhost_user\": true");
		return -EINVAL;
	}
	const char *tap = api_json_str(body, "tap", "");
	if (option_safe("tap", tap, err, errlen) || add(out, "tap", tap, err, errlen))
		return -EINVAL;
	const char *mac = api_json_str(body, "mac", NULL);
	if (mac && (option_safe("mac", mac, err, errlen) || add(out, "mac", mac, err, errlen)))
		return -EINVAL;
	uint64_t q = api_json_uint(body, "num_queues", 2);
	if (q < 2 || q > MAX_QUEUES || q % 2) {
		snprintf(err, errlen,
			 "num_queues: an even number from 2 to %d (a receive and a "
			 "transmit queue per pair)",
			 MAX_QUEUES);
		return -EINVAL;
	}
	if (q > 2 && add_num(out, "queues", q / 2, err, errlen))
		return -EINVAL;
	if (json_object_get(body, "mtu") && api_json_uint(body, "mtu", 0) != 1500) {
		snprintf(err, errlen, "mtu: only 1500 (virtio-net here advertises 1500)");
		return -EINVAL;
	}
	/* Cloud Hypervisor's one limiter applies to each direction */
	if (rate_limits(body, out, "rx-", err, errlen) ||
	    rate_limits(body, out, "tx-", err, errlen))
		return -EINVAL;
	return 0;
}

int api_hotplug_vsock_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			    size_t errlen)
{
	*out = (struct api_hotplug_add){.kind = API_HOTPLUG_VSOCK};
	if (api_json_check(body, vsock_fields, err, errlen) || common(body, out, err, errlen))
		return -EINVAL;
	uint64_t cid = api_json_uint(body, "cid", 0);
	if (cid < 3 || cid > 0xfffffffeull) { /* virtio 1.2 5.10.4: 0-2 are reserved */
		snprintf(err, errlen, "cid: 3 to 4294967294 (0-2 are reserved)");
		return -EINVAL;
	}
	const char *socket = api_json_str(body, "socket", "");
	if (option_safe("socket", socket, err, errlen))
		return -EINVAL;
	if (strlen(socket) > VIRTIO_VSOCK_UDS_MAX) { /* its "_PORT" sockets must fit sun_path */
		snprintf(err, errlen, "socket: at most %u bytes", VIRTIO_VSOCK_UDS_MAX);
		return -EINVAL;
	}
	int r = add_num(out, "cid", cid, err, errlen);
	return r ? r : add(out, "uds", socket, err, errlen);
}

int api_hotplug_pmem_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			   size_t errlen)
{
	*out = (struct api_hotplug_add){.kind = API_HOTPLUG_PMEM};
	if (api_json_check(body, pmem_fields, err, errlen) || common(body, out, err, errlen))
		return -EINVAL;
	const char *file = api_json_str(body, "file", "");
	if (option_safe("file", file, err, errlen))
		return -EINVAL;
	if (strlen(file) >= VIRTIO_PMEM_PATH_MAX) {
		snprintf(err, errlen, "file: shorter than %d bytes", VIRTIO_PMEM_PATH_MAX);
		return -EINVAL;
	}
	/* the window is the whole file (vmm/vm/pmem_file.h): a size only confirms it */
	out->size = api_json_uint(body, "size", 0);
	if (json_object_get(body, "size") && (!out->size || out->size % VIRTIO_PMEM_ALIGN)) {
		snprintf(err, errlen, "size: a non-zero multiple of 2 MiB (the file's size)");
		return -EINVAL;
	}
	int r = add(out, "path", file, err, errlen);
	/* Cloud Hypervisor maps such a file privately; here its window is read-only */
	if (!r && api_json_bool(body, "discard_writes", false))
		r = add(out, "ro", NULL, err, errlen);
	return r;
}

int api_hotplug_fs_parse(const json_t *body, struct api_hotplug_add *out, char *err, size_t errlen)
{
	*out = (struct api_hotplug_add){.kind = API_HOTPLUG_FS};
	if (api_json_check(body, fs_fields, err, errlen) || common(body, out, err, errlen))
		return -EINVAL;
	const char *tag = api_json_str(body, "tag", "");
	const char *socket = api_json_str(body, "socket", "");
	if (option_item("tag", tag, VIRTIO_FS_TAG_MAX, err, errlen) ||
	    option_item("socket", socket, sizeof(((struct virtio_fs_opts *)0)->socket) - 1, err,
			errlen))
		return -EINVAL;
	uint64_t nq = api_json_uint(body, "num_queues", 1);
	uint64_t qs = api_json_uint(body, "queue_size", VIRTIO_FS_DEFAULT_QSIZE);
	if (nq < 1 || nq > VIRTIO_FS_MAX_REQUEST_QUEUES) {
		snprintf(err, errlen, "num_queues: 1 to %d", VIRTIO_FS_MAX_REQUEST_QUEUES);
		return -EINVAL;
	}
	if (qs < 2 || qs > VIRTIO_FS_DEFAULT_QSIZE || (qs & (qs - 1))) { /* virtio 1.2 2.7 */
		snprintf(err, errlen, "queue_size: a power of two, 2 to %d",
			 VIRTIO_FS_DEFAULT_QSIZE);
		return -EINVAL;
	}
	/* the --fs record (virtio_fs_opts_from_items() builds the device from it) */
	int r = add(out, "tag", tag, err, errlen);
	if (!r)
		r = add(out, "socket", socket, err, errlen);
	if (!r)
		r = add_num(out, "num-queues", nq, err, errlen);
	return r ? r : add_num(out, "queue-size", qs, err, errlen);
}

bool api_hotplug_section_kind(const char *section, enum api_hotplug_kind *kind)
{
	static const struct {
		const char *section;
		enum api_hotplug_kind kind;
	} kinds[] = {{"drives", API_HOTPLUG_DISK},
		     {"network-interfaces", API_HOTPLUG_NET},
		     {"pmem", API_HOTPLUG_PMEM}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(kinds[i].section, section)) {
			*kind = kinds[i].kind;
			return true;
		}
	}
	return false;
}

int api_hotplug_from_items(const char *section, const char *id, const struct opt_items *items,
			   bool vhost_user, struct api_hotplug_add *out, char *err, size_t errlen)
{
	enum api_hotplug_kind kind;
	if (!api_hotplug_section_kind(section, &kind))
		return -ENOENT;
	*out = (struct api_hotplug_add){.kind = kind};
	if (api_json_check_id(id, err, errlen))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", id);
	if (opt_items_find(items, "root") >= 0) {
		snprintf(err, errlen, "%s: a root device cannot be added to a running VM", id);
		return -EINVAL;
	}
	bool vu_items = opt_items_find(items, VU_OPTS_KEY) >= 0;
	if (vhost_user != vu_items || (vhost_user && kind != API_HOTPLUG_DISK)) {
		snprintf(err, errlen, "%s: only a drive's socket is a vhost-user device here", id);
		return -EINVAL;
	}
	if (kind == API_HOTPLUG_NET && opt_items_find(items, "tap") < 0) {
		snprintf(err, errlen, "%s: only a tap NIC can be hot-added (host_dev_name)", id);
		return -EINVAL;
	}
	/* the items without id=: the backend adds the id (as for Cloud Hypervisor's) */
	for (size_t i = 0; i < items->n; i++)
		if (strcmp(items->v[i].key, "id") &&
		    add(out, items->v[i].key, items->v[i].value, err, errlen))
			return -ENOMEM;
	if (!vhost_user)
		return 0;
	/* checked by the --disk vhost-user= parser, as Cloud Hypervisor's body is (vu_body) */
	struct vu_opts o;
	if (vu_opts_from_items(&out->items, VU_OPTS_BLK, &o, err, errlen))
		return -EINVAL;
	out->vhost_user = true;
	return 0;
}

void api_hotplug_add_free(struct api_hotplug_add *a)
{
	opt_items_free(&a->items);
}

int api_hotplug_add_spec(const struct api_hotplug_add *a, char *buf, size_t len)
{
	bool path_first = a->kind == API_HOTPLUG_DISK && !a->vhost_user;
	return opt_items_format(&a->items, path_first ? "path" : NULL, buf, len);
}

int api_hotplug_remove_parse(const json_t *body, struct api_hotplug_remove *out, char *err,
			     size_t errlen)
{
	*out = (struct api_hotplug_remove){0};
	if (api_json_check(body, remove_fields, err, errlen))
		return -EINVAL;
	const char *id = api_json_str(body, "id", "");
	if (api_json_check_id(id, err, errlen))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", id);
	uint64_t t = api_json_uint(body, "timeout_ms", 0);
	if (json_object_get(body, "timeout_ms") && (t < 1 || t > API_HOTPLUG_MAX_TIMEOUT_MS)) {
		snprintf(err, errlen, "timeout_ms: 1 to %u", API_HOTPLUG_MAX_TIMEOUT_MS);
		return -EINVAL;
	}
	out->timeout_ms = (unsigned)t;
	return 0;
}

json_t *api_hotplug_info_json(const char *id, int slot)
{
	char bdf[32];
	snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", (unsigned)slot & 0x1f);
	return json_pack("{s:s, s:s}", "id", id, "bdf", bdf);
}
