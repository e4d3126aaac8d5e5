/* vmm-jail: the jail's cgroups (cgroup.h). */
#include "tools/vmm-jail/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

/* Finds a mount of fstype ("cgroup2", or "cgroup" with controller among its super options) in
 * /proc/self/mountinfo: its mount point and the hierarchy path it shows (its root field). */
static bool find_mount(const char *fstype, const char *controller, char *mnt, char *root)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[LINE_MAX_LEN];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char r[LINE_MAX_LEN], m[LINE_MAX_LEN], type[64], src[256], opts[LINE_MAX_LEN];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 ||
		    sscanf(sep + 3, "%63s %255s %4095s", type, src, opts) != 3)
			continue;
		if (strcmp(type, fstype) != 0)
			continue;
		if (controller) {
			bool has = false;
			for (char *save, *tok = strtok_r(opts, ",", &save); tok && !has;
			     tok = strtok_r(NULL, ",", &save))
				has = strcmp(tok, controller) == 0;
			if (!has)
				continue;
		}
		snprintf(mnt, JAIL_PATH_MAX, "%s", m);
		snprintf(root, JAIL_PATH_MAX, "%s", r);
		found = true;
	}
	fclose(f);
	return found;
}

/* The caller's cgroup in the v1 hierarchy of controller, from /proc/self/cgroup. */
static bool own_v1_path(const char *controller, char *path)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	char line[LINE_MAX_LEN];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		line[strcspn(line, "\n")] = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		for (char *save, *tok = strtok_r(c1 + 1, ",", &save); tok && !found;
		     tok = strtok_r(NULL, ",", &save))
			found = strcmp(tok, controller) == 0;
		if (found)
			snprintf(path, JAIL_PATH_MAX, "%s", c2 + 1);
	}
	fclose(f);
	return found;
}

/* out = dir/name; false (and out empty) when it does not fit. */
static bool join(char *out, const char *dir, const char *name)
{
	if (snprintf(out, JAIL_PATH_MAX, "%s/%s", dir, name) < JAIL_PATH_MAX)
		return true;
	out[0] = '\0';
	return false;
}

static int write_file(const char *path, const char *value)
{
	if (!path[0]) {
		fprintf(stderr, "vmm-jail: cgroup: path too long\n");
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0) {
		int e = errno;
		fprintf(stderr, "vmm-jail: cgroup: writing \"%s\" to %s: %s\n", value, path,
			strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static bool v2_offers(const char *mnt, const char *controller, char *list, size_t size)
{
	char path[JAIL_PATH_MAX];
	join(path, mnt, "cgroup.controllers");
	FILE *f = fopen(path, "re");
	list[0] = '\0';
	if (!f)
		return false;
	if (!fgets(list, (int)size, f))
		list[0] = '\0';
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", list);
	for (char *save, *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (strcmp(tok, controller) == 0)
			return true;
	return false;
}

/* mkdir -p of the folders above dir (the parent cgroup, --parent-cgroup: nested ones too). */
static int make_parents(const char *dir)
{
	char buf[JAIL_PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", dir);
	char *last = strrchr(buf, '/');
	for (char *p = buf + 1; last && (p = strchr(p, '/')) && p <= last; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST) {
			fprintf(stderr, "vmm-jail: cgroup: mkdir %s: %s\n", buf, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Creates dir (its parents may exist) and lists it in cg; an existing dir means another jail
 * with this id. */
static int add_dir(struct jail_cgroups *cg, const char *dir)
{
	for (int i = 0; i < cg->n; i++)
		if (strcmp(cg->dirs[i], dir) == 0)
			return 0;
	if (cg->n == JAIL_CG_MAX) {
		fprintf(stderr, "vmm-jail: cgroup: too many hierarchies\n");
		return -1;
	}
	if (make_parents(dir))
		return -1;
	if (mkdir(dir, 0755)) {
		fprintf(stderr, "vmm-jail: cgroup: mkdir %s: %s%s\n", dir, strerror(errno),
			errno == EEXIST ? " (a jail with this id is running, or was killed)" : "");
		return -1;
	}
	snprintf(cg->dirs[cg->n++], JAIL_PATH_MAX, "%s", dir);
	return 0;
}

/* The controller enabled on the way down: the root, then each folder of the parent cgroup. */
static int limit_v2(const char *mnt, const char *parent, const char *dir,
		    const struct jail_limit *l)
{
	char path[JAIL_PATH_MAX], enable[JAIL_CG_NAME_MAX + 1], sub[JAIL_PATH_MAX];
	snprintf(enable, sizeof(enable), "+%s", l->controller);
	join(path, mnt, "cgroup.subtree_control");
	if (write_file(path, enable))
		return -1;
	for (const char *p = parent; *p; p++) {
		p += strcspn(p, "/");
		snprintf(sub, sizeof(sub), "%.*s/cgroup.subtree_control", (int)(p - parent),
			 parent);
		join(path, mnt, sub);
		if (write_file(path, enable))
			return -1;
		if (!*p)
			break;
	}
	join(path, dir, l->file);
	return write_file(path, l->value);
}

static void say_unavailable(const struct jail_limit *l, const char *v2_mnt, const char *v2_list)
{
	fprintf(stderr,
		"vmm-jail: --cgroup %s=%s: controller \"%s\" is not available here (cgroup2%s%s "
		"offers \"%s\"; no cgroup v1 hierarchy has it)\n",
		l->file, l->value, l->controller, v2_mnt ? " at " : " not mounted",
		v2_mnt ? v2_mnt : "", v2_list);
}

static int limit_v1(struct jail_cgroups *cg, const char *parent, const char *id,
		    const struct jail_limit *l, const char *v2_mnt, const char *v2_list)
{
	char mnt[JAIL_PATH_MAX], root[JAIL_PATH_MAX], own[JAIL_PATH_MAX], dir[JAIL_PATH_MAX];
	if (!find_mount("cgroup", l->controller, mnt, root) || !own_v1_path(l->controller, own)) {
		say_unavailable(l, v2_mnt, v2_list);
		return -1;
	}
	/* own is relative to the hierarchy's root; the mount shows the part under root. */
	const char *rel = own;
	size_t rlen = strlen(root);
	if (strcmp(root, "/") != 0 && strncmp(own, root, rlen) == 0)
		rel = own + rlen;
	if (strcmp(rel, "/") == 0)
		rel = "";
	char sub[JAIL_PATH_MAX];
	if (snprintf(sub, sizeof(sub), "%s/%s/%s", rel, parent, id) >= (int)sizeof(sub) ||
	    !join(dir, mnt, sub + 1)) {
		fprintf(stderr, "vmm-jail: cgroup: path too long\n");
		return -1;
	}
	if (add_dir(cg, dir))
		return -1;
	struct jail_v1_write w[2];
	char err[JAIL_ERRLEN];
	int n = jail_limit_v1(l, w, err);
	if (n < 0) {
		fprintf(stderr, "vmm-jail: --cgroup: %s\n", err);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[JAIL_PATH_MAX];
		join(path, dir, w[i].file);
		if (write_file(path, w[i].value))
			return -1;
	}
	return 0;
}

int jail_cgroups_check(const struct jail_limit *limits, int nlimits, int version)
{
	char v2[JAIL_PATH_MAX], root[JAIL_PATH_MAX], mnt[JAIL_PATH_MAX], own[JAIL_PATH_MAX];
	char list[512] = "";
	bool have_v2 = version != 1 && find_mount("cgroup2", NULL, v2, root);

	if (version == 2 && !have_v2) {
		fprintf(stderr,
			"vmm-jail: --cgroup-version 2: no cgroup2 file system is mounted\n");
		return -1;
	}
	for (int i = 0; i < nlimits; i++) {
		const struct jail_limit *l = &limits[i];
		if (have_v2 && v2_offers(v2, l->controller, list, sizeof(list)))
			continue;
		if (version != 2 && find_mount("cgroup", l->controller, mnt, root) &&
		    own_v1_path(l->controller, own))
			continue;
		say_unavailable(l, have_v2 ? v2 : NULL, list);
		return -1;
	}
	return 0;
}

int jail_cgroups_setup(const char *parent, const char *id, int version,
		       const struct jail_limit *limits, int nlimits, struct jail_cgroups *cg)
{
	char v2[JAIL_PATH_MAX], root[JAIL_PATH_MAX], v2_dir[JAIL_PATH_MAX], list[512] = "";
	bool have_v2 = version != 1 && find_mount("cgroup2", NULL, v2, root);
	cg->n = 0;
	cg->remove_parent = !strchr(parent, '/');
	if (have_v2) {
		char sub[JAIL_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", parent, id);
		if (!join(v2_dir, v2, sub) || add_dir(cg, v2_dir))
			return -1;
	}
	for (int i = 0; i < nlimits; i++) {
		const struct jail_limit *l = &limits[i];
		int r;
		if (have_v2 && v2_offers(v2, l->controller, list, sizeof(list)))
			r = limit_v2(v2, parent, v2_dir, l);
		else
			r = limit_v1(cg, parent, id, l, have_v2 ? v2 : NULL, list);
		if (r)
			return -1;
	}
	return 0;
}

int jail_cgroups_join(const struct jail_cgroups *cg)
{
	for (int i = 0; i < cg->n; i++) {
		char path[JAIL_PATH_MAX];
		join(path, cg->dirs[i], "cgroup.procs");
		if (write_file(path, "0"))
			return -1;
	}
	return 0;
}

void jail_cgroups_remove(struct jail_cgroups *cg)
{
	for (int i = cg->n - 1; i >= 0; i--) {
		/* The exited VMM leaves its cgroups asynchronously: EBUSY for a moment. */
		for (int tries = 0; rmdir(cg->dirs[i]) && errno == EBUSY && tries < 200; tries++)
			nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
		if (access(cg->dirs[i], F_OK) == 0)
			fprintf(stderr, "vmm-jail: cgroup %s: not removed: %s\n", cg->dirs[i],
				strerror(errno));
		char parent[JAIL_PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", cg->dirs[i]);
		if (cg->remove_parent) /* only when no other jail uses it */
			rmdir(dirname(parent));
	}
	cg->n = 0;
}
