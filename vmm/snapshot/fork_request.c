/* PUT /vmm/fork's body: parsed, then each child's overrides checked against the parent's host
 * resources and the other children's (fork_request.h). */
#include "vmm/snapshot/fork_request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mac.h"
#include "vmm/config/vm_config.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/descriptors/device_table.h"

/* A resource a child asks for, to find it taken twice. */
enum taken_kind { T_SOCKET, T_TAP, T_DISK, T_MAC };

struct taken {
	enum taken_kind kind;
	const char *value;
	int child;
};

struct checker {
	const struct fork_parent *parent;
	struct taken taken[FORK_MAX_CHILDREN * 16];
	int ntaken;
	char *err;
	size_t errlen;
};

static int fail(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct checker *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int add_held(const struct device_claim *claim, void *opaque)
{
	struct fork_parent *p = opaque;
	if (claim->kind != DEVICE_CLAIM_PATH && claim->kind != DEVICE_CLAIM_SOCKET)
		return 0;
	if (!claim->value || !claim->value[0])
		return 0;
	if (p->nheld == FORK_MAX_HELD)
		return -E2BIG;
	struct fork_held *h = &p->held[p->nheld++];
	*h = (struct fork_held){
	    .option = claim->option,
	    .value = claim->value,
	    .tap = claim->tap,
	    .write = (claim->access & (DEVICE_PATH_WRITE | DEVICE_PATH_CREATE)) != 0};
	snprintf(h->id, sizeof(h->id), "%s", claim->id ? claim->id : "");
	return 0;
}

int fork_parent_from_config(const struct vm_config *cfg, struct fork_parent *p)
{
	memset(p, 0, sizeof(*p));
	p->api_sock = cfg->api_sock;
	/* the ids the API knows the NICs and disks by: their id=, or net<i>, drive<i> */
	p->nnics = device_save_api_ids(cfg, "network-interfaces", p->nics, FORK_MAX_IDS);
	p->ndrives = device_save_api_ids(cfg, "drives", p->drives, FORK_MAX_IDS);
	if (p->nnics < 0 || p->ndrives < 0)
		return -E2BIG;
	return device_table_claims(cfg, add_held, p);
}

/* `id` is one of `ids`. */
static bool known(const char (*ids)[64], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return true;
	return false;
}

/* The parent's resource named `value` (taps against taps, paths against paths), or NULL. */
static const struct fork_held *parent_holds(const struct fork_parent *p, const char *value,
					    bool tap)
{
	for (int i = 0; i < p->nheld; i++)
		if (p->held[i].tap == tap && !strcmp(p->held[i].value, value))
			return &p->held[i];
	return NULL;
}

/* Records that child `child` takes `value`; -EINVAL when another child took it already. */
static int take(struct checker *c, enum taken_kind kind, const char *value, int child,
		const char *what)
{
	for (int i = 0; i < c->ntaken; i++)
		if (c->taken[i].kind == kind && !strcmp(c->taken[i].value, value) &&
		    c->taken[i].child < 0)
			return fail(c, "children[%d]: %s %s is the parent's new overlay too", child,
				    what, value);
		else if (c->taken[i].kind == kind && !strcmp(c->taken[i].value, value))
			return fail(c, "children[%d]: %s %s is children[%d]'s too", child, what,
				    value, c->taken[i].child);
	if (c->ntaken == (int)(sizeof(c->taken) / sizeof(c->taken[0])))
		return fail(c, "children[%d]: too many overrides", child);
	c->taken[c->ntaken++] = (struct taken){kind, value, child};
	return 0;
}

/* A socket path of child `i` (its API socket, its vsock): nobody else's. */
static int check_socket(struct checker *c, const char *path, int i, const char *what)
{
	const struct fork_held *h = parent_holds(c->parent, path, false);
	if (!path[0])
		return fail(c, "children[%d]: %s is empty", i, what);
	if ((c->parent->api_sock && !strcmp(c->parent->api_sock, path)) || h)
		return fail(c, "children[%d]: %s %s is the parent's (%s): give the child its own",
			    i, what, path, h ? h->option : "its API socket");
	return take(c, T_SOCKET, path, i, what);
}

static int check_nic(struct checker *c, const json_t *o, int i)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"host_dev_name", API_JSON_STRING, false},
						  {"guest_mac", API_JSON_STRING, false},
						  {NULL, 0, false}};
	char why[128];
	uint8_t mac[MAC_LEN];
	if (api_json_check(o, f, why, sizeof(why)))
		return fail(c, "children[%d]: network_overrides: %s", i, why);
	const char *tap = api_json_str(o, "host_dev_name", NULL);
	const char *m = api_json_str(o, "guest_mac", NULL);
	if (!known(c->parent->nics, c->parent->nnics, api_json_str(o, "iface_id", "")))
		return fail(c, "children[%d]: network_overrides: the parent has no NIC `%.64s`", i,
			    api_json_str(o, "iface_id", ""));
	if (!tap && !m)
		return fail(c,
			    "children[%d]: network_overrides: each entry needs host_dev_name "
			    "and/or guest_mac",
			    i);
	if (m && mac_parse(m, mac, why, sizeof(why)))
		return fail(c, "children[%d]: network_overrides: %s", i, why);
	if (tap && parent_holds(c->parent, tap, true))
		return fail(c, "children[%d]: tap %s is the parent's: give the child its own tap",
			    i, tap);
	int r = tap ? take(c, T_TAP, tap, i, "tap") : 0;
	return r ? r : m ? take(c, T_MAC, m, i, "guest_mac") : 0;
}

/* The parent's disk `id` (its claim: file and whether the guest writes it), or NULL. */
static const struct fork_held *parent_disk(const struct fork_parent *p, const char *id)
{
	for (int i = 0; i < p->nheld; i++)
		if (!strcmp(p->held[i].option, "disk") && !strcmp(p->held[i].id, id))
			return &p->held[i];
	return NULL;
}

static int check_drive(struct checker *c, const json_t *o, int i)
{
	static const struct api_json_field f[] = {{"drive_id", API_JSON_STRING, true},
						  {"path_on_host", API_JSON_STRING, true},
						  {NULL, 0, false}};
	char why[128];
	if (api_json_check(o, f, why, sizeof(why)))
		return fail(c, "children[%d]: drive_overrides: %s", i, why);
	const char *id = api_json_str(o, "drive_id", "");
	const char *path = api_json_str(o, "path_on_host", "");
	const struct fork_held *mine = parent_disk(c->parent, id);
	const struct fork_held *h = parent_holds(c->parent, path, false);
	if (!known(c->parent->drives, c->parent->ndrives, id))
		return fail(c, "children[%d]: drive_overrides: the parent has no drive `%.64s`", i,
			    id);
	if (!path[0])
		return fail(c, "children[%d]: drive %s: path_on_host is empty", i, id);
	/* a read-only disk may stay shared; a written one never */
	if (h && (h->write || !mine || mine->write))
		return fail(c,
			    "children[%d]: drive %s: %s is the parent's %s: give the child its "
			    "own file (a qcow2 overlay)",
			    i, id, path, h->option);
	return mine && !mine->write ? 0 : take(c, T_DISK, path, i, "disk");
}

/* `list` (an array of objects with `key`) names `id`. */
static bool names(const json_t *list, const char *key, const char *id)
{
	size_t k;
	const json_t *o;
	json_array_foreach(list, k, o)
	{
		if (!strcmp(api_json_str(o, key, ""), id))
			return true;
	}
	return false;
}

/* Every tap, written disk and vsock socket of the parent must be replaced in the child. */
static int check_replaced(struct checker *c, const json_t *spec, int i)
{
	const json_t *nics = json_object_get(spec, "network_overrides");
	const json_t *drives = json_object_get(spec, "drive_overrides");
	size_t k;
	const json_t *o;
	for (int h = 0; h < c->parent->nheld; h++) {
		const struct fork_held *p = &c->parent->held[h];
		bool tap_ok = false;
		json_array_foreach(nics, k, o)
		{
			if (!strcmp(api_json_str(o, "iface_id", ""), p->id) &&
			    api_json_str(o, "host_dev_name", NULL))
				tap_ok = true;
		}
		if (p->tap && !tap_ok)
			return fail(c,
				    "children[%d]: NIC %s uses the parent's tap %s: give it the "
				    "child's own (network_overrides host_dev_name)",
				    i, p->id, p->value);
		if (!strcmp(p->option, "disk") && p->write && !names(drives, "drive_id", p->id))
			return fail(c,
				    "children[%d]: drive %s (%s) is written by the parent: give "
				    "the child its own file (drive_overrides)",
				    i, p->id, p->value);
		if (!strcmp(p->option, "vsock") && !json_object_get(spec, "vsock_override"))
			return fail(c,
				    "children[%d]: the vsock socket %s is the parent's: give the "
				    "child its own (vsock_override)",
				    i, p->value);
	}
	return 0;
}

/* No two entries of `list` for the same device (`key`: iface_id, drive_id). */
static int check_unique(struct checker *c, const json_t *list, const char *key, int i)
{
	size_t a, b;
	const json_t *x, *y;
	json_array_foreach(list, a, x)
	{
		json_array_foreach(list, b, y)
		{
			if (b < a && !strcmp(api_json_str(x, key, ""), api_json_str(y, key, "")))
				return fail(c, "children[%d]: %s %s given twice", i, key,
					    api_json_str(x, key, ""));
		}
	}
	return 0;
}

static int check_child(struct checker *c, const json_t *spec, int i, struct fork_child *out)
{
	static const struct api_json_field f[] = {{"api_socket", API_JSON_STRING, true},
						  {"network_overrides", API_JSON_ARRAY, false},
						  {"drive_overrides", API_JSON_ARRAY, false},
						  {"vsock_override", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	static const struct api_json_field vs[] = {{"uds_path", API_JSON_STRING, true},
						   {NULL, 0, false}};
	char why[128];
	size_t k;
	const json_t *o;
	if (api_json_check(spec, f, why, sizeof(why)))
		return fail(c, "children[%d]: %s", i, why);
	out->spec = spec;
	out->api_socket = api_json_str(spec, "api_socket", "");
	int r = check_socket(c, out->api_socket, i, "api_socket");
	json_array_foreach(json_object_get(spec, "network_overrides"), k, o)
	{
		r = r ? r : check_nic(c, o, i);
	}
	json_array_foreach(json_object_get(spec, "drive_overrides"), k, o)
	{
		r = r ? r : check_drive(c, o, i);
	}
	if (!r)
		r = check_unique(c, json_object_get(spec, "network_overrides"), "iface_id", i);
	if (!r)
		r = check_unique(c, json_object_get(spec, "drive_overrides"), "drive_id", i);
	const json_t *v = json_object_get(spec, "vsock_override");
	if (!r && v && api_json_check(v, vs, why, sizeof(why)))
		return fail(c, "children[%d]: vsock_override: %s", i, why);
	if (!r && v)
		r = check_socket(c, api_json_str(v, "uds_path", ""), i, "vsock uds_path");
	return r ? r : check_replaced(c, spec, i);
}

/* One entry of "disk_snapshots": a written disk of the parent, a new file of its own. */
static int check_snapshot(struct checker *c, const json_t *o, size_t k,
			  struct fork_disk_snapshot *s)
{
	static const struct api_json_field f[] = {{"drive_id", API_JSON_STRING, true},
						  {"parent_path", API_JSON_STRING, true},
						  {NULL, 0, false}};
	char why[128];
	if (api_json_check(o, f, why, sizeof(why)))
		return fail(c, "disk_snapshots[%zu]: %s", k, why);
	s->drive_id = api_json_str(o, "drive_id", "");
	s->parent_path = api_json_str(o, "parent_path", "");
	s->disk = -1;
	for (int i = 0; i < c->parent->ndrives; i++)
		if (!strcmp(c->parent->drives[i], s->drive_id))
			s->disk = i;
	const struct fork_held *mine = parent_disk(c->parent, s->drive_id);
	if (s->disk < 0 || !mine)
		return fail(c, "disk_snapshots[%zu]: the parent has no drive `%.64s` of its own", k,
			    s->drive_id);
	if (!mine->write)
		return fail(c,
			    "disk_snapshots[%zu]: drive %s is read-only: the children share it as "
			    "it is, there is nothing to freeze",
			    k, s->drive_id);
	if (!s->parent_path[0] || parent_holds(c->parent, s->parent_path, false))
		return fail(c,
			    "disk_snapshots[%zu]: parent_path `%s` is empty or a file the parent "
			    "holds: give a new file",
			    k, s->parent_path);
	return take(c, T_DISK, s->parent_path, -1, "disk (the parent's new overlay)");
}

static int check_snapshots(struct checker *c, const json_t *list, struct fork_request *req)
{
	size_t k;
	const json_t *o;
	if (json_array_size(list) > FORK_MAX_IDS)
		return fail(c, "disk_snapshots: at most %d", FORK_MAX_IDS);
	json_array_foreach(list, k, o)
	{
		int r = check_snapshot(c, o, k, &req->snaps[k]);
		for (size_t j = 0; !r && j < k; j++)
			if (!strcmp(req->snaps[j].drive_id, req->snaps[k].drive_id))
				r = fail(c, "disk_snapshots: drive %s given twice",
					 req->snaps[k].drive_id);
		if (r)
			return r;
		req->nsnaps++;
	}
	return 0;
}

const char *fork_child_drive_path(const struct fork_request *req, int i, const char *drive_id)
{
	size_t k;
	const json_t *o;
	json_array_foreach(json_object_get(req->children[i].spec, "drive_overrides"), k, o)
	{
		if (!strcmp(api_json_str(o, "drive_id", ""), drive_id))
			return api_json_str(o, "path_on_host", NULL);
	}
	return NULL;
}

int fork_request_parse(const json_t *body, const struct fork_parent *parent,
		       struct fork_request *req, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"state_path", API_JSON_STRING, true},
						  {"count", API_JSON_UINT, false},
						  {"children", API_JSON_ARRAY, true},
						  {"disk_snapshots", API_JSON_ARRAY, false},
						  {NULL, 0, false}};
	static struct checker c; /* large; one request at a time (the API's lock) */
	memset(req, 0, sizeof(*req));
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	c = (struct checker){.parent = parent, .err = err, .errlen = errlen};
	const json_t *children = json_object_get(body, "children");
	size_t n = json_array_size(children);
	req->state_path = api_json_str(body, "state_path", "");
	if (!req->state_path[0])
		return fail(&c, "state_path is empty");
	if (n == 0 || n > FORK_MAX_CHILDREN)
		return fail(&c, "children: 1 to %d children, not %zu", FORK_MAX_CHILDREN, n);
	if (api_json_uint(body, "count", n) != n)
		return fail(&c, "count is %llu but children has %zu entries",
			    (unsigned long long)api_json_uint(body, "count", n), n);
	req->count = (int)n;
	int r = check_snapshots(&c, json_object_get(body, "disk_snapshots"), req);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		int r = check_child(&c, json_array_get(children, i), (int)i, &req->children[i]);
		if (r)
			return r;
	}
	return 0;
}

json_t *fork_child_load_body(const struct fork_request *req, int i, const char *mem_path)
{
	const json_t *spec = req->children[i].spec;
	json_t *b = json_pack("{s:s, s:s, s:b}", "snapshot_path", req->state_path, "mem_file_path",
			      mem_path, "resume_vm", 1);
	const char *keys[] = {"network_overrides", "drive_overrides", "vsock_override"};
	for (size_t k = 0; b && k < sizeof(keys) / sizeof(keys[0]); k++) {
		json_t *v = json_object_get(spec, keys[k]);
		if (v && json_object_set(b, keys[k], v)) {
			json_decref(b);
			return NULL;
		}
	}
	return b;
}
