/* The host resources a restored configuration may reach. See restore_paths.h. */
#include "vmm/snapshot/restore_paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/sandbox/landlock.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_display.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/descriptors/dev_vsock.h"
#include "vmm/descriptors/device_table.h"

static char start_cwd[PATH_MAX]; /* "" until restore_paths_init() */

int restore_paths_init(void)
{
	if (start_cwd[0])
		return 0;
	return getcwd(start_cwd, sizeof(start_cwd)) ? 0 : -errno;
}

/* ---- the lexical form of a path ---- */

/* `path` in out[len]: absolute against the start's working directory when it is relative and
 * that is known, "." components and repeated or trailing "/" dropped. -EINVAL for an empty path
 * or a ".." component, -ENAMETOOLONG. */
static int normalize(const char *path, char *out, size_t len)
{
	size_t n = 0;
	const char *p = path;

	if (!path[0])
		return -EINVAL;
	if (path[0] != '/' && start_cwd[0]) {
		n = strlen(start_cwd);
		if (n >= len)
			return -ENAMETOOLONG;
		memcpy(out, start_cwd, n);
	}
	if (path[0] == '/' && n == 0)
		out[n++] = '/';
	while (*p) {
		size_t c = strcspn(p, "/");
		if (c == 2 && !strncmp(p, "..", 2))
			return -EINVAL;
		if (c && !(c == 1 && p[0] == '.')) {
			bool slash = n && out[n - 1] != '/';
			if (n + slash + c + 1 > len)
				return -ENAMETOOLONG;
			if (slash)
				out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
		p += c;
		p += *p == '/';
	}
	if (n == 0) /* "." or "./" with no working directory known */
		out[n++] = '.';
	out[n] = 0;
	return 0;
}

/* True when normalized `path` is `dir` or beneath it (both normalized). */
static bool beneath(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if ((dir[0] == '/') != (path[0] == '/'))
		return false; /* one relative, the other not, and no working directory known */
	if (!strcmp(dir, "/") || !strcmp(dir, "."))
		return true;
	return !strncmp(dir, path, n) && (path[n] == '/' || !path[n]);
}

/* ---- the operator's word ---- */

struct rule_walk {
	const char *path; /* normalized */
	unsigned access;
	bool allowed;
};

static int rule_covers(const char *rule, unsigned access, void *opaque)
{
	struct rule_walk *w = opaque;
	char norm[PATH_MAX];
	unsigned has = ((access & LANDLOCK_READ) ? RESTORE_READ : 0) |
		       ((access & LANDLOCK_WRITE) ? RESTORE_WRITE : 0) |
		       ((access & LANDLOCK_CHANGE) ? RESTORE_CREATE : 0);

	if (!normalize(rule, norm, sizeof(norm)) && beneath(norm, w->path) &&
	    (w->access & ~has) == 0)
		w->allowed = true;
	return 0;
}

bool restore_path_allowed(const char *path, unsigned access, const struct restore_allow *a)
{
	char norm[PATH_MAX], other[PATH_MAX];

	if (normalize(path, norm, sizeof(norm)))
		return false;
	if (a->dir && !normalize(a->dir, other, sizeof(other)) && beneath(other, norm))
		return true;
	for (int i = 0; i < a->npaths; i++)
		if (!normalize(a->paths[i], other, sizeof(other)) && !strcmp(other, norm))
			return true;
	struct rule_walk w = {norm, access, false};
	if (a->rules && a->rules[0])
		landlock_parse_rules(a->rules, rule_covers, &w);
	return w.allowed;
}

static bool tap_allowed(const char *name, const struct restore_allow *a)
{
	for (int i = 0; i < a->ntaps; i++)
		if (!strcmp(a->taps[i], name))
			return true;
	return a->any_tap;
}

/* ---- what a configuration names ---- */

typedef int (*resource_fn)(const struct restore_resource *res, void *opaque);

static int each_disk(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	char id[VIRTIO_BLK_DRIVE_ID_MAX + 16];
	int r = 0;

	for (int i = 0; !r && i < dev_disk_count(cfg); i++) {
		const struct virtio_blk_opts *o = dev_disk_opts(cfg, i);
		if (o->id[0])
			snprintf(id, sizeof(id), "%s", o->id);
		else
			snprintf(id, sizeof(id), "drive%d", i);
		struct restore_resource res = {.what = "disk",
					       .id = id,
					       .name = o->path,
					       .access = RESTORE_READ | (o->ro ? 0 : RESTORE_WRITE),
					       .hint = "--disk PATH,id=ID (API: drive_overrides)"};
		r = fn(&res, opaque);
	}
	return r;
}

static int each_net(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	char id[VIRTIO_NET_ID_MAX + 16];
	int r = 0;

	for (int i = 0; !r && i < dev_net_count(cfg); i++) {
		const struct virtio_net_opts *o = dev_net_opts(cfg, i);
		if (o->kind != VIRTIO_NET_TAP)
			continue; /* user networking, or an fd given to this process */
		if (o->id[0])
			snprintf(id, sizeof(id), "%s", o->id);
		else
			snprintf(id, sizeof(id), "net%d", i);
		struct restore_resource res = {
		    .what = "tap",
		    .id = id,
		    .name = o->ifname,
		    .tap = true,
		    .hint = "give the NIC a tap: --net tap=NAME, in NIC order (API: "
			    "network_overrides)"};
		r = fn(&res, opaque);
	}
	return r;
}

static int each_console(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	struct restore_resource res = {.what = "console file",
				       .id = "",
				       .name = c.path,
				       .access = RESTORE_WRITE | RESTORE_CREATE};

	return c.mode == CONSOLE_MODE_FILE && c.path ? fn(&res, opaque) : 0;
}

static int each_display(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	const struct dev_display_cfg *c = device_cfg_find(cfg, &device_display);
	struct restore_resource shot = {
	    .what = "screenshot", .id = "", .access = RESTORE_WRITE | RESTORE_CREATE};
	struct restore_resource script = {.what = "input script", .id = "", .access = RESTORE_READ};
	int r = 0;

	if (c && c->opts.screenshot) {
		shot.name = c->opts.screenshot;
		r = fn(&shot, opaque);
	}
	if (!r && c && c->opts.input_script) {
		script.name = c->opts.input_script;
		r = fn(&script, opaque);
	}
	return r;
}

static int each_vsock(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	struct restore_resource res = {.what = "vsock socket",
				       .access = RESTORE_WRITE | RESTORE_CREATE,
				       .hint = "API: vsock_override"};

	if (!c || !c->opts.uds[0])
		return 0;
	res.id = c->opts.id;
	res.name = c->opts.uds;
	return fn(&res, opaque);
}

static int each_pmem(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	int r = 0;

	for (int i = 0; !r && c && i < c->n; i++) {
		struct restore_resource res = {
		    .what = "pmem file",
		    .id = c->dev[i].id,
		    .name = c->dev[i].opts.path,
		    .access = RESTORE_READ | (c->dev[i].opts.read_only ? 0 : RESTORE_WRITE)};
		r = fn(&res, opaque);
	}
	return r;
}

static int each_fs(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	int r = 0;

	for (int i = 0; !r && c && i < c->n; i++) {
		struct restore_resource res = {.what = "virtio-fs socket",
					       .id = c->fs[i].opts.tag,
					       .name = c->fs[i].opts.socket,
					       .access = RESTORE_READ | RESTORE_WRITE};
		r = fn(&res, opaque);
	}
	return r;
}

static int each_vu(const struct vm_config *cfg, const struct device_desc *d, const char *what,
		   resource_fn fn, void *opaque)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	int r = 0;

	for (int i = 0; !r && c && i < c->n; i++) {
		struct restore_resource res = {.what = what,
					       .id = c->dev[i].opts.id,
					       .name = c->dev[i].opts.socket,
					       .access = RESTORE_READ | RESTORE_WRITE};
		r = fn(&res, opaque);
	}
	return r;
}

static int each_vu_blk(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	return each_vu(cfg, &device_vu_blk, "vhost-user disk socket", fn, opaque);
}

static int each_vu_net(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	return each_vu(cfg, &device_vu_net, "vhost-user NIC socket", fn, opaque);
}

/* Every device of the table: what it names on the host (NULL: nothing). */
extern const struct device_desc device_rng, device_balloon, device_memhp;
static const struct {
	const struct device_desc *dev;
	int (*each)(const struct vm_config *cfg, resource_fn fn, void *opaque);
} known[] = {
    {&device_disk, each_disk},	   {&device_net, each_net},	    {&device_console, each_console},
    {&device_rng, NULL},	   {&device_display, each_display}, {&device_vsock, each_vsock},
    {&device_balloon, NULL},	   {&device_fs, each_fs},	    {&device_vu_blk, each_vu_blk},
    {&device_vu_net, each_vu_net}, {&device_memhp, NULL},	    {&device_pmem, each_pmem},
};

#define NKNOWN (sizeof(known) / sizeof(known[0]))

bool restore_paths_knows(const struct device_desc *d)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (known[i].dev == d)
			return true;
	return false;
}

int restore_paths_each(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	int r = 0;

	for (size_t i = 0; !r && i < NKNOWN; i++)
		if (known[i].each)
			r = known[i].each(cfg, fn, opaque);
	return r;
}

/* ---- the check ---- */

struct check {
	const struct restore_allow *allow;
	char *err;
	size_t errlen;
};

/* The folder a --landlock-rules entry for `path` would name. */
static void folder_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

static int check_one(const struct restore_resource *res, void *opaque)
{
	struct check *c = opaque;
	const struct restore_allow *a = c->allow;
	char id[80] = "", folder[PATH_MAX];

	if (res->id && res->id[0])
		snprintf(id, sizeof(id), " (%.64s)", res->id);
	if (res->tap) {
		if (tap_allowed(res->name, a))
			return 0;
		snprintf(c->err, c->errlen,
			 "the snapshot names tap %s%s, a host interface nobody confirmed: %s",
			 res->name, id, res->hint);
		return -EACCES;
	}
	if (restore_path_allowed(res->name, res->access, a))
		return 0;
	if (normalize(res->name, folder, sizeof(folder)) == -EINVAL) {
		snprintf(c->err, c->errlen,
			 "the snapshot names %s `%s`%s: a path with a `..` component is refused",
			 res->what, res->name, id);
		return -EACCES;
	}
	folder_of(res->name, folder, sizeof(folder));
	snprintf(c->err, c->errlen,
		 "the snapshot names %s %s%s %s: allow it with %s%s--landlock-rules %s:%s",
		 res->what, res->name, id,
		 a->dir ? "outside its folder" : "that the operator did not allow",
		 res->hint ? res->hint : "", res->hint ? " or " : "", folder,
		 (res->access & ~RESTORE_READ) ? "rw" : "ro");
	return -EACCES;
}

/* --landlock-rules is checked once, so a bad one is said as such, not as a refused path. */
static int rule_ok(const char *path, unsigned access, void *opaque)
{
	(void)path, (void)access, (void)opaque;
	return 0;
}

int restore_paths_check(const struct vm_config *cfg, const struct restore_allow *a, char *err,
			size_t errlen)
{
	struct check c = {a, err, errlen};

	if (a->rules && a->rules[0] && landlock_parse_rules(a->rules, rule_ok, NULL)) {
		snprintf(err, errlen, "--landlock-rules %s: want PATH:ro|rw[,...]", a->rules);
		return -EINVAL;
	}
	return restore_paths_each(cfg, check_one, &c);
}
