/* vmmctl: device hotplug (docs/hotplug.md): PUT /vmm/vm.add-disk, /vmm/vm.add-net,
 * /vmm/vm.add-vsock, /vmm/vm.add-pmem, /vmm/vm.add-fs, /vmm/vm.add-device (a passed-through
 * device, docs/vfio.md) and /vmm/vm.remove-device, with Cloud
 * Hypervisor's bodies. The VMM checks the values; vmmctl only checks the numbers. An add prints the
 * VMM's answer ({"id", "bdf"}). */
#include <errno.h>
#include <jansson.h>

#include "tools/vmmctl/commands.h"

#define MAX_TIMEOUT_MS 600000 /* vmm/api/api_hotplug.h */

/* --id ID and --num-queues N, which both adds take. */
static int common(const struct args *a, json_t *body, long long max_queues, char *e, size_t n)
{
	const char *id = arg_opt(a, "id");
	const char *queues = arg_opt(a, "num-queues");
	long long q = 0;

	if (queues && cmd_parse_int(queues, 1, max_queues, &q))
		return cmd_fail(e, n, "%s: --num-queues wants 1-%lld, not '%s'", a->cmd, max_queues,
				queues);
	if (id)
		json_object_set_new(body, "id", json_string(id));
	if (queues)
		json_object_set_new(body, "num_queues", json_integer(q));
	return 0;
}

int cmd_add_disk(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	json_t *body = json_pack("{s:s}", "path", a->pos[0]);
	if (arg_opt(a, "ro"))
		json_object_set_new(body, "readonly", json_true());
	if (arg_opt(a, "direct"))
		json_object_set_new(body, "direct", json_true());
	if (arg_opt(a, "serial"))
		json_object_set_new(body, "serial", json_string(arg_opt(a, "serial")));
	if (common(a, body, 8, e, n)) {
		json_decref(body);
		return -EINVAL;
	}
	cmd_set(r, "PUT", "/vmm/vm.add-disk", VIEW_RAW);
	r->body = body;
	return 0;
}

/* A passed-through device: PUT /vmm/vm.add-device {"path", "id"?} (the VMM checks the path). */
int cmd_add_device(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	json_t *body = json_pack("{s:s}", "path", a->pos[0]);
	const char *id = arg_opt(a, "id");
	(void)e, (void)n;
	if (id)
		json_object_set_new(body, "id", json_string(id));
	cmd_set(r, "PUT", "/vmm/vm.add-device", VIEW_RAW);
	r->body = body;
	return 0;
}

int cmd_add_net(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	json_t *body = json_pack("{s:s}", "tap", a->pos[0]);
	if (arg_opt(a, "mac"))
		json_object_set_new(body, "mac", json_string(arg_opt(a, "mac")));
	if (common(a, body, 16, e, n)) {
		json_decref(body);
		return -EINVAL;
	}
	cmd_set(r, "PUT", "/vmm/vm.add-net", VIEW_RAW);
	r->body = body;
	return 0;
}

int cmd_add_vsock(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long cid = 0;
	if (cmd_parse_int(a->pos[0], 3, 0xfffffffell, &cid))
		return cmd_fail(e, n, "%s: CID wants 3-4294967294, not '%s'", a->cmd, a->pos[0]);
	json_t *body = json_pack("{s:I, s:s}", "cid", (json_int_t)cid, "socket", a->pos[1]);
	if (arg_opt(a, "id"))
		json_object_set_new(body, "id", json_string(arg_opt(a, "id")));
	cmd_set(r, "PUT", "/vmm/vm.add-vsock", VIEW_RAW);
	r->body = body;
	return 0;
}

int cmd_add_pmem(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *size = arg_opt(a, "size");
	long long bytes = 0;
	if (size && cmd_parse_int(size, 1, 1ll << 40, &bytes))
		return cmd_fail(e, n, "%s: --size wants bytes (1 to 1 TiB), not '%s'", a->cmd,
				size);
	json_t *body = json_pack("{s:s}", "file", a->pos[0]);
	if (size)
		json_object_set_new(body, "size", json_integer(bytes));
	if (arg_opt(a, "discard-writes"))
		json_object_set_new(body, "discard_writes", json_true());
	if (arg_opt(a, "id"))
		json_object_set_new(body, "id", json_string(arg_opt(a, "id")));
	cmd_set(r, "PUT", "/vmm/vm.add-pmem", VIEW_RAW);
	r->body = body;
	return 0;
}

int cmd_add_fs(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *qsize = arg_opt(a, "queue-size");
	long long qs = 0;
	if (qsize && cmd_parse_int(qsize, 2, 1024, &qs))
		return cmd_fail(e, n, "%s: --queue-size wants 2-1024, not '%s'", a->cmd, qsize);
	json_t *body = json_pack("{s:s, s:s}", "tag", a->pos[0], "socket", a->pos[1]);
	if (qsize)
		json_object_set_new(body, "queue_size", json_integer(qs));
	if (common(a, body, 16, e, n)) { /* virtio/fs/fs.h: VIRTIO_FS_MAX_REQUEST_QUEUES */
		json_decref(body);
		return -EINVAL;
	}
	cmd_set(r, "PUT", "/vmm/vm.add-fs", VIEW_RAW);
	r->body = body;
	return 0;
}

int cmd_remove_device(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *timeout = arg_opt(a, "timeout-ms");
	long long ms = 0;

	if (timeout && cmd_parse_int(timeout, 1, MAX_TIMEOUT_MS, &ms))
		return cmd_fail(e, n, "%s: --timeout-ms wants 1-%d, not '%s'", a->cmd,
				MAX_TIMEOUT_MS, timeout);
	cmd_set(r, "PUT", "/vmm/vm.remove-device", VIEW_NONE);
	r->body = json_pack("{s:s}", "id", a->pos[0]);
	if (timeout)
		json_object_set_new(r->body, "timeout_ms", json_integer(ms));
	return 0;
}
