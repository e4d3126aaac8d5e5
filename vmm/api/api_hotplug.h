/* Device hotplug in the API (issue 52), with Cloud Hypervisor's routes and bodies under our
 * /vmm/ prefix: request bodies checked and turned into the device's own option argument, and
 * the answer built; pure code like api_migration.h. A body becomes the items of the device's
 * record (base/options.h), which may hold any text, commas included. Each route and its body
 * check are the device's descriptor's (device_api_ext.add_route and add_body,
 * vmm/descriptors/dev_*_api_ext.c): this file names no device. The router
 * (api_routes_hotplug.c) decides the state; the backend (control_hotplug.c, vmm/vm/hotplug.h) plugs
 * the device. The routes the devices give today:
 *
 *   PUT /vmm/vm.add-disk       Cloud Hypervisor's DiskConfig: "path" (required), "readonly",
 *                              "direct", "num_queues", "rate_limiter_config", "serial", "id",
 *                              "pci_segment" (0 only), "iommu" (false only), "queue_size"
 *                              (refused: the size is the VMM's); or "vhost_user": true with
 *                              "vhost_socket" (required), "num_queues", "queue_size", "id":
 *                              --disk vhost-user=SOCKET (vu_opts.h checks it)
 *   PUT /vmm/vm.add-net        NetConfig: "tap" (required), "mac", "num_queues" (even),
 *                              "rate_limiter_config" (both directions), "id", "mtu" (1500
 *                              only), "pci_segment" (0), "iommu" (false); or "vhost_user": true
 *                              with "vhost_socket" (required), "vhost_mode" (Client), "mac",
 *                              "num_queues", "queue_size": --net vhost-user=SOCKET
 *   PUT /vmm/vm.add-vsock      VsockConfig: "cid" (3..4294967294), "socket" (the host-side Unix
 *                              socket, as --vsock uds=), "id", "iommu" (false only),
 *                              "pci_segment" (0 only); one vsock per VM
 *   PUT /vmm/vm.add-pmem       PmemConfig: "file" (required; a multiple of 2 MiB, the whole
 *                              file is the window), "size" (the file's size, if given),
 *                              "discard_writes" (the window read-only: the guest's writes
 *                              never reach the file), "id", "iommu" (false), "pci_segment" (0)
 *   PUT /vmm/vm.add-fs         FsConfig: "tag" and "socket" (required: the virtio-fs tag and the
 *                              vhost-user back-end's socket, as --fs), "num_queues",
 *                              "queue_size" (a power of two), "id", "pci_segment" (0 only)
 *   PUT /vmm/vm.remove-device  {"id": ID, "timeout_ms"?: N (ours: how long to wait for the
 *                              guest, 1..600000, default VM_HOTPLUG_REMOVE_TIMEOUT_MS)}
 * An add answers 200 with PciDeviceInfo: {"id": ID, "bdf": "0000:00:DD.0"}; a remove, 204. */
#ifndef VMM_API_HOTPLUG_H
#define VMM_API_HOTPLUG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/options.h"
#include "vmm/vm/hotplug.h"

#define API_HOTPLUG_ID_MAX	   64
#define API_HOTPLUG_MAX_TIMEOUT_MS 600000u

struct device_desc;

/* A hot-add request. The routes and the backend never switch on its kind: they ask its
 * descriptor (dev->hotplug, whose kind is the VM's, vmm/vm/hotplug.h). */
struct api_hotplug_add {
	/* the descriptor whose record the items are: the route's (or section's), or the
	 * vhost-user one its section lists too (a "vhost_user" disk); NULL: none */
	const struct device_desc *dev;
	char id[API_HOTPLUG_ID_MAX]; /* "" when the body gave none: the backend names it */
	/* the record's items the body stands for, as --disk, --net, --vsock, --pmem, --fs or
	 * --device would give them (without id=, which the backend adds); owned:
	 * api_hotplug_add_free() after a parse, whatever it returned */
	struct opt_items items;
	uint64_t size;	 /* a pmem body's "size" (the file must have it), or 0 */
	bool vhost_user; /* a disk or NIC body with "vhost_user": true: items are vhost-user=... */
};

struct api_hotplug_remove {
	char id[API_HOTPLUG_ID_MAX];
	unsigned timeout_ms; /* 0: the default */
};

/* Frees out->items (the struct may be parsed into again). */
void api_hotplug_add_free(struct api_hotplug_add *a);
/* The items in the option's string form ("/d.img,ro", "tap=t0,mac=..."), for messages and tests.
 * 0 or -ENAMETOOLONG. */
int api_hotplug_add_spec(const struct api_hotplug_add *a, char *buf, size_t len);

/* The body of Cloud Hypervisor's add route of device `d` (device_api_ext.add_route, found
 * with device_table_add_route()), checked by the device's own hook (add_body): 0, or -EINVAL /
 * -ENOMEM with the reason in err. */
int api_hotplug_parse(const struct device_desc *d, const json_t *body, struct api_hotplug_add *out,
		      char *err, size_t errlen);
/* api_hotplug_parse() of the device whose add route is `route` ("/vmm/vm.add-disk"); -ENOENT:
 * no device has that route. */
int api_hotplug_route_parse(const char *route, const json_t *body, struct api_hotplug_add *out,
			    char *err, size_t errlen);
/* api_hotplug_route_parse() of PUT /vmm/vm.add-disk, -net, -vsock, -pmem, -fs: for tests and
 * fuzzers. */
int api_hotplug_disk_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			   size_t errlen);
int api_hotplug_net_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			  size_t errlen);
int api_hotplug_vsock_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			    size_t errlen);
int api_hotplug_pmem_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			   size_t errlen);
int api_hotplug_fs_parse(const json_t *body, struct api_hotplug_add *out, char *err, size_t errlen);
/* Firecracker's hot-add (PUT /drives/{id}, /network-interfaces/{id}, /pmem/{id} after
 * InstanceStart: a device whose descriptor has device_api_ext.fc_add_check): `items` are the
 * record the device's own API hook made of the body (device_api.to_items, with its id=ID
 * item), `section` the device's ("drives", "network-interfaces", "pmem"). Fills out with the
 * items without id= and the id. `vhost_user`: the body was a vhost-user drive's
 * (Firecracker's "socket"), so the items are its vhost-user=SOCKET record, checked by its
 * parser. 0; -ENOENT: not a kind that can be hot-added (the caller's answer stands); -EINVAL or
 * -ENOMEM with the reason in err. */
int api_hotplug_from_items(const char *section, const char *id, const struct opt_items *items,
			   bool vhost_user, struct api_hotplug_add *out, char *err, size_t errlen);
/* A hot-add of device `d` whose record is `items` (device_api.to_items of its checked document:
 * a PUT on its own route while the VM runs, device_api_ext.running_put_adds): out with the items
 * without id= and the id of its id= item ("" without). 0, or -ENOMEM with the reason in err. */
int api_hotplug_from_record(const struct device_desc *d, const struct opt_items *items,
			    struct api_hotplug_add *out, char *err, size_t errlen);
/* PUT /vmm/vm.remove-device: 0, or -EINVAL with the reason in err. */
int api_hotplug_remove_parse(const json_t *body, struct api_hotplug_remove *out, char *err,
			     size_t errlen);
/* Cloud Hypervisor's PciDeviceInfo for device `id` at bus 0 device `slot` (new reference). */
json_t *api_hotplug_info_json(const char *id, int slot);

#endif
