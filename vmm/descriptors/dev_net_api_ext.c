/* A NIC added to a running VM through the API (device_api.ext): Cloud Hypervisor's PUT
 * /vmm/vm.add-net body (NetConfig: "tap", "mac", "num_queues" (even), "rate_limiter_config"
 * (both directions), "id", "mtu" 1500, "pci_segment" 0, "iommu" false; or "vhost_user": true with
 * "vhost_socket", "vhost_mode" Client: --net vhost-user=), Firecracker's hot-add of a NIC, and
 * the tap a PUT /network-interfaces names, which must exist; MMDS on a NIC, a NIC given with
 * --restore (another tap for the snapshot's), and libslirp loaded before the sandbox. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "virtio/net/egress.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_net.h"
#ifdef HAVE_LIBSLIRP
#include "virtio/net/slirp_api.h"
#endif

#define MAX_QUEUES 16 /* CH's num_queues for a NIC counts both directions: 8 pairs */

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

/* The tap's NIC: its MAC, its queue pairs, its MTU. */
static int tap_members(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	const char *mac = api_json_str(body, "mac", NULL);
	if (mac &&
	    (dev_hot_safe("mac", mac, err, errlen) || dev_hot_add(out, "mac", mac, err, errlen)))
		return -EINVAL;
	uint64_t q = api_json_uint(body, "num_queues", 2);
	if (q < 2 || q > MAX_QUEUES || q % 2) {
		snprintf(err, errlen,
			 "num_queues: an even number from 2 to %d (a receive and a "
			 "transmit queue per pair)",
			 MAX_QUEUES);
		return -EINVAL;
	}
	if (q > 2 && dev_hot_add_num(out, "queues", q / 2, err, errlen))
		return -EINVAL;
	if (json_object_get(body, "mtu") && api_json_uint(body, "mtu", 0) != 1500) {
		snprintf(err, errlen, "mtu: only 1500 (virtio-net here advertises 1500)");
		return -EINVAL;
	}
	return 0;
}

static int add_body(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	if (api_json_check(body, net_fields, err, errlen) ||
	    dev_hot_common(body, out, false, err, errlen))
		return -EINVAL;
	if (api_json_bool(body, "vhost_user", false))
		return dev_hot_vu_body(body, out, false, err, errlen);
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
	if (dev_hot_safe("tap", tap, err, errlen) || dev_hot_add(out, "tap", tap, err, errlen))
		return -EINVAL;
	if (tap_members(body, out, err, errlen))
		return -EINVAL;
	/* Cloud Hypervisor's one limiter applies to each direction */
	if (dev_hot_rate_limits(body, out, "rx-", err, errlen) ||
	    dev_hot_rate_limits(body, out, "tx-", err, errlen))
		return -EINVAL;
	return 0;
}

static int fc_add_check(const char *id, const struct opt_items *items, bool vhost_user, char *err,
			size_t errlen)
{
	if (dev_hot_fc_common(id, items, vhost_user, false, err, errlen))
		return -EINVAL;
	if (opt_items_find(items, "tap") < 0) {
		snprintf(err, errlen, "%s: only a tap NIC can be hot-added (host_dev_name)", id);
		return -EINVAL;
	}
	return 0;
}

/* A PUT opens the NIC's tap, as Firecracker does; a vhost-user NIC (a "socket") is not looked
 * at: its back-end may start after the PUT (docs/vhost-user.md). */
static bool checked_at_put(const json_t *doc)
{
	return !json_object_get(doc, "socket");
}

/* A NIC's tap exists and is a tun/tap device (sysfs has its tun_flags). Where /sys/class/net
 * cannot be seen (a jail without /sys) the tap's open decides alone. Firecracker does not make
 * one (where it has the capability to, the TUNSETIFF it opens the tap with would, so a missing
 * tap is looked for first). */
static int tap_exists(const char *name, char *err, size_t errlen)
{
	char path[128];
	struct stat st;

	if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".") ||
	    stat("/sys/class/net", &st))
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/%.64s", name);
	if (stat(path, &st)) {
		snprintf(err, errlen,
			 "host_dev_name `%s`: no such network interface (create the tap first, "
			 "e.g. ip tuntap add %s mode tap)",
			 name, name);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%.64s/tun_flags", name);
	if (stat(path, &st)) {
		snprintf(err, errlen, "host_dev_name `%s` is not a tap device", name);
		return -ENODEV;
	}
	return 0;
}

/* The taps of the NICs in `cfg` (a NIC on user-mode networking has none). */
static int put_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < dev_net_count(cfg); i++) {
		const struct virtio_net_opts *o = dev_net_opts(cfg, i);
		int r = o->kind == VIRTIO_NET_TAP ? tap_exists(o->ifname, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}

/* A PATCH's egress policy, kept for the caller on this thread (6 KiB: not on the API thread's
 * stack). */
static int patch_egress(const json_t *list, const struct egress_rules **rules, char *err,
			size_t errlen)
{
	static _Thread_local struct egress_rules kept;
	*rules = &kept;
	return dev_net_api_parse_egress(list, &kept, err, errlen);
}

/* NIC i answers MMDS (a vhost-user NIC has no place among the NICs: none). */
static void mmds_attach(struct vm_config *cfg, int i, struct mmds *mmds, uint32_t ipv4)
{
	struct virtio_net_opts *nic = dev_net_opts_edit(cfg, i);
	if (!nic)
		return;
	nic->mmds = mmds;
	nic->mmds_ipv4 = ipv4;
}

/* NIC i given with --restore: its tap (and MAC, if given) replaces the snapshot's NIC's in the
 * same place. */
static int restore_given(const struct vm_config *cfg, int i, struct device_restore_given *out)
{
	const struct virtio_net_opts *o = dev_net_opts(cfg, i);
	const uint8_t *m = o->mac;

	if (o->kind != VIRTIO_NET_TAP) {
		log_error("--restore: --net must name a tap (tap=NAME)");
		return -EINVAL;
	}
	out->tap = o->ifname;
	if (o->has_mac)
		snprintf(out->mac, sizeof(out->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			 m[2], m[3], m[4], m[5]);
	return 0;
}

#ifdef HAVE_LIBSLIRP
/* A VM the API builds later with a user-mode NIC (PUT /snapshot/load of a VM with --net user)
 * loads libslirp in the broker, whose filter allows no executable mapping: so it is loaded
 * before any thread is confined (~0.4 ms). A missing library is reported when a NIC needs it. */
static void preload(void)
{
	char why[256];
	(void)slirp_api_load(why, sizeof(why));
}
#endif

const struct device_api_ext dev_net_api_ext = {
    .live_by_doc = true,
    .add_route = "/vmm/vm.add-net",
    .add_body = add_body,
    .fc_add_check = fc_add_check,
    .checked_at_put = checked_at_put,
    .put_check = put_check,
    .patch_egress = patch_egress,
    .egress_json = dev_net_api_egress_json,
    .mmds_attach = mmds_attach,
    .restore_given = restore_given,
#ifdef HAVE_LIBSLIRP
    .preload = preload,
#endif
    .patch = &dev_net_patch,
};
