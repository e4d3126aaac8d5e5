/* libFuzzer target: the hotplug request bodies (vmm/api/api_hotplug.c), Cloud Hypervisor's
 * DiskConfig, NetConfig, VsockConfig, PmemConfig, FsConfig and the remove body, as untrusted
 * JSON; and api_hotplug_from_items(), the record a Firecracker PUT after InstanceStart became.
 * The first byte picks the parser (% 7: disk, NIC, remove, vsock, pmem, fs, Firecracker's
 * record), the rest is the body (or, for the last, the record as option text, split at its
 * commas; the second byte picks the section and, by its bit 2, whether the body was a
 * vhost-user drive's).
 * Invariants: a refusal says why; an accepted add has record items with only the keys the body
 * parser writes, which the device's own parser then takes (virtio_blk_opts_from_items(),
 * virtio_net_opts_from_items(), ..., vu_opts_from_items() for a "vhost_user": true disk or NIC:
 * a comma in a path, a tap name, a socket, a serial or a MAC stays in its value), an id that is
 * empty or passes the API's id rule; an accepted remove has a valid id and a timeout in range;
 * the answer document is JSON with both members. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/blk/options.h"
#include "virtio/fs/fs.h"
#include "virtio/net/options.h"
#include "virtio/pmem/pmem.h"
#include "virtio/vhost_user/vu_opts.h"
#include "virtio/vsock/vsock.h"
#include "vmm/api/api_hotplug.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The add bodies, by their route (routes[]). */
enum body { BODY_DISK, BODY_NET, BODY_VSOCK, BODY_PMEM, BODY_FS };
static const char *const routes[] = {"/vmm/vm.add-disk", "/vmm/vm.add-net", "/vmm/vm.add-vsock",
				     "/vmm/vm.add-pmem", "/vmm/vm.add-fs"};

/* The items have exactly the keys the body parsers write, the first one the device's start. */
static void check_keys(const struct opt_items *l)
{
	static const char *const known[] = {
	    "ro",    "cache",  "num-queues", "serial", "bw",	    "ops", "mac",    "queues",
	    "rx-bw", "rx-ops", "tx-bw",	     "tx-ops", "id",	    "uds", "socket", "queue-size",
	    "path",  "tap",    "cid",	     "tag",    VU_OPTS_KEY, NULL};
	for (size_t i = 0; i < l->n; i++) {
		bool ok = false;
		for (int k = 0; known[k] && !ok; k++)
			ok = !strcmp(l->v[i].key, known[k]);
		FZ_ASSERT(ok, "an item key the parser did not write: %s", l->v[i].key);
	}
}

/* The device's own parser on an accepted record: it must not crash (it may refuse a value only
 * it checks, such as a MAC). */
static void reparse(enum body kind, const struct opt_items *rec, bool vu)
{
	char err[256] = "";
	FZ_ASSERT(vu == (rec->n && !strcmp(rec->v[0].key, VU_OPTS_KEY)), "vhost_user %d", vu);
	if (vu) {
		struct vu_opts o; /* the body's parser checked it with this very parser */
		FZ_ASSERT(!vu_opts_from_items(rec, kind == BODY_DISK ? VU_OPTS_BLK : VU_OPTS_NET,
					      &o, err, sizeof(err)),
			  "an accepted vhost-user body the device refuses: %s", err);
	} else if (kind == BODY_DISK) {
		struct virtio_blk_opts o;
		if (!virtio_blk_opts_from_items(rec, &o, err, sizeof(err)))
			virtio_blk_opts_free(&o);
	} else if (kind == BODY_NET) {
		struct virtio_net_opts o;
		virtio_net_opts_from_items(rec, &o, err, sizeof(err));
	} else if (kind == BODY_VSOCK) {
		struct virtio_vsock_opts o;
		FZ_ASSERT(!virtio_vsock_opts_from_items(rec, &o, err, sizeof(err)),
			  "an accepted vsock body the device refuses: %s", err);
	} else if (kind == BODY_FS) {
		struct virtio_fs_opts o;
		FZ_ASSERT(!virtio_fs_opts_from_items(rec, &o, err, sizeof(err)),
			  "an accepted fs body the device refuses: %s", err);
	} else {
		static struct virtio_pmem_opts o; /* 4 KiB of path: not on the stack */
		FZ_ASSERT(!virtio_pmem_opts_from_items(rec, &o, err, sizeof(err)),
			  "an accepted pmem body the device refuses: %s", err);
	}
}

static void add(const json_t *body, enum body kind)
{
	struct api_hotplug_add req;
	char err[256] = "";
	int r = kind == BODY_DISK    ? api_hotplug_disk_parse(body, &req, err, sizeof(err))
		: kind == BODY_NET   ? api_hotplug_net_parse(body, &req, err, sizeof(err))
		: kind == BODY_VSOCK ? api_hotplug_vsock_parse(body, &req, err, sizeof(err))
		: kind == BODY_FS    ? api_hotplug_fs_parse(body, &req, err, sizeof(err))
				     : api_hotplug_pmem_parse(body, &req, err, sizeof(err));
	if (r) {
		FZ_ASSERT(err[0], "a refusal without a reason");
		api_hotplug_add_free(&req);
		return;
	}
	FZ_ASSERT(!req.id[0] || !api_json_check_id(req.id, err, sizeof(err)), "a bad id accepted");
	const struct device_desc *own = device_table_add_route(routes[kind]);
	FZ_ASSERT(req.dev == (req.vhost_user ? device_table_hotplug_alt(own) : own),
		  "the descriptor of another parser");
	check_keys(&req.items);
	reparse(kind, &req.items, req.vhost_user);
	api_hotplug_add_free(&req);
	json_t *info = api_hotplug_info_json(req.id[0] ? req.id : "x", 31);
	FZ_ASSERT(info && json_is_string(json_object_get(info, "bdf")), "PciDeviceInfo");
	json_decref(info);
}

static void remove_body(const json_t *body)
{
	struct api_hotplug_remove req;
	char err[256] = "";
	if (api_hotplug_remove_parse(body, &req, err, sizeof(err))) {
		FZ_ASSERT(err[0], "a refusal without a reason");
		return;
	}
	FZ_ASSERT(!api_json_check_id(req.id, err, sizeof(err)), "a bad id accepted");
	FZ_ASSERT(req.timeout_ms <= API_HOTPLUG_MAX_TIMEOUT_MS, "timeout out of range");
}

/* Firecracker's hot-add: the record its device's hook made, without id= after, kind known. */
static void from_items(const uint8_t *data, size_t size)
{
	static const char *const sections[] = {"drives", "network-interfaces", "pmem", "vsock"};
	static char text[4096];
	struct api_hotplug_add req = {0};
	struct opt_items items;
	char err[256] = "";
	if (size < 1)
		return;
	size_t n = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
	memcpy(text, data + 1, n);
	text[n] = '\0';
	const char *section = sections[data[0] % 4];
	bool vu = data[0] & 4;
	if (opts_split(text, !vu && data[0] % 4 == 0 ? "path" : NULL, &items, NULL, 0))
		return;
	int r = api_hotplug_from_items(section, "fc0", &items, vu, &req, err, sizeof(err));
	opt_items_free(&items);
	if (r == -ENOENT) {
		FZ_ASSERT(!strcmp(section, "vsock"), "a hot-addable section refused as unknown");
	} else if (r) {
		FZ_ASSERT(err[0], "a refusal without a reason");
	} else {
		FZ_ASSERT(!strcmp(req.id, "fc0"), "the path's id");
		FZ_ASSERT(req.vhost_user == vu, "vhost_user not as the body said");
		FZ_ASSERT(
		    !vu || (!strcmp(section, "drives") && !strcmp(req.items.v[0].key, VU_OPTS_KEY)),
		    "a vhost-user add that is not a drive's socket");
		FZ_ASSERT(vu || opt_items_find(&req.items, VU_OPTS_KEY) < 0,
			  "a file's record read as a socket's");
		FZ_ASSERT(opt_items_find(&req.items, "id") < 0, "an id= item left");
	}
	api_hotplug_add_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (size < 1)
		return 0;
	if (data[0] % 7 == 6) {
		from_items(data + 1, size - 1);
		return 0;
	}
	json_t *body = api_json_parse((const char *)data + 1, size - 1, err, sizeof(err));
	if (!body)
		return 0;
	switch (data[0] % 7) {
	case 0:
		add(body, BODY_DISK);
		break;
	case 1:
		add(body, BODY_NET);
		break;
	case 2:
		remove_body(body);
		break;
	case 3:
		add(body, BODY_VSOCK);
		break;
	case 5:
		add(body, BODY_FS);
		break;
	default:
		add(body, BODY_PMEM);
	}
	json_decref(body);
	return 0;
}
