/* vmmctl: snapshots (Firecracker's bodies): PUT /snapshot/create of a paused VM, PUT
 * /snapshot/load into a VMM that has not started one (its RAM from a file, or served by a
 * page-fault handler: Firecracker's mem_backend Uffd), with network overrides for a clone; the
 * working set's recording stopped (PUT /vmm/working-set, ours). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/options.h"
#include "tools/vmmctl/commands.h"

#define OVERRIDE_MAX  128 /* an iface id, a tap name (15) and a MAC (17) fit with room */
#define OVERRIDE_FORM "IFACE,tap=TAP[,mac=MAC] or IFACE,mac=MAC"

int cmd_snapshot_create(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *type = arg_opt(a, "type");
	if (!type || strcasecmp(type, "Full") == 0)
		type = "Full";
	else if (strcasecmp(type, "Diff") == 0)
		type = "Diff";
	else
		return cmd_fail(e, n, "snapshot-create: --type wants Full or Diff, not '%s'", type);
	cmd_set(r, "PUT", "/snapshot/create", VIEW_NONE);
	r->body = json_pack("{s:s, s:s, s:s}", "snapshot_type", type, "snapshot_path", a->pos[0],
			    "mem_file_path", a->pos[1]);
	return 0;
}

/* The API's member for an override item: tap= -> host_dev_name, mac= -> guest_mac. */
static const char *override_key(const char *item)
{
	if (strcmp(item, "tap") == 0)
		return "host_dev_name";
	if (strcmp(item, "mac") == 0)
		return "guest_mac";
	return NULL;
}

/* One "KEY=VALUE" item of a --net override into `o`. */
static int override_item(json_t *o, const struct opt_item *it, const char *spec, char *e, size_t n)
{
	const char *key = it->value ? override_key(it->key) : NULL;
	if (!key || !it->value[0])
		return cmd_fail(e, n, "snapshot-load: --net '%s': expected " OVERRIDE_FORM, spec);
	if (json_object_get(o, key))
		return cmd_fail(e, n, "snapshot-load: --net '%s': %s= given twice", spec, it->key);
	json_object_set_new(o, key, json_string(it->value));
	return 0;
}

/* "IFACE[,tap=TAP][,mac=MAC]" (at least one of tap and mac; an option string, a comma in a value
 * written ",,": base/options.h) -> {"iface_id", "host_dev_name"?, "guest_mac"?}; the VMM checks
 * the tap and the MAC. */
static int override_json(const char *spec, json_t **out, char *e, size_t n)
{
	struct opt_items l;
	*out = NULL;
	if (strlen(spec) >= OVERRIDE_MAX)
		return cmd_fail(e, n, "snapshot-load: --net '%.40s...' is too long", spec);
	int err = opts_split(spec, "iface", &l, NULL, 0);
	if (err == -ENOMEM)
		return cmd_fail(e, n, "snapshot-load: out of memory");
	if (err || l.n < 2 || !vmmctl_id_valid(l.v[0].value)) {
		opt_items_free(&l);
		return cmd_fail(e, n, "snapshot-load: --net '%s': expected " OVERRIDE_FORM, spec);
	}
	json_t *o = json_pack("{s:s}", "iface_id", l.v[0].value);
	err = o ? 0 : cmd_fail(e, n, "snapshot-load: out of memory");
	for (size_t i = 1; !err && i < l.n; i++)
		err = override_item(o, &l.v[i], spec, e, n);
	opt_items_free(&l);
	if (err)
		json_decref(o);
	else
		*out = o;
	return err;
}

static int network_overrides(const struct args *a, json_t *body, char *e, size_t n)
{
	json_t *list = json_array(), *o;
	int err = list ? 0 : cmd_fail(e, n, "snapshot-load: out of memory");
	for (int i = 0; !err && i < a->nrep; i++) {
		err = override_json(a->rep[i], &o, e, n);
		if (!err)
			json_array_append_new(list, o);
	}
	if (!err)
		json_object_set(body, "network_overrides", list);
	json_decref(list);
	return err;
}

int cmd_snapshot_load(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	cmd_set(r, "PUT", "/snapshot/load", VIEW_NONE);
	bool resume = arg_opt(a, "resume") != NULL;
	if (arg_opt(a, "uffd")) /* MEM names the page-fault handler's socket (docs/snapshots.md) */
		r->body = json_pack("{s:s, s:{s:s, s:s}, s:b}", "snapshot_path", a->pos[0],
				    "mem_backend", "backend_type", "Uffd", "backend_path",
				    a->pos[1], "resume_vm", resume);
	else
		r->body = json_pack("{s:s, s:s, s:b}", "snapshot_path", a->pos[0], "mem_file_path",
				    a->pos[1], "resume_vm", resume);
	if (arg_opt(a, "clock-realtime") &&
	    r->body) /* the guest clock moves on by the time since */
		json_object_set_new(r->body, "clock_realtime", json_true());
	const char *ws = arg_opt(a, "working-set"); /* load, off or record: the VMM checks it */
	if (ws && r->body)
		json_object_set_new(r->body, "working_set", json_string(ws));
	const char *ms = arg_opt(a, "working-set-ms"); /* with record: the VMM stops it then */
	long long v;
	if (ms && cmd_parse_int(ms, 1, 3600000, &v))
		return cmd_fail(e, n, "snapshot-load: --working-set-ms wants 1-3600000, not '%s'",
				ms);
	if (ms && r->body)
		json_object_set_new(r->body, "working_set_record_ms", json_integer(v));
	return a->nrep && r->body ? network_overrides(a, r->body, e, n) : 0;
}

/* PUT /vmm/working-set: the recording a load with --working-set record started, written. */
int cmd_working_set_stop(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	cmd_set(r, "PUT", "/vmm/working-set", VIEW_RAW);
	r->body = json_pack("{s:s}", "action", "stop");
	return 0;
}
