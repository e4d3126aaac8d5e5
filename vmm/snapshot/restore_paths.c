/* The host resources a restored configuration may reach. See restore_paths.h. */
#include "vmm/snapshot/restore_paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "host/sandbox/landlock.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_table.h"

_Static_assert((unsigned)RESTORE_READ == DEVICE_PATH_READ &&
		   (unsigned)RESTORE_WRITE == DEVICE_PATH_WRITE &&
		   (unsigned)RESTORE_CREATE == DEVICE_PATH_CREATE,
	       "a claim's access bits are a resource's");
_Static_assert((unsigned)RESTORE_READ == CLI_PATH_READ &&
		   (unsigned)RESTORE_WRITE == CLI_PATH_WRITE &&
		   (unsigned)RESTORE_CREATE == CLI_PATH_CREATE,
	       "an option's access bits are a resource's");

int restore_paths_init(void)
{
	return host_path_init();
}

/* ---- the lexical form of a path: host_path_normalize() ---- */

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

	if (!host_path_normalize(rule, norm, sizeof(norm)) && beneath(norm, w->path) &&
	    (w->access & ~has) == 0)
		w->allowed = true;
	return 0;
}

bool restore_path_allowed(const char *path, unsigned access, const struct restore_allow *a)
{
	char norm[PATH_MAX], other[PATH_MAX];

	if (host_path_normalize(path, norm, sizeof(norm)))
		return false;
	if (a->dir && !host_path_normalize(a->dir, other, sizeof(other)) && beneath(other, norm))
		return true;
	for (int i = 0; i < a->npaths; i++)
		if (!host_path_normalize(a->paths[i], other, sizeof(other)) && !strcmp(other, norm))
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

struct each {
	resource_fn fn;
	void *opaque;
};

/* A passed-through device (its pinned RAM), which no snapshot carries. */
static int each_pinned(const struct device_claim *c, void *opaque)
{
	struct each *e = opaque;
	struct restore_resource pinned = {
	    .what = "passed-through host device", .id = "", .name = c->option, .refused = true};
	return c->kind == DEVICE_CLAIM_PINNED_RAM ? e->fn(&pinned, e->opaque) : 0;
}

/* Every host path (and tap) a device's record names: its descriptor's path fields
 * (device_table.h, "Path fields"), the one place a restore learns them from. */
static int each_path(const struct device_path *p, void *opaque)
{
	struct each *e = opaque;
	struct restore_resource res = {.what = p->field->what,
				       .id = p->id,
				       .name = p->path,
				       .item = p->field->item,
				       .access = p->access,
				       .tap = p->kind == DEVICE_PATH_KIND_TAP,
				       .hint = p->field->hint};
	return e->fn(&res, e->opaque);
}

/* The recorded options (the core's: vm_config.h) that name a host path a restore opens
 * (--firmware, --firmware-log: cli.h's CLI_PATH_ARG), and those that name a host resource a
 * snapshot cannot carry (CLI_PATH_REFUSED). The devices' paths are their records' (each_path()). */
static int each_option(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	for (int i = 0; i < cfg->nrecorded; i++) {
		const struct cli_record *rec = &cfg->recorded[i];
		const struct cli_path_decl *d = cli_option_path(rec->name);
		if (!d || (d->use != CLI_PATH_ARG && d->use != CLI_PATH_REFUSED))
			continue;
		struct restore_resource res = {.what = d->what,
					       .id = "",
					       .name = rec->arg ? rec->arg : "",
					       .access = d->access,
					       .refused = d->use == CLI_PATH_REFUSED,
					       .hint = d->hint};
		int r = fn(&res, opaque);
		if (r)
			return r;
	}
	return 0;
}

int restore_paths_each(const struct vm_config *cfg, resource_fn fn, void *opaque)
{
	struct each e = {fn, opaque};
	int r = each_option(cfg, fn, opaque);
	if (!r)
		r = device_config_paths(cfg, each_path, &e);
	return r ? r : device_table_claims(cfg, each_pinned, &e);
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
	if (res->refused) {
		snprintf(c->err, c->errlen,
			 "the snapshot names a %s (%s), which a snapshot cannot carry: refused",
			 res->what, res->name);
		return -EACCES;
	}
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
	if (host_path_normalize(res->name, folder, sizeof(folder)) == -EINVAL) {
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
