/* What the devices' add bodies share (dev_hot_body.h). */
#include "vmm/descriptors/dev_hot_body.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/vhost_user/vu_opts.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"

int dev_hot_add(struct device_hot_body *out, const char *key, const char *value, char *err,
		size_t errlen)
{
	if (!opt_items_add(out->items, key, value))
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int dev_hot_add_num(struct device_hot_body *out, const char *key, unsigned long long n, char *err,
		    size_t errlen)
{
	char v[24];
	snprintf(v, sizeof(v), "%llu", n);
	return dev_hot_add(out, key, v, err, errlen);
}

int dev_hot_safe(const char *what, const char *s, char *err, size_t errlen)
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

int dev_hot_item(const char *what, const char *s, size_t max, char *err, size_t errlen)
{
	if (dev_hot_safe(what, s, err, errlen))
		return -EINVAL;
	if (strlen(s) > max) {
		snprintf(err, errlen, "%s: at most %zu bytes", what, max);
		return -EINVAL;
	}
	return 0;
}

int dev_hot_common(const json_t *body, struct device_hot_body *out, bool queue_size, char *err,
		   size_t errlen)
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
	if (!vu && !queue_size && json_object_get(body, "queue_size")) {
		snprintf(err, errlen, "queue_size: the queue size is the VMM's (256)");
		return -EINVAL;
	}
	const char *id = api_json_str(body, "id", NULL);
	if (id && api_json_check_id(id, err, errlen))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
	return 0;
}

int dev_hot_rate_limits(const json_t *body, struct device_hot_body *out, const char *prefix,
			char *err, size_t errlen)
{
	struct rate_limiter_cfg rl;
	if (api_rate_limiter_parse(json_object_get(body, "rate_limiter_config"),
				   "rate_limiter_config", &rl, err, errlen))
		return -EINVAL;
	if (!api_rate_limiter_items(out->items, prefix, &rl))
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Members a vhost-user device's body cannot have: its back-end decides what they would (the
 * disk's file, mode, cache and serial, the NIC's tap) or its requests bypass the VMM (limits). */
static int vu_refused_members(const json_t *body, bool blk, char *err, size_t errlen)
{
	static const char *const blk_members[] = {
	    "path", "readonly", "direct", "serial", "rate_limiter_config", NULL};
	static const char *const net_members[] = {"tap", "rate_limiter_config", NULL};
	for (const char *const *m = blk ? blk_members : net_members; *m; m++) {
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

/* The members after the socket: a MAC, the queues, a NIC's MTU. */
static int vu_members(const json_t *body, struct device_hot_body *out, bool blk, char *err,
		      size_t errlen)
{
	const char *mac = api_json_str(body, "mac", NULL);
	if (mac &&
	    (dev_hot_safe("mac", mac, err, errlen) || dev_hot_add(out, "mac", mac, err, errlen)))
		return -EINVAL;
	if (json_object_get(body, "num_queues") &&
	    dev_hot_add_num(out, "num-queues", api_json_uint(body, "num_queues", 0), err, errlen))
		return -EINVAL;
	if (json_object_get(body, "queue_size") &&
	    dev_hot_add_num(out, "queue-size", api_json_uint(body, "queue_size", 0), err, errlen))
		return -EINVAL;
	if (!blk && json_object_get(body, "mtu") && api_json_uint(body, "mtu", 0) != 1500) {
		snprintf(err, errlen, "mtu: only 1500");
		return -EINVAL;
	}
	return 0;
}

int dev_hot_vu_body(const json_t *body, struct device_hot_body *out, bool blk, char *err,
		    size_t errlen)
{
	if (vu_refused_members(body, blk, err, errlen))
		return -EINVAL;
	const char *socket = api_json_str(body, "vhost_socket", NULL);
	if (!socket) {
		snprintf(err, errlen, "vhost_socket: required with \"vhost_user\": true");
		return -EINVAL;
	}
	if (dev_hot_item("vhost_socket", socket, sizeof(((struct vu_opts *)0)->socket) - 1, err,
			 errlen) ||
	    dev_hot_add(out, VU_OPTS_KEY, socket, err, errlen))
		return -EINVAL;
	if (vu_members(body, out, blk, err, errlen))
		return -EINVAL;
	struct vu_opts o;
	if (vu_opts_from_items(out->items, blk ? VU_OPTS_BLK : VU_OPTS_NET, &o, err, errlen))
		return -EINVAL;
	out->owner = device_table_hotplug_alt(out->owner);
	return 0;
}

int dev_hot_fc_common(const char *id, const struct opt_items *items, bool vhost_user,
		      bool vu_allowed, char *err, size_t errlen)
{
	if (opt_items_find(items, "root") >= 0) {
		snprintf(err, errlen, "%s: a root device cannot be added to a running VM", id);
		return -EINVAL;
	}
	bool vu_items = opt_items_find(items, VU_OPTS_KEY) >= 0;
	if (vhost_user != vu_items || (vhost_user && !vu_allowed)) {
		snprintf(err, errlen, "%s: only a drive's socket is a vhost-user device here", id);
		return -EINVAL;
	}
	return 0;
}
