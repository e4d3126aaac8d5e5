/* libFuzzer target: the hotplug request bodies (vmm/api/api_hotplug.c), Cloud Hypervisor's
 * DiskConfig, NetConfig, VsockConfig, PmemConfig, FsConfig and the remove body, as untrusted
 * JSON; and api_hotplug_from_option(), the option a Firecracker PUT after InstanceStart became.
 * The first byte picks the parser (% 7: disk, NIC, remove, vsock, pmem, fs, Firecracker's
 * option), the rest is the body (or, for the last, the option text; the second byte picks the
 * section and, by its bit 2, whether the body was a vhost-user drive's).
 * Invariants: a refusal says why; an accepted add has an option argument that the device's own
 * parser then takes (virtio_blk_opts_parse(), virtio_net_opts_parse(), virtio_vsock_opts_parse(),
 * virtio_pmem_opts_parse(), vu_opts_parse() for a "vhost_user": true disk or NIC: no comma
 * smuggled in from a path, a tap name, a socket, a serial or a MAC makes a second key), an id that
 * is empty or passes the API's id rule; an accepted remove has a valid id and a timeout in range;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The option argument splits at commas into exactly the keys the parser wrote. */
static void check_keys(const char *opt)
{
	static const char *const known[] = {
	    "ro",   "cache=",  "num-queues=", "serial=",     "bw=",	    "ops=",
	    "mac=", "queues=", "rx-bw=",      "rx-ops=",     "tx-bw=",	    "tx-ops=",
	    "id=",  "uds=",    "socket=",     "num-queues=", "queue-size=", NULL};
	/* (the first item, path= or cid=, is the parser's own start) */
	const char *p = strchr(opt, ',');
	while (p) {
		p++;
		bool ok = false;
		for (int i = 0; known[i] && !ok; i++)
			ok = !strncmp(p, known[i], strlen(known[i]));
		FZ_ASSERT(ok, "an option key the parser did not write: %s", opt);
		p = strchr(p, ',');
	}
}

/* The device's own parser on an accepted option: it must not crash (it may refuse a value only
 * it checks, such as a MAC). */
static void reparse(enum api_hotplug_kind kind, const char *option, bool vu)
{
	char err[256] = "";
	/* a record that reads as vhost-user= is one (the configuration's parser dispatches so) */
	FZ_ASSERT(vu == vu_opts_is_spec(option), "vhost_user %d, option %s", vu, option);
	if (vu) {
		struct vu_opts o; /* the body's parser checked it with this very parser */
		FZ_ASSERT(!vu_opts_parse(option,
					 kind == API_HOTPLUG_DISK ? VU_OPTS_BLK : VU_OPTS_NET, &o,
					 err, sizeof(err)),
			  "an accepted vhost-user body the device refuses: %s: %s", option, err);
	} else if (kind == API_HOTPLUG_DISK) {
		struct virtio_blk_opts o;
		if (!virtio_blk_opts_parse(option, &o, err, sizeof(err)))
			virtio_blk_opts_free(&o);
	} else if (kind == API_HOTPLUG_NET) {
		struct virtio_net_opts o;
		virtio_net_opts_parse(option, &o, err, sizeof(err));
	} else if (kind == API_HOTPLUG_VSOCK) {
		struct virtio_vsock_opts o;
		FZ_ASSERT(!virtio_vsock_opts_parse(option, &o, err, sizeof(err)),
			  "an accepted vsock body the device refuses: %s: %s", option, err);
	} else if (kind == API_HOTPLUG_FS) {
		struct virtio_fs_opts o;
		FZ_ASSERT(!virtio_fs_opts_parse(option, &o, err, sizeof(err)),
			  "an accepted fs body the device refuses: %s: %s", option, err);
	} else {
		static struct virtio_pmem_opts o; /* 4 KiB of path: not on the stack */
		FZ_ASSERT(!virtio_pmem_opts_parse(option, &o, err, sizeof(err)),
			  "an accepted pmem body the device refuses: %s: %s", option, err);
	}
}

static void add(const json_t *body, enum api_hotplug_kind kind)
{
	struct api_hotplug_add req;
	char err[256] = "";
	int r = kind == API_HOTPLUG_DISK    ? api_hotplug_disk_parse(body, &req, err, sizeof(err))
		: kind == API_HOTPLUG_NET   ? api_hotplug_net_parse(body, &req, err, sizeof(err))
		: kind == API_HOTPLUG_VSOCK ? api_hotplug_vsock_parse(body, &req, err, sizeof(err))
		: kind == API_HOTPLUG_FS    ? api_hotplug_fs_parse(body, &req, err, sizeof(err))
					    : api_hotplug_pmem_parse(body, &req, err, sizeof(err));
	if (r) {
		FZ_ASSERT(err[0], "a refusal without a reason");
		return;
	}
	FZ_ASSERT(!req.id[0] || !api_json_check_id(req.id, err, sizeof(err)), "a bad id accepted");
	FZ_ASSERT(strlen(req.option) < sizeof(req.option), "option not terminated");
	FZ_ASSERT(req.kind == kind, "the kind of another parser");
	check_keys(req.option);
	reparse(kind, req.option, req.vhost_user);
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

/* Firecracker's hot-add: the option its device's hook made, without id= after, kind known. */
static void from_option(const uint8_t *data, size_t size)
{
	static const char *const sections[] = {"drives", "network-interfaces", "pmem", "vsock"};
	static char option[API_HOTPLUG_OPTION_MAX + 64];
	struct api_hotplug_add req;
	char err[256] = "";
	if (size < 1)
		return;
	size_t n = size - 1 < sizeof(option) - 1 ? size - 1 : sizeof(option) - 1;
	memcpy(option, data + 1, n);
	option[n] = '\0';
	const char *section = sections[data[0] % 4];
	int r =
	    api_hotplug_from_option(section, "fc0", option, data[0] & 4, &req, err, sizeof(err));
	if (r == -ENOENT) {
		FZ_ASSERT(!strcmp(section, "vsock"), "a hot-addable section refused as unknown");
		return;
	}
	if (r) {
		FZ_ASSERT(err[0], "a refusal without a reason");
		return;
	}
	FZ_ASSERT(!strcmp(req.id, "fc0"), "the path's id");
	FZ_ASSERT(req.vhost_user == !!(data[0] & 4), "vhost_user not as the body said");
	FZ_ASSERT(!req.vhost_user ||
		      (!strcmp(section, "drives") && !strncmp(req.option, "vhost-user=", 11)),
		  "a vhost-user add that is not a drive's socket: %s", req.option);
	FZ_ASSERT(req.vhost_user || strncmp(req.option, "vhost-user=", 11),
		  "a file path read as a socket: %s", req.option);
	for (const char *p = req.option; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		FZ_ASSERT(strncmp(p, "id=", 3), "an id= item left in %s", req.option);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (size < 1)
		return 0;
	if (data[0] % 7 == 6) {
		from_option(data + 1, size - 1);
		return 0;
	}
	json_t *body = api_json_parse((const char *)data + 1, size - 1, err, sizeof(err));
	if (!body)
		return 0;
	switch (data[0] % 7) {
	case 0:
		add(body, API_HOTPLUG_DISK);
		break;
	case 1:
		add(body, API_HOTPLUG_NET);
		break;
	case 2:
		remove_body(body);
		break;
	case 3:
		add(body, API_HOTPLUG_VSOCK);
		break;
	case 5:
		add(body, API_HOTPLUG_FS);
		break;
	default:
		add(body, API_HOTPLUG_PMEM);
	}
	json_decref(body);
	return 0;
}
