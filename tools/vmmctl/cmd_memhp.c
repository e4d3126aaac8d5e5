/* vmmctl: memory hotplug and pmem (Firecracker's bodies): GET / PUT / PATCH /hotplug/memory and
 * PUT /pmem/ID. The VMM checks the sizes (Firecracker's rules); vmmctl only checks that they are
 * numbers. */
#include <errno.h>

#include "tools/vmmctl/commands.h"

#define MAX_MIB (1LL << 20) /* the VMM's limit: 1 TiB */

static int mib_arg(const struct args *a, const char *what, const char *s, long long min,
		   long long *v, char *e, size_t n)
{
	if (cmd_parse_int(s, min, MAX_MIB, v))
		return cmd_fail(e, n, "%s: %s wants MiB %lld-%lld, not '%s'", a->cmd, what, min,
				MAX_MIB, s);
	return 0;
}

int cmd_hotplug(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	cmd_set(r, "GET", "/hotplug/memory", VIEW_RAW);
	return 0;
}

/* PUT /hotplug/memory: block and slot sizes only when given (the VMM's defaults: 2 and 128). */
int cmd_put_hotplug(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *block = arg_opt(a, "block-mib"), *slot = arg_opt(a, "slot-mib");
	long long total, b = 0, s = 0;

	if (mib_arg(a, "TOTAL_MIB", a->pos[0], 1, &total, e, n) ||
	    (block && mib_arg(a, "--block-mib", block, 1, &b, e, n)) ||
	    (slot && mib_arg(a, "--slot-mib", slot, 1, &s, e, n)))
		return -EINVAL;
	cmd_set(r, "PUT", "/hotplug/memory", VIEW_NONE);
	r->body = json_pack("{s:I}", "total_size_mib", (json_int_t)total);
	if (block)
		json_object_set_new(r->body, "block_size_mib", json_integer(b));
	if (slot)
		json_object_set_new(r->body, "slot_size_mib", json_integer(s));
	return 0;
}

int cmd_patch_hotplug(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long mib;

	if (mib_arg(a, "REQUESTED_MIB", a->pos[0], 0, &mib, e, n))
		return -EINVAL;
	cmd_set(r, "PATCH", "/hotplug/memory", VIEW_NONE);
	r->body = json_pack("{s:I}", "requested_size_mib", (json_int_t)mib);
	return 0;
}

int cmd_put_pmem(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	int err = cmd_id_path(a, "/pmem", a->pos[0], "PUT", r, e, n);

	if (err)
		return err;
	r->body = json_pack("{s:s, s:s, s:b, s:b}", "id", a->pos[0], "path_on_host", a->pos[1],
			    "root_device", arg_opt(a, "root") != NULL, "read_only",
			    arg_opt(a, "ro") != NULL);
	return 0;
}
