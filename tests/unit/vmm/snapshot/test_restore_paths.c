/* restore_paths (vmm/snapshot/restore_paths.h): the lexical rule a restored configuration's host
 * paths are held to, the list of what each device and each core option names, that every option
 * of the command line is declared (vmm/cli/cli.h, cli_option_path()), and that a restore follows
 * no symbolic link inside the snapshot's folder (snapshot_open() confines it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/snapshot_io.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/cli_test.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/restore_paths.h"
#include "vmm/snapshot/restore_paths_test.h"
#include "vmm/snapshot/vm_snapshot.h"

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
	vm_config_init(&cfg);
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
	vm_config_init(&cfg);
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

/* ---- every option declared ---- */

/* The device descriptor one of whose options is `name`, or NULL (a core option). */
static const struct device_desc *device_of(const char *name)
{
	for (int i = 0; device_table[i]; i++)
		for (const struct device_option *o = device_table[i]->options; o->name; o++)
			if (!strcmp(o->name, name))
				return device_table[i];
	return NULL;
}

static int declared(const char *name, bool recorded, void *opaque)
{
	int *n = opaque;
	const struct cli_path_decl *d = cli_option_path(name);
	const struct device_desc *dev = device_of(name);

	(*n)++;
	cr_assert(d,
		  "--%s is not declared in vmm/cli/cli.c's path_decls[]: say whether its "
		  "argument names a host path (and a restore checks it)",
		  name);
	if (d->use == CLI_PATH_ARG || d->use == CLI_PATH_BOOT)
		cr_assert(d->access && d->what, "--%s names a path: its access and its name", name);
	if (d->use == CLI_PATH_ARG || d->use == CLI_PATH_REFUSED)
		cr_assert(recorded && d->what, "--%s: a path a snapshot records", name);
	if (d->use == CLI_PATH_PROCESS)
		cr_assert_not(recorded, "--%s is recorded: a snapshot would name its path", name);
	if (d->use == CLI_PATH_CLAIMS)
		cr_assert(dev && dev->claims, "--%s: its paths are its descriptor's claims", name);
	if (dev)
		cr_assert(d->use == CLI_PATH_NONE || d->use == CLI_PATH_CLAIMS ||
			      d->use == CLI_PATH_REFUSED,
			  "--%s, a device option: its paths are its claims", name);
	return 0;
}

Test(restore_paths, every_option_declares_the_host_paths_it_names)
{
	int n = 0;
	cr_assert_eq(cli_options_each(declared, &n), 0);
	cr_assert_gt(n, 60, "only %d options walked", n);
	cr_assert_null(cli_option_path("no-such-option"));
	cr_assert_eq(cli_option_path("firmware")->use, CLI_PATH_ARG);
	cr_assert_eq(cli_option_path("firmware")->access, RESTORE_READ);
	cr_assert_eq(cli_option_path("firmware-log")->use, CLI_PATH_BOOT,
		     "the firmware's log is written only while it runs: a restore never opens it");
	cr_assert_eq(cli_option_path("kernel")->use, CLI_PATH_BOOT);
}

/* ---- the core's path options ---- */

Test(restore_paths, each_lists_the_firmware)
{
	struct vm_config cfg;
	struct seen s = {.n = 0};
	vm_config_init(&cfg);
	apply(&cfg, "kernel", "/k/bzImage");
	apply(&cfg, "initrd", "/k/initrd");
	apply(&cfg, "firmware", "/fw/bios.bin");
	apply(&cfg, "firmware-log", "/log/fw.log");
	apply(&cfg, "disk", "/d/a.img");
	cr_assert_eq(restore_paths_each(&cfg, collect, &s), 0);
	cr_assert_eq(s.n, 2, "the kernel, initrd and firmware log are never opened by a restore");
	cr_assert_str_eq(s.what[0], "firmware");
	cr_assert_str_eq(s.name[0], "/fw/bios.bin");
	cr_assert_eq(s.access[0], RESTORE_READ);
	cr_assert_str_eq(s.name[1], "/d/a.img");
	cli_free(&cfg);
}

Test(restore_paths, a_firmware_outside_the_folder_is_refused_by_name)
{
	struct vm_config cfg;
	char err[512];
	vm_config_init(&cfg);
	apply(&cfg, "firmware", "/any/file");
	cr_assert_eq(restore_paths_check(&cfg, &in_snap, err, sizeof(err)), -EACCES);
	cr_assert_str_eq(err,
			 "the snapshot names firmware /any/file outside its folder: allow it with "
			 "--restore DIR --firmware PATH or --landlock-rules /any:ro");
	const struct restore_allow ro = {.dir = "/srv/snap", .rules = "/any:ro"};
	cr_assert_eq(restore_paths_check(&cfg, &ro, err, sizeof(err)), 0, "%s", err);
	const char *const given[] = {"/any/file"};
	const struct restore_allow override = {.dir = "/srv/snap", .paths = given, .npaths = 1};
	cr_assert_eq(restore_paths_check(&cfg, &override, err, sizeof(err)), 0, "%s", err);
	cli_free(&cfg);

	vm_config_init(&cfg);
	apply(&cfg, "firmware", "/srv/snap/bios.bin");
	cr_assert_eq(restore_paths_check(&cfg, &in_snap, err, sizeof(err)), 0, "%s", err);
	apply(&cfg, "firmware-log", "/any/fw.log");
	cr_assert_eq(restore_paths_check(&cfg, &in_snap, err, sizeof(err)), 0,
		     "a restore never writes the firmware's log: %s", err);
	cli_free(&cfg);
}

Test(restore_paths, a_passed_through_device_is_always_refused)
{
	struct vm_config cfg;
	char err[512];
	vm_config_init(&cfg);
	cfg.transport = TRANSPORT_PCI;
	apply(&cfg, "transport", "pci");
	apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:01:00.0");
	const struct restore_allow all = {.dir = "/", .rules = "/:rw"};
	cr_assert_eq(restore_paths_check(&cfg, &all, err, sizeof(err)), -EACCES);
	cr_assert(strstr(err, "passed-through host device"), "%s", err);
	cli_free(&cfg);
}

/* ---- symbolic links inside the snapshot's folder ---- */

static char top[] = "/tmp/test_restore_paths.XXXXXX", snapdir[128], outside[128], state[160];

static void link_setup(void)
{
	cr_assert(mkdtemp(top));
	snprintf(snapdir, sizeof(snapdir), "%s/snap", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(state, sizeof(state), "%s/state", snapdir);
	cr_assert_eq(mkdir(snapdir, 0700), 0);
	cr_assert_eq(mkdir(outside, 0700), 0);
}

static void link_teardown(void)
{
	host_path_unconfine_all();
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	cr_assert_eq(system(cmd), 0);
}

/* A state file at `where` whose configuration is `options` (a JSON array). */
static void write_state(const char *where, const char *options)
{
	struct snap_writer w;
	char config[1024], err[300];
	snprintf(config, sizeof(config),
		 "{\"version\": 1, \"mem_size\": 268435456, \"vcpus\": 1, \"options\": %s}",
		 options);
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(snap_put(&w, SNAP_CONFIG, 0, config, strlen(config)), 0);
	cr_assert_eq(snap_writer_save(&w, where, err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);
}

/* A file `path` holding "secret". */
static void write_secret(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs("secret", f);
	fclose(f);
}

static void assert_secret(const char *path)
{
	char buf[16] = "";
	FILE *f = fopen(path, "r");
	cr_assert(f);
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "secret", "%s was changed", path);
}

TestSuite(restore_links, .init = link_setup, .fini = link_teardown);

Test(restore_links, a_linked_state_file_is_refused)
{
	char real[200], err[HOST_PATH_ERR_MAX + 64], want[400];
	struct vm_config cfg;
	struct snapshot_load l;
	snprintf(real, sizeof(real), "%s/state", outside);
	write_state(real, "[]");
	cr_assert_eq(symlink(real, state), 0);
	vm_config_init(&cfg);
	cr_assert_lt(snapshot_open(&l, state, NULL, &cfg, NULL, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s: a symbolic link inside %s, refused here", state, snapdir);
	cr_assert(strstr(err, want), "%s", err);
	snapshot_close(&l);
	cli_free(&cfg);
}

/* A console file and a disk in the folder that link outside it pass the lexical check and are
 * then refused by the open, the files they point at left as they were. */
Test(restore_links, linked_files_and_folders_inside_are_refused_by_the_open)
{
	char target[200], link[200], opts[600], err[HOST_PATH_ERR_MAX + 64], want[400];
	struct vm_config cfg;
	struct snapshot_load l;
	const char *names[] = {"console.txt", "disk.img", "sub"};

	snprintf(target, sizeof(target), "%s/target", outside);
	write_secret(target);
	snprintf(link, sizeof(link), "%s/console.txt", snapdir);
	cr_assert_eq(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/disk.img", snapdir);
	cr_assert_eq(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/sub", snapdir);
	cr_assert_eq(symlink(outside, link), 0);
	snprintf(opts, sizeof(opts),
		 "[[\"console\", \"file:%s/console.txt\"], [\"disk\", \"%s/disk.img\"], "
		 "[\"pmem\", \"path=%s/sub/target\"]]",
		 snapdir, snapdir, snapdir);
	write_state(state, opts);
	vm_config_init(&cfg);
	cr_assert_eq(snapshot_open(&l, state, NULL, &cfg, NULL, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 3; i++) {
		char path[300];
		snprintf(path, sizeof(path), "%s/%s%s", snapdir, names[i], i == 2 ? "/target" : "");
		int fd = host_path_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600, HOST_PATH_REGULAR,
					err, sizeof(err));
		cr_assert_lt(fd, 0, "%s was opened", path);
		snprintf(want, sizeof(want), "%s/%s: a symbolic link inside %s, refused here",
			 snapdir, i == 2 ? "sub/target" : names[i], snapdir);
		cr_assert_str_eq(err, want);
	}
	cr_assert_neq(device_table_check(&cfg), 0, "the devices' checks open through links");
	assert_secret(target);
	snapshot_close(&l);
	cli_free(&cfg);
	/* a failed restore forgets the folder: the operator's own opens are as before */
	host_path_unconfine_all();
	int fd = host_path_open(link, O_RDONLY, 0, HOST_PATH_DIR, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
}
