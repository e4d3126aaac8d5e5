/* The path fields of the descriptors' records (vmm/descriptors/device_paths.h, device_table.h's
 * "Path fields"): for each descriptor whose options name host resources, the paths a record
 * yields with their kinds ("write unless ro", a console's file: prefix, a list of folders), the
 * records without any, and a restore refused through a path field
 * (vmm/snapshot/restore_paths.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/snapshot/restore_paths.h"

#define MAX_SEEN 8

struct seen {
	char item[MAX_SEEN][32], path[MAX_SEEN][128], id[MAX_SEEN][32];
	enum device_path_kind kind[MAX_SEEN];
	unsigned access[MAX_SEEN];
	int n;
};

static int collect(const struct device_path *p, void *ctx)
{
	struct seen *s = ctx;
	cr_assert_lt(s->n, MAX_SEEN);
	snprintf(s->item[s->n], sizeof(s->item[0]), "%s", p->field->item);
	snprintf(s->path[s->n], sizeof(s->path[0]), "%s", p->path);
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", p->id);
	s->kind[s->n] = p->kind;
	s->access[s->n++] = p->access;
	return 0;
}

/* The descriptor whose record is named `name`. */
static const struct device_desc *desc(const char *name)
{
	for (int i = 0; device_table[i]; i++)
		if (!strcmp(device_table[i]->name, name))
			return device_table[i];
	cr_assert_fail("no descriptor %s", name);
	return NULL;
}

/* The paths of instance `i` of `name` after --`option` `arg` on PCI, through its record. */
static struct seen paths_of(const char *name, const char *option, const char *arg, int i)
{
	struct vm_config cfg;
	struct opt_items items = {0};
	enum virtio_transport t;
	struct seen s = {.n = 0};
	char err[256];
	const struct device_desc *d = desc(name);
	vm_config_init(&cfg);
	cfg.transport = TRANSPORT_PCI;
	cr_assert_eq(cli_apply(&cfg, option, arg, err, sizeof(err)), 0, "--%s %s: %s", option, arg,
		     err);
	cr_assert_gt(d->record_count(&cfg), i);
	cr_assert_eq(d->record_items(&cfg, i, &items, &t), 0);
	cr_assert_eq(device_record_paths(d, &items, i, collect, &s), 0);
	opt_items_free(&items);
	cli_free(&cfg);
	return s;
}

static void assert_path(const struct seen *s, int k, const char *item, const char *path,
			enum device_path_kind kind, const char *id)
{
	cr_assert_gt(s->n, k, "only %d paths", s->n);
	cr_assert_str_eq(s->item[k], item);
	cr_assert_str_eq(s->path[k], path);
	cr_assert_eq(s->kind[k], kind, "%s: kind %d", path, s->kind[k]);
	cr_assert_eq(s->access[k], device_path_access(kind));
	cr_assert_str_eq(s->id[k], id);
}

Test(device_paths, a_disk_is_written_unless_ro_and_its_backing_folders_are_read)
{
	struct seen s = paths_of("disk", "disk", "/img/a,,b.raw", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "path", "/img/a,b.raw", DEVICE_PATH_KIND_WRITE, "drive0");
	cr_assert_eq(s.access[0], DEVICE_PATH_READ | DEVICE_PATH_WRITE);
	s = paths_of("disk", "disk", "/img/a.raw,ro,id=root", 0);
	assert_path(&s, 0, "path", "/img/a.raw", DEVICE_PATH_KIND_READ, "root");
	cr_assert_eq(s.access[0], DEVICE_PATH_READ);
	s = paths_of("disk", "disk",
		     "/img/b.qcow2,format=qcow2,backing_files=on,backing_dirs=/base:rel/dir", 0);
	cr_assert_eq(s.n, 3);
	assert_path(&s, 1, "backing_dirs", "/base", DEVICE_PATH_KIND_FOLDER, "drive0");
	assert_path(&s, 2, "backing_dirs", "rel/dir", DEVICE_PATH_KIND_FOLDER, "drive0");
}

Test(device_paths, pmem_is_written_unless_ro)
{
	struct seen s = paths_of("pmem", "pmem", "path=/p/file", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "path", "/p/file", DEVICE_PATH_KIND_WRITE, "pmem0");
	s = paths_of("pmem", "pmem", "path=/p/file,ro,id=pm", 0);
	assert_path(&s, 0, "path", "/p/file", DEVICE_PATH_KIND_READ, "pm");
}

Test(device_paths, the_console_names_a_file_only_with_file_kind)
{
	struct seen s = paths_of("console", "console", "file:/c/out", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "kind", "/c/out", DEVICE_PATH_KIND_CREATE, "");
	cr_assert_eq(s.access[0], DEVICE_PATH_WRITE | DEVICE_PATH_CREATE);
	cr_assert_eq(paths_of("console", "console", "virtio", 0).n, 0);
	cr_assert_eq(paths_of("console", "console", "none", 0).n, 0);
}

Test(device_paths, the_display_writes_its_screenshot_and_reads_its_script)
{
	struct seen s = paths_of("display", "screenshot", "/s/shot.png", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "screenshot", "/s/shot.png", DEVICE_PATH_KIND_CREATE, "");
	s = paths_of("display", "input-script", "/s/in.txt", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "input-script", "/s/in.txt", DEVICE_PATH_KIND_READ, "");
}

Test(device_paths, vsock_listens_on_its_uds)
{
	struct seen s = paths_of("vsock", "vsock", "cid=3,uds=/v/sock,id=v", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "uds", "/v/sock", DEVICE_PATH_KIND_LISTEN, "v");
	cr_assert_eq(s.access[0], DEVICE_PATH_WRITE | DEVICE_PATH_CREATE);
}

Test(device_paths, sockets_of_vhost_user_and_fs_are_connected_to)
{
	struct seen s = paths_of("fs", "fs", "tag=share,socket=/f/sock", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "socket", "/f/sock", DEVICE_PATH_KIND_SOCKET, "share");
	s = paths_of("vhost-user-blk", "disk", "vhost-user=/b/sock,id=b", 0);
	assert_path(&s, 0, "vhost-user", "/b/sock", DEVICE_PATH_KIND_SOCKET, "b");
	s = paths_of("vhost-user-net", "net", "vhost-user=/n/sock", 0);
	assert_path(&s, 0, "vhost-user", "/n/sock", DEVICE_PATH_KIND_SOCKET, "");
	cr_assert_eq(s.access[0], DEVICE_PATH_READ | DEVICE_PATH_WRITE);
}

Test(device_paths, a_tap_is_a_name_and_a_user_nic_names_nothing)
{
	struct seen s = paths_of("net", "net", "tap=t0", 0);
	cr_assert_eq(s.n, 1);
	assert_path(&s, 0, "tap", "t0", DEVICE_PATH_KIND_TAP, "net0");
	cr_assert_eq(s.access[0], 0);
	cr_assert_eq(paths_of("net", "net", "user", 0).n, 0);
}

Test(device_paths, devices_without_host_paths_have_no_fields)
{
	cr_assert_eq(paths_of("rng", "rng", NULL, 0).n, 0);
	cr_assert_null(desc("rng")->paths);
	cr_assert_null(desc("balloon")->paths);
	cr_assert_null(desc("memory-hotplug")->paths);
}

/* Every field of every table is well formed: a name, an item, and "ro" only on a WRITE one. */
Test(device_paths, every_table_is_well_formed)
{
	int n = 0;
	for (int i = 0; device_table[i]; i++) {
		const struct device_paths *ps = device_table[i]->paths;
		for (const struct device_path_field *f = ps ? ps->fields : NULL; f && f->item;
		     f++, n++) {
			cr_assert(f->what && f->what[0], "%s.%s", device_table[i]->name, f->item);
			cr_assert(!f->ro_item || f->kind == DEVICE_PATH_KIND_WRITE);
		}
		cr_assert(!ps || device_record_known(device_table[i]),
			  "%s: path fields need a record", device_table[i]->name);
	}
	cr_assert_geq(n, 11, "only %d path fields", n);
}

/* A record's path, item by item, with the instances' own order and names. */
Test(device_paths, a_configuration_yields_every_instance)
{
	struct vm_config cfg;
	struct seen s = {.n = 0};
	char err[256];
	vm_config_init(&cfg);
	cr_assert_eq(cli_apply(&cfg, "disk", "/d/a.img", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_apply(&cfg, "disk", "/d/b.img,ro", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_apply(&cfg, "vsock", "cid=3,uds=/v/s", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(device_config_paths(&cfg, collect, &s), 0);
	cr_assert_eq(s.n, 3);
	assert_path(&s, 0, "path", "/d/a.img", DEVICE_PATH_KIND_WRITE, "drive0");
	assert_path(&s, 1, "path", "/d/b.img", DEVICE_PATH_KIND_READ, "drive1");
	assert_path(&s, 2, "uds", "/v/s", DEVICE_PATH_KIND_LISTEN, "");
	cli_free(&cfg);
}

/* The first path stops the walk with its callback's value. */
static int stop(const struct device_path *p, void *ctx)
{
	(void)p;
	(*(int *)ctx)++;
	return -EIO;
}

Test(device_paths, a_callback_stops_the_walk)
{
	struct vm_config cfg;
	char err[256];
	int calls = 0;
	vm_config_init(&cfg);
	cr_assert_eq(cli_apply(&cfg, "disk", "/d/a.img", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_apply(&cfg, "disk", "/d/b.img", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(device_config_paths(&cfg, stop, &calls), -EIO);
	cr_assert_eq(calls, 1);
	cli_free(&cfg);
}

/* A restore refused through a path field: the backing folder of a disk in the snapshot's
 * folder, outside it, is refused by its own field ("disk backing folder", read-only rule). */
Test(device_paths, a_restore_is_refused_through_a_path_field)
{
	struct vm_config cfg;
	char err[512];
	const struct restore_allow in_snap = {.dir = "/srv/snap"};
	vm_config_init(&cfg);
	cr_assert_eq(cli_apply(&cfg, "disk",
			       "/srv/snap/d.qcow2,format=qcow2,backing_files=on,backing_dirs=/base",
			       err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(restore_paths_check(&cfg, &in_snap, err, sizeof(err)), -EACCES);
	cr_assert_str_eq(err, "the snapshot names disk backing folder /base (drive0) outside its "
			      "folder: allow it with --landlock-rules /:ro");
	const struct restore_allow ro = {.dir = "/srv/snap", .rules = "/base:ro"};
	cr_assert_eq(restore_paths_check(&cfg, &ro, err, sizeof(err)), 0, "%s", err);
	cli_free(&cfg);
}

/* ---- the claims say the same (until fork_request.c reads the path fields too) ---- */

struct both {
	char text[16][160];
	int n;
};

static void note(struct both *b, const char *what, const char *value, const char *id,
		 unsigned access)
{
	cr_assert_lt(b->n, 16);
	snprintf(b->text[b->n++], sizeof(b->text[0]), "%s|%s|%s|%u", what, value, id, access);
}

static int note_claim(const struct device_claim *c, void *ctx)
{
	if (c->kind == DEVICE_CLAIM_PATH || c->kind == DEVICE_CLAIM_SOCKET)
		note(ctx, c->what, c->value, c->id ? c->id : "", c->access);
	return 0;
}

static int note_path(const struct device_path *p, void *ctx)
{
	note(ctx, p->field->what, p->path, p->id, p->access);
	return 0;
}

/* Every device's DEVICE_CLAIM_PATH and _SOCKET claims (what fork_request.c and the socket
 * conflicts read) are its path fields, in the same order with the same names and access. */
Test(device_paths, the_claims_name_the_same_paths)
{
	static const char *const opts[][2] = {
	    {"disk", "/d/a.img,ro"},
	    {"disk", "/d/b.qcow2,format=qcow2,backing_files=on,backing_dirs=/x:/y,id=b"},
	    {"net", "tap=t0"},
	    {"net", "user"},
	    {"console", "file:/c/out"},
	    {"screenshot", "/s/shot.png"},
	    {"input-script", "/s/in"},
	    {"vsock", "cid=3,uds=/v/sock"},
	    {"fs", "tag=t,socket=/f/sock"},
	    {"disk", "vhost-user=/b/sock"},
	    {"net", "vhost-user=/n/sock,id=n"},
	    {"pmem", "path=/p/file"},
	    {"pmem", "path=/p/ro,ro"},
	};
	struct vm_config cfg;
	struct both claims = {.n = 0}, fields = {.n = 0};
	char err[256];
	vm_config_init(&cfg);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		cr_assert_eq(cli_apply(&cfg, opts[i][0], opts[i][1], err, sizeof(err)), 0,
			     "--%s %s: %s", opts[i][0], opts[i][1], err);
	cr_assert_eq(device_table_claims(&cfg, note_claim, &claims), 0);
	cr_assert_eq(device_config_paths(&cfg, note_path, &fields), 0);
	cr_assert_eq(claims.n, 14);
	cr_assert_eq(fields.n, claims.n);
	for (int i = 0; i < claims.n; i++)
		cr_assert_str_eq(fields.text[i], claims.text[i]);
	cli_free(&cfg);
}

/* Items given directly (as a hostile record might hold them before its device's checks): empty
 * list elements name nothing, "ro=off" leaves a file written, a value without the prefix names
 * no path, and an instance without its index has no default name. */
Test(device_paths, odd_items)
{
	struct opt_items items = {0};
	struct seen s = {.n = 0};
	cr_assert_eq(opt_items_add(&items, "path", "/d"), 0);
	cr_assert_eq(opt_items_add(&items, "ro", "off"), 0);
	cr_assert_eq(opt_items_add(&items, "backing_dirs", "::a::b:"), 0);
	cr_assert_eq(device_record_paths(desc("disk"), &items, -1, collect, &s), 0);
	cr_assert_eq(s.n, 3);
	assert_path(&s, 0, "path", "/d", DEVICE_PATH_KIND_WRITE, "");
	assert_path(&s, 1, "backing_dirs", "a", DEVICE_PATH_KIND_FOLDER, "");
	assert_path(&s, 2, "backing_dirs", "b", DEVICE_PATH_KIND_FOLDER, "");
	opt_items_free(&items);

	s.n = 0;
	cr_assert_eq(opt_items_add(&items, "kind", "pipe:/x"), 0);
	cr_assert_eq(device_record_paths(desc("console"), &items, 0, collect, &s), 0);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(device_record_paths(desc("rng"), &items, 0, collect, &s), 0);
	cr_assert_eq(s.n, 0);
	opt_items_free(&items);
}
