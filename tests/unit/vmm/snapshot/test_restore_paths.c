/* restore_paths (vmm/snapshot/restore_paths.h): the lexical rule a restored configuration's host
 * paths are held to, the list of what each device names, and that every device of the table is
 * known to it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/snapshot/restore_paths.h"
#include "vmm/snapshot/restore_paths_test.h"

static const struct restore_allow in_snap = {.dir = "/srv/snap"};

Test(restore_paths, the_folder_and_what_is_beneath_it)
{
	cr_assert(
	    restore_path_allowed("/srv/snap/disk.img", RESTORE_READ | RESTORE_WRITE, &in_snap));
	cr_assert(restore_path_allowed("/srv/snap/a/b/c", RESTORE_CREATE, &in_snap));
	cr_assert(restore_path_allowed("/srv//snap/./x", RESTORE_READ, &in_snap));
	cr_assert_not(restore_path_allowed("/srv/snapshot/x", RESTORE_READ, &in_snap),
		      "a name that only starts like the folder");
	cr_assert_not(restore_path_allowed("/srv/other.img", RESTORE_READ, &in_snap));
	cr_assert_not(restore_path_allowed("/srv/snap/../other.img", RESTORE_READ, &in_snap));
	cr_assert_not(restore_path_allowed("/srv/snap/x/..", RESTORE_READ, &in_snap));
	cr_assert_not(restore_path_allowed("", RESTORE_READ, &in_snap));
	const struct restore_allow trailing = {.dir = "/srv/snap/"};
	cr_assert(restore_path_allowed("/srv/snap/x", RESTORE_READ, &trailing));
	const struct restore_allow dotdot = {.dir = "/srv/snap/.."};
	cr_assert_not(restore_path_allowed("/srv/x", RESTORE_READ, &dotdot),
		      "a folder with `..` allows nothing");
}

Test(restore_paths, relative_paths_start_where_the_process_started)
{
	char cwd[PATH_MAX], abs[PATH_MAX + 16];
	cr_assert_eq(restore_paths_init(), 0);
	cr_assert(getcwd(cwd, sizeof(cwd)));
	snprintf(abs, sizeof(abs), "%s/snap/disk.img", cwd);
	const struct restore_allow rel = {.dir = "snap"};
	cr_assert(restore_path_allowed(abs, RESTORE_READ, &rel));
	cr_assert(restore_path_allowed("snap/disk.img", RESTORE_READ, &rel));
	cr_assert(restore_path_allowed("./snap/x", RESTORE_READ, &rel));
	cr_assert_not(restore_path_allowed("disk.img", RESTORE_READ, &rel));
	snprintf(abs, sizeof(abs), "%s/snap", cwd);
	const struct restore_allow absolute = {.dir = abs};
	cr_assert(restore_path_allowed("snap/disk.img", RESTORE_READ, &absolute));
}

Test(restore_paths, exact_override_paths)
{
	const char *const paths[] = {"/images/root.img", "rel/x"};
	const struct restore_allow a = {.paths = paths, .npaths = 2};
	cr_assert(restore_path_allowed("/images/root.img", RESTORE_READ | RESTORE_WRITE, &a));
	cr_assert(restore_path_allowed("/images//./root.img", RESTORE_READ, &a));
	cr_assert_not(restore_path_allowed("/images/root.img2", RESTORE_READ, &a));
	cr_assert_not(restore_path_allowed("/images", RESTORE_READ, &a));
	cr_assert_not(restore_path_allowed("/images/other.img", RESTORE_READ, &a),
		      "an override allows its file, not its folder");
}

Test(restore_paths, landlock_rules_by_access)
{
	const struct restore_allow a = {.rules = "/ro:ro,/rw:rw"};
	cr_assert(restore_path_allowed("/ro/x", RESTORE_READ, &a));
	cr_assert_not(restore_path_allowed("/ro/x", RESTORE_READ | RESTORE_WRITE, &a));
	cr_assert_not(restore_path_allowed("/ro/x", RESTORE_CREATE, &a));
	cr_assert(
	    restore_path_allowed("/rw/a/b", RESTORE_READ | RESTORE_WRITE | RESTORE_CREATE, &a));
	cr_assert_not(restore_path_allowed("/rwx/a", RESTORE_READ, &a));
	cr_assert_not(restore_path_allowed("/rw/../etc/shadow", RESTORE_READ, &a));
	const struct restore_allow bad = {.rules = "/x:wat"};
	cr_assert_not(restore_path_allowed("/x/y", RESTORE_READ, &bad));
}

struct seen {
	char what[16][32], name[16][128];
	unsigned access[16];
	int n;
};

static int collect(const struct restore_resource *res, void *opaque)
{
	struct seen *s = opaque;
	cr_assert_lt(s->n, 16);
	snprintf(s->what[s->n], sizeof(s->what[0]), "%s", res->what);
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", res->name);
	s->access[s->n++] = res->access;
	return 0;
}

static void apply(struct vm_config *cfg, const char *name, const char *arg)
{
	char err[256];
	cr_assert_eq(cli_apply(cfg, name, arg, err, sizeof(err)), 0, "--%s %s: %s", name, arg, err);
}

Test(restore_paths, each_lists_every_host_resource)
{
	struct vm_config cfg;
	struct seen s = {.n = 0};
	cli_config_init(&cfg);
	apply(&cfg, "disk", "/d/a.img,ro");
	apply(&cfg, "net", "tap=t0");
	apply(&cfg, "net", "user");
	apply(&cfg, "console", "file:/c/out");
	apply(&cfg, "rng", NULL);
	apply(&cfg, "screenshot", "/s/shot.png");
	apply(&cfg, "vsock", "cid=3,uds=/v/sock");
	apply(&cfg, "pmem", "path=/p/file");
	cr_assert_eq(restore_paths_each(&cfg, collect, &s), 0);
	cr_assert_eq(s.n, 6);
	cr_assert_str_eq(s.name[0], "/d/a.img");
	cr_assert_eq(s.access[0], RESTORE_READ);
	cr_assert_str_eq(s.what[1], "tap");
	cr_assert_str_eq(s.name[1], "t0");
	cr_assert_str_eq(s.name[2], "/c/out");
	cr_assert_str_eq(s.name[3], "/s/shot.png");
	cr_assert_str_eq(s.name[4], "/v/sock");
	cr_assert_str_eq(s.name[5], "/p/file");
	cr_assert_eq(s.access[5], RESTORE_READ | RESTORE_WRITE);

	char err[300];
	const char *const taps[] = {"t0"};
	const struct restore_allow a = {
	    .rules = "/d:ro,/c:rw,/s:rw,/v:rw,/p:rw", .taps = taps, .ntaps = 1};
	cr_assert_eq(restore_paths_check(&cfg, &a, err, sizeof(err)), 0, "%s", err);
	const struct restore_allow no_tap = {.rules = a.rules};
	cr_assert_eq(restore_paths_check(&cfg, &no_tap, err, sizeof(err)), -EACCES);
	cr_assert(strstr(err, "tap t0 (net0)"), "%s", err);
	cr_assert(strstr(err, "--net tap=NAME"), "%s", err);
	const struct restore_allow bad = {.rules = "nonsense"};
	cr_assert_eq(restore_paths_check(&cfg, &bad, err, sizeof(err)), -EINVAL);
	cli_free(&cfg);
}

/* The descriptors say what they name (their claims): the vhost-user sockets, of every kind, are
 * listed in table order with the rest. */
Test(restore_paths, each_lists_the_vhost_user_sockets)
{
	struct vm_config cfg;
	struct seen s = {.n = 0};
	cli_config_init(&cfg);
	apply(&cfg, "net", "vhost-user=/n/sock");
	apply(&cfg, "disk", "vhost-user=/b/sock");
	apply(&cfg, "fs", "tag=t,socket=/f/sock");
	cr_assert_eq(restore_paths_each(&cfg, collect, &s), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.what[0], "virtio-fs socket");
	cr_assert_str_eq(s.name[0], "/f/sock");
	cr_assert_str_eq(s.what[1], "vhost-user disk socket");
	cr_assert_str_eq(s.name[1], "/b/sock");
	cr_assert_str_eq(s.what[2], "vhost-user NIC socket");
	cr_assert_eq(s.access[2], RESTORE_READ | RESTORE_WRITE);
	cli_free(&cfg);
}
