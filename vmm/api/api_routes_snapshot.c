/* Moving and saving the VM: PUT /snapshot/create and /snapshot/load (Firecracker's bodies), and
 * ours: PUT /vmm/send-migration, /vmm/receive-migration, /vmm/migration/cancel, GET
 * /vmm/migration (api_migration.h). See api_router.h. */
#include <errno.h>
#include <string.h>

#include "base/host_path.h"
#include "vmm/api/api_router_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/snapshot/format/snap_uffd.h"
#include "vmm/snapshot/working_set.h"
#include "vmm/snapshot/working_set_stop.h"

/* ---- live migration (api_migration.h) ---- */

#define NO_MIGRATION "live migration is not available in this VMM"

static void put_send_migration(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_send_migration p;
	(void)id;
	if (api_migration_send_parse(body, &p, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r))
		return;
	if (!a->ops->migrate_send) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_send(a->ctx, &p, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot start the migration");
	else
		r->status = 204;
}

static void get_migration(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct mig_progress p;
	char why[API_FAULT_MAX] = "";
	(void)id, (void)body;
	if (!a->ops->migrate_progress) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_progress(a->ctx, &p, why, sizeof(why));
	if (err == -ENOENT)
		fault(r, 400, "no migration was started", NULL);
	else if (err)
		backend_fault(r, err, "cannot read the migration's progress");
	else
		r->doc = api_migration_progress_json(&p, why);
}

static void put_migration_cancel(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!a->ops->migrate_cancel) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_cancel(a->ctx);
	if (err == -ENOENT)
		fault(r, 400, "no migration is running", NULL);
	else if (err)
		backend_fault(r, err, "cannot cancel the migration");
	else
		r->status = 204;
}

static void put_receive_migration(struct api *a, const char *id, const json_t *body,
				  struct reply *r)
{
	const char *url;
	(void)id;
	if (api_migration_receive_parse(body, &url, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!before_start(a, r))
		return;
	if (!a->ops->migrate_receive) {
		fault(r, 400, NO_MIGRATION, NULL);
		return;
	}
	int err = a->ops->migrate_receive(a->ctx, url, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "the migration did not arrive");
		return;
	}
	a->state = API_RUNNING;
	r->status = 204;
}

/* ---- snapshots (Firecracker's bodies) ---- */

/* Rule 7 of base/host_path.h, before any work: each file a create writes is renamed (a Diff's
 * memory file written into) only where a regular file or nothing is. A device node, a FIFO,
 * another VMM's API socket, a directory or a link there is a 400 that names the field, the path
 * and its kind, and the node stays as it was. */
static bool snapshot_targets_ok(const char *state, const char *mem, struct reply *r)
{
	const char *field[2] = {"snapshot_path", "mem_file_path"}, *path[2] = {state, mem};
	char why[HOST_PATH_ERR_MAX];

	for (int i = 0; i < 2; i++) {
		if (host_path_replace_check(path[i], why, sizeof(why)) == 0)
			continue;
		r->status = 400;
		snprintf(r->err, sizeof(r->err), "%s %s", field[i], why);
		return false;
	}
	if (!strcmp(state, mem)) {
		fault(r, 400, "snapshot_path and mem_file_path name the same file (%s)", state);
		return false;
	}
	return true;
}

static void put_snapshot_create(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"snapshot_type", API_JSON_STRING, false},
						  {"snapshot_path", API_JSON_STRING, true},
						  {"mem_file_path", API_JSON_STRING, true},
						  {"version", API_JSON_STRING, false},
						  {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	const char *type = api_json_str(body, "snapshot_type", "Full");
	bool diff = !strcmp(type, "Diff");
	if (!diff && strcmp(type, "Full")) {
		fault(r, 400, "snapshot_type must be Full or Diff, not `%s`", type);
		return;
	}
	if (!after_start(a, r))
		return;
	if (a->state != API_PAUSED) {
		fault(r, 400, "Cannot create a snapshot of a running microVM: pause it first.",
		      NULL);
		return;
	}
	const char *state = api_json_str(body, "snapshot_path", "");
	const char *mem = api_json_str(body, "mem_file_path", "");
	if (!snapshot_targets_ok(state, mem, r))
		return;
	int err = a->ops->snapshot_create(a->ctx, state, mem, diff, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot create the snapshot");
	else
		r->status = 204;
}

/* "mem_file_path", or Firecracker's newer {"mem_backend": {"backend_type": "File" or "Uffd",
 * "backend_path": ...}}; a Uffd path must name a Unix socket now (*uffd set). */
static const char *load_mem_path(const json_t *body, bool *uffd, struct reply *r)
{
	static const struct api_json_field f[] = {{"backend_type", API_JSON_STRING, true},
						  {"backend_path", API_JSON_STRING, true},
						  {NULL, 0, false}};
	const json_t *be = json_object_get(body, "mem_backend");
	const char *path = api_json_str(body, "mem_file_path", NULL);

	if (!!be == !!path) {
		fault(r, 400, "give either mem_file_path or mem_backend", NULL);
		return NULL;
	}
	if (!be)
		return path;
	if (api_json_check(be, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return NULL;
	}
	const char *type = api_json_str(be, "backend_type", "");
	path = api_json_str(be, "backend_path", NULL);
	*uffd = !strcmp(type, "Uffd");
	if (!*uffd && strcmp(type, "File")) {
		fault(r, 400, "mem_backend: backend_type must be File or Uffd, not `%.32s`", type);
		return NULL;
	}
	if (*uffd && snap_uffd_check_path(path, r->err, sizeof(r->err))) {
		r->status = 400;
		return NULL;
	}
	return path;
}

#define API_NIC_OVERRIDE_LEN 96 /* "tap=" IFNAMSIZ (its commas doubled) ",mac=" 17, and more */

/* One network_overrides entry as a NIC override: "tap=NAME", "mac=MAC" or both (the MAC is
 * checked when the snapshot is opened). Returns false (400) when it has neither or is too long. */
static bool nic_override(const json_t *o, char *out, size_t len, struct reply *r)
{
	const char *tap = api_json_str(o, "host_dev_name", NULL);
	const char *mac = api_json_str(o, "guest_mac", NULL);

	if ((!tap && !mac) || snapshot_nic_override_spec(tap, mac, out, len)) {
		fault(r, 400,
		      "network_overrides: each entry needs host_dev_name (a tap name) and/or "
		      "guest_mac",
		      NULL);
		return false;
	}
	return true;
}

/* network_overrides: [{"iface_id": ID, "host_dev_name"?: TAP, "guest_mac"?: MAC}] -> ov[]
 * (specs built in bufs[]); snapshot_open() finds each NIC by its id. The count, or -1 (400). */
static int load_taps(const json_t *body, struct snapshot_nic_override *ov,
		     char (*bufs)[API_NIC_OVERRIDE_LEN], struct reply *r)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"host_dev_name", API_JSON_STRING, false},
						  {"guest_mac", API_JSON_STRING, false},
						  {NULL, 0, false}};
	const json_t *list = json_object_get(body, "network_overrides");
	size_t i;
	json_t *o;

	if (json_array_size(list) > API_MAX_NICS) {
		fault(r, 400, "network_overrides: more entries than a VM has NICs%s", NULL);
		return -1;
	}
	json_array_foreach(list, i, o)
	{
		if (api_json_check(o, f, r->err, sizeof(r->err))) {
			r->status = 400;
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(ov[k].id, api_json_str(o, "iface_id", ""))) {
				fault(r, 400, "network_overrides: iface_id `%.64s` given twice",
				      ov[k].id);
				return -1;
			}
		}
		if (!nic_override(o, bufs[i], API_NIC_OVERRIDE_LEN, r))
			return -1;
		ov[i] = (struct snapshot_nic_override){.id = api_json_str(o, "iface_id", ""),
						       .spec = bufs[i]};
	}
	return (int)json_array_size(list);
}

/* drive_overrides: [{"drive_id": ID, "path_on_host": PATH}] and Firecracker's vsock_override:
 * {"uds_path": PATH} -> ov[]: other files for the snapshot's drives (found by their drive_id) and
 * its vsock, which the restore may open (vmm/snapshot/restore_paths.h). The count, or -1 (400). */
static int load_paths(const json_t *body, struct snapshot_path_override *ov, struct reply *r)
{
	static const struct api_json_field drive[] = {{"drive_id", API_JSON_STRING, true},
						      {"path_on_host", API_JSON_STRING, true},
						      {NULL, 0, false}};
	static const struct api_json_field vsock[] = {{"uds_path", API_JSON_STRING, true},
						      {NULL, 0, false}};
	const json_t *list = json_object_get(body, "drive_overrides");
	const json_t *vs = json_object_get(body, "vsock_override");
	size_t i;
	json_t *o;

	if (json_array_size(list) > API_MAX_DRIVES) {
		fault(r, 400, "drive_overrides: more entries than a VM has drives%s", NULL);
		return -1;
	}
	json_array_foreach(list, i, o)
	{
		if (api_json_check(o, drive, r->err, sizeof(r->err))) {
			r->status = 400;
			return -1;
		}
		ov[i] =
		    (struct snapshot_path_override){.option = "disk",
						    .id = api_json_str(o, "drive_id", ""),
						    .path = api_json_str(o, "path_on_host", "")};
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(ov[k].id, ov[i].id)) {
				fault(r, 400, "drive_overrides: drive_id `%.64s` given twice",
				      ov[k].id);
				return -1;
			}
		}
	}
	if (!vs || json_is_null(vs))
		return (int)i;
	if (api_json_check(vs, vsock, r->err, sizeof(r->err))) {
		r->status = 400;
		return -1;
	}
	ov[i] = (struct snapshot_path_override){
	    .option = "vsock", .id = "", .path = api_json_str(vs, "uds_path", "")};
	return (int)i + 1;
}

/* Firecracker's newer snapshot-load fields into *p: what this VMM can honour is taken, the
 * rest is refused with the reason. track_dirty_pages is enable_diff_snapshots' newer name;
 * either asks for dirty-page logging, and without them the restored VM does not log (as in
 * Firecracker, whatever the snapshotted VM did). clock_realtime is checked at restore, where the
 * snapshot's clock and the host's KVM are known (kvm_vm_restore()). */
static bool load_extras_ok(const json_t *body, struct api_snapshot_load *p, struct reply *r)
{
	const char *huge = api_json_str(body, "huge_pages", "Snapshot");
	bool track = api_json_bool(body, "track_dirty_pages", false) ||
		     api_json_bool(body, "enable_diff_snapshots", false);

	p->track_dirty = track ? API_LOAD_ON : API_LOAD_OFF;
	p->thp = !strcmp(huge, "None")		? API_LOAD_OFF
		 : !strcmp(huge, "Transparent") ? API_LOAD_ON
						: API_LOAD_AS_SAVED;
	p->clock_realtime = api_json_bool(body, "clock_realtime", false);
	if (!strcmp(huge, "2M"))
		fault(r, 400,
		      "huge_pages 2M cannot be honoured on snapshot load: guest memory is mapped "
		      "from the memory file, not from hugetlbfs; use Snapshot, None or Transparent",
		      NULL);
	else if (strcmp(huge, "Snapshot") && p->thp == API_LOAD_AS_SAVED)
		fault(r, 400, "huge_pages must be Snapshot, None, Transparent or 2M, not `%.16s`",
		      huge);
	return !r->status;
}

/* "working_set_record_ms": 1..WS_RECORD_MS_MAX, with "working_set": "record" only. False when
 * refused (r says why). */
static bool load_record_ms(const json_t *body, struct api_snapshot_load *p, struct reply *r)
{
	if (!json_object_get(body, "working_set_record_ms"))
		return true;
	p->working_set_record_ms = api_json_uint(body, "working_set_record_ms", 0);
	if (p->working_set != WS_RECORD) {
		fault(r, 400, "working_set_record_ms needs \"working_set\": \"record\"", NULL);
		return false;
	}
	if (p->working_set_record_ms == 0 || p->working_set_record_ms > WS_RECORD_MS_MAX) {
		snprintf(r->err, sizeof(r->err), "working_set_record_ms must be from 1 to %u",
			 WS_RECORD_MS_MAX);
		r->status = 400;
		return false;
	}
	return true;
}

static void put_snapshot_load(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"snapshot_path", API_JSON_STRING, true},
						  {"mem_file_path", API_JSON_STRING, false},
						  {"mem_backend", API_JSON_OBJECT, false},
						  {"resume_vm", API_JSON_BOOL, false},
						  {"enable_diff_snapshots", API_JSON_BOOL, false},
						  {"network_overrides", API_JSON_ARRAY, false},
						  {"track_dirty_pages", API_JSON_BOOL, false},
						  {"vsock_override", API_JSON_OBJECT, false},
						  {"clock_realtime", API_JSON_BOOL, false},
						  {"huge_pages", API_JSON_STRING, false},
						  {"drive_overrides", API_JSON_ARRAY, false},
						  {"working_set", API_JSON_STRING, false},
						  {"working_set_record_ms", API_JSON_UINT, false},
						  {NULL, 0, false}};
	struct snapshot_nic_override taps[API_MAX_NICS];
	struct snapshot_path_override paths[API_MAX_DRIVES + 1];
	char bufs[API_MAX_NICS][API_NIC_OVERRIDE_LEN];
	struct api_snapshot_load p = {.nics = taps, .paths = paths};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	p.mem_path = load_extras_ok(body, &p, r) ? load_mem_path(body, &p.uffd, r) : NULL;
	p.nnics = p.mem_path ? load_taps(body, taps, bufs, r) : -1;
	p.npaths = p.nnics >= 0 ? load_paths(body, paths, r) : -1;
	if (!p.mem_path || p.nnics < 0 || p.npaths < 0 || !before_start(a, r))
		return;
	p.state_path = api_json_str(body, "snapshot_path", "");
	p.resume = api_json_bool(body, "resume_vm", false);
	if (working_set_mode(api_json_str(body, "working_set", "load"), &p.working_set)) {
		fault(r, 400, "working_set must be load, off or record, not `%.16s`",
		      api_json_str(body, "working_set", ""));
		return;
	}
	if (!load_record_ms(body, &p, r))
		return;
	int err = a->ops->snapshot_load(a->ctx, &p, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot load the snapshot");
		return;
	}
	a->state = p.resume ? API_RUNNING : API_PAUSED;
	r->status = 204;
}

/* PUT /vmm/working-set {"action": "stop"}: ends the recording a load with "working_set":
 * "record" started and writes the list next to the state file (vmm/snapshot/working_set.h). */
static void put_working_set(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	static const struct api_json_field f[] = {{"action", API_JSON_STRING, true},
						  {NULL, 0, false}};
	(void)id;
	if (api_json_check(body, f, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (strcmp(api_json_str(body, "action", ""), "stop")) {
		fault(r, 400, "action must be stop", NULL);
		return;
	}
	if (!after_start(a, r))
		return;
	if (!a->ops->working_set_stop) {
		fault(r, 400, "working sets are not available in this VMM", NULL);
		return;
	}
	int err = a->ops->working_set_stop(a->ctx, &r->doc, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot record the working set");
}

const struct route api_routes_snapshot[] = {
    {"/snapshot/create", false, {NULL, put_snapshot_create, NULL}, false},
    {"/snapshot/load", false, {NULL, put_snapshot_load, NULL}, false},
    {"/vmm/send-migration", false, {NULL, put_send_migration, NULL}, false},
    {"/vmm/receive-migration", false, {NULL, put_receive_migration, NULL}, false},
    {"/vmm/migration", false, {get_migration, NULL, NULL}, false},
    {"/vmm/migration/cancel", false, {NULL, put_migration_cancel, NULL}, false},
    {"/vmm/working-set", false, {NULL, put_working_set, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
