/* vmmctl: the devices' commands: drives (PUT / PATCH /drives/ID), network interfaces (PUT /
 * PATCH /network-interfaces/ID), both with their rate limiters, and the vsock (PUT /vsock). */
#include <errno.h>
#include <string.h>

#include "tools/vmmctl/commands.h"
#include "tools/vmmctl/rate_limit.h"

#define VSOCK_CID_MIN 3		   /* 0-2 are the hypervisor, local and host CIDs */
#define VSOCK_CID_MAX 4294967294LL /* 2^32 - 1 is VMADDR_CID_ANY */

int cmd_put_drive(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	int err = cmd_id_path(a, "/drives", a->pos[0], "PUT", r, e, n);
	if (err)
		return err;
	r->body = json_pack("{s:s, s:s, s:b, s:b}", "drive_id", a->pos[0], "path_on_host",
			    a->pos[1], "is_root_device", arg_opt(a, "root") != NULL, "is_read_only",
			    arg_opt(a, "ro") != NULL);
	return vmmctl_rate_limiter_set(r->body, "rate_limiter", a, "", e, n);
}

/* PATCH /drives/ID: another file behind the running disk, new limits, or both. */
int cmd_patch_drive(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	if (a->npos < 2 && !arg_opt(a, "bw") && !arg_opt(a, "ops"))
		return cmd_fail(e, n, "patch-drive: give a new PATH, --bw or --ops");
	int err = cmd_id_path(a, "/drives", a->pos[0], "PATCH", r, e, n);
	if (err)
		return err;
	r->body = json_pack("{s:s}", "drive_id", a->pos[0]);
	if (a->npos == 2)
		json_object_set_new(r->body, "path_on_host", json_string(a->pos[1]));
	return vmmctl_rate_limiter_set(r->body, "rate_limiter", a, "", e, n);
}

static int nic_rate_limiters(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	int err = vmmctl_rate_limiter_set(r->body, "rx_rate_limiter", a, "rx-", e, n);
	return err ? err : vmmctl_rate_limiter_set(r->body, "tx_rate_limiter", a, "tx-", e, n);
}

int cmd_put_net(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *mac = arg_opt(a, "mac");
	int err = cmd_id_path(a, "/network-interfaces", a->pos[0], "PUT", r, e, n);
	if (err)
		return err;
	r->body = json_pack("{s:s, s:s}", "iface_id", a->pos[0], "host_dev_name", a->pos[1]);
	if (mac)
		json_object_set_new(r->body, "guest_mac", json_string(mac));
	return nic_rate_limiters(a, r, e, n);
}

/* PATCH /network-interfaces/ID: new limits for the directions named, a new egress policy
 * (--egress RULE[;RULE]..., --net's egress= syntax: the VMM parses it, as one array item), or
 * none at all (--egress off: "egress": null, as PUT's; "none" is a policy allowing nothing). */
int cmd_patch_net(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *egress = arg_opt(a, "egress");
	if (!arg_opt(a, "rx-bw") && !arg_opt(a, "rx-ops") && !arg_opt(a, "tx-bw") &&
	    !arg_opt(a, "tx-ops") && !egress)
		return cmd_fail(e, n,
				"patch-net: give --rx-bw, --rx-ops, --tx-bw, --tx-ops or --egress");
	if (egress && !egress[0])
		return cmd_fail(
		    e, n,
		    "patch-net: --egress is empty (none: only what the link needs; off: "
		    "no policy)");
	int err = cmd_id_path(a, "/network-interfaces", a->pos[0], "PATCH", r, e, n);
	if (err)
		return err;
	r->body = json_pack("{s:s}", "iface_id", a->pos[0]);
	if (egress)
		json_object_set_new(r->body, "egress",
				    strcmp(egress, "off") ? json_pack("[s]", egress) : json_null());
	return nic_rate_limiters(a, r, e, n);
}

int cmd_put_vsock(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *id = arg_opt(a, "id");
	long long cid;
	if (cmd_parse_int(a->pos[0], VSOCK_CID_MIN, VSOCK_CID_MAX, &cid))
		return cmd_fail(e, n, "put-vsock: CID wants %d-%lld, not '%s'", VSOCK_CID_MIN,
				VSOCK_CID_MAX, a->pos[0]);
	if (!a->pos[1][0])
		return cmd_fail(e, n, "put-vsock: UDS_PATH is empty");
	if (id && !vmmctl_id_valid(id))
		return cmd_fail(e, n, "put-vsock: --id '%s' must be 1-64 of A-Z a-z 0-9 _ . -", id);
	cmd_set(r, "PUT", "/vsock", VIEW_NONE);
	r->body = json_pack("{s:I, s:s}", "guest_cid", (json_int_t)cid, "uds_path", a->pos[1]);
	if (id)
		json_object_set_new(r->body, "vsock_id", json_string(id));
	return 0;
}
