/* tools/vmm-jail/jail_spec.c: ids, jail paths, --file and --cgroup parsing, the cgroup v1
 * translation and uid/gid numbers. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/resource.h>

#include "tools/vmm-jail/jail_spec.h"

static char err[JAIL_ERRLEN];

Test(jail_spec, ids)
{
	cr_assert_eq(jail_check_id("vm-1-a-b", err), 0);
	cr_assert_eq(
	    jail_check_id("0123456789012345678901234567890123456789012345678901234567890123", err),
	    0);
	const char *bad[] = {
	    "",	   "a/b",  ".",
	    "..",  "a..b", "../x",
	    "a b", "x\n",  "0123456789012345678901234567890123456789012345678901234567890123x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_neq(jail_check_id(bad[i], err), 0, "id \"%s\" accepted", bad[i]);
		cr_assert_neq(err[0], '\0');
	}
}

Test(jail_spec, jail_paths)
{
	cr_assert_eq(jail_check_jail_path("/hello.elf", err), 0);
	cr_assert_eq(jail_check_jail_path("/a/b.c/..d", err), 0);
	const char *bad[] = {"", "rel", "/", "/a/../b", "/..", "/a/.", "//a", "/a/", "/a//b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(jail_check_jail_path(bad[i], err), 0, "path \"%s\" accepted", bad[i]);
}

Test(jail_spec, files)
{
	struct jail_file f;
	cr_assert_eq(jail_parse_file("/build/hello.elf", &f, err), 0);
	cr_assert_str_eq(f.host, "/build/hello.elf");
	cr_assert_str_eq(f.jail, "/hello.elf");
	cr_assert(!f.rw);
	cr_assert_eq(jail_parse_file("/x/disk.img:/disks/root.img:rw", &f, err), 0);
	cr_assert_str_eq(f.host, "/x/disk.img");
	cr_assert_str_eq(f.jail, "/disks/root.img");
	cr_assert(f.rw);
	cr_assert_eq(jail_parse_file("disk.img:rw", &f, err), 0);
	cr_assert_str_eq(f.jail, "/disk.img");
	cr_assert(f.rw);
	cr_assert_eq(jail_parse_file("/a:/b:ro", &f, err), 0);
	cr_assert(!f.rw);
	cr_assert_str_eq(f.jail, "/b");
	cr_assert_neq(jail_parse_file(":/b", &f, err), 0);
	cr_assert_neq(jail_parse_file("/a:b", &f, err), 0);
	cr_assert_neq(jail_parse_file("/a:/../etc/passwd", &f, err), 0);
	cr_assert_neq(jail_parse_file("/a:/", &f, err), 0);
	cr_assert_neq(jail_parse_file("/dir/", &f, err), 0);
	/* a third field that is no mode is refused, not taken into the jail path ("/h:rx") */
	cr_assert_neq(jail_parse_file("/h:/h:rx", &f, err), 0);
	cr_assert(strstr(err, "\"rx\" is not a mode"), "%s", err);
	cr_assert_neq(jail_parse_file("/h:/a:/b:rw", &f, err), 0);
}

Test(jail_spec, limits)
{
	struct jail_limit l;
	cr_assert_eq(jail_parse_limit("cpu.max=50000 100000", &l, err), 0);
	cr_assert_str_eq(l.controller, "cpu");
	cr_assert_str_eq(l.file, "cpu.max");
	cr_assert_str_eq(l.value, "50000 100000");
	cr_assert_eq(jail_parse_limit("memory.swap.max=0", &l, err), 0);
	cr_assert_str_eq(l.controller, "memory");
	cr_assert_str_eq(l.file, "memory.swap.max");
	const char *bad[] = {"pids",	 "pids=1",	 ".max=1",	   "pids.=1",	"pids.max=",
			     "../x.y=1", "pids.max/x=1", "cgroup.procs=1", "Pids.max=1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(jail_parse_limit(bad[i], &l, err), 0, "\"%s\" accepted", bad[i]);
}

static int v1(const char *spec, struct jail_v1_write w[2])
{
	struct jail_limit l;
	cr_assert_eq(jail_parse_limit(spec, &l, err), 0, "%s: %s", spec, err);
	return jail_limit_v1(&l, w, err);
}

Test(jail_spec, v1_translation)
{
	struct jail_v1_write w[2];
	cr_assert_eq(v1("cpu.max=50000 200000", w), 2);
	cr_assert_str_eq(w[0].file, "cpu.cfs_period_us");
	cr_assert_str_eq(w[0].value, "200000");
	cr_assert_str_eq(w[1].file, "cpu.cfs_quota_us");
	cr_assert_str_eq(w[1].value, "50000");
	cr_assert_eq(v1("cpu.max=max", w), 2);
	cr_assert_str_eq(w[0].value, "100000");
	cr_assert_str_eq(w[1].value, "-1");
	cr_assert_eq(v1("memory.max=512M", w), 1);
	cr_assert_str_eq(w[0].file, "memory.limit_in_bytes");
	cr_assert_str_eq(w[0].value, "512M");
	cr_assert_eq(v1("memory.max=max", w), 1);
	cr_assert_str_eq(w[0].value, "-1");
	cr_assert_eq(v1("pids.max=max", w), 1);
	cr_assert_str_eq(w[0].file, "pids.max");
	cr_assert_str_eq(w[0].value, "max");
	cr_assert_lt(v1("cpu.max=half", w), 0);
	cr_assert_lt(v1("cpu.max=100 0", w), 0);
	cr_assert_lt(v1("cpu.max=100 x", w), 0);
}

Test(jail_spec, id_numbers)
{
	unsigned v;
	cr_assert_eq(jail_parse_id_number("65534", &v, err), 0);
	cr_assert_eq(v, 65534);
	const char *bad[] = {"0", "-1", "+5", " 5", "5x", "", "4294967295", "99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(jail_parse_id_number(bad[i], &v, err), 0, "\"%s\" accepted", bad[i]);
}

/* Firecracker's jailer: ids of letters, digits and hyphens only. */
Test(jail_spec, firecracker_ids)
{
	cr_assert_eq(jail_check_id("551e7604-e35c-42b3-b825-416853441234", err), 0);
	const char *bad[] = {"vm_1", "vm.1", "a b", "-/x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(jail_check_id(bad[i], err), 0, "id \"%s\" accepted", bad[i]);
}

Test(jail_spec, exec_name_and_chroot_dir)
{
	char name[JAIL_NAME_MAX], dir[JAIL_PATH_MAX];
	cr_assert_eq(jail_exec_name("/usr/bin/vmm", name, err), 0);
	cr_assert_str_eq(name, "vmm");
	cr_assert_eq(jail_exec_name("vmm", name, err), 0);
	cr_assert_str_eq(name, "vmm");
	cr_assert_neq(jail_exec_name("/usr/bin/", name, err), 0);
	cr_assert_neq(jail_exec_name("/usr/..", name, err), 0);
	cr_assert_eq(jail_chroot_dir("/srv/jailer", "vmm", "vm-1", dir, sizeof(dir), err), 0);
	cr_assert_str_eq(dir, "/srv/jailer/vmm/vm-1/root");
	cr_assert_eq(jail_chroot_dir("/srv/jailer//", "vmm", "a", dir, sizeof(dir), err), 0);
	cr_assert_str_eq(dir, "/srv/jailer/vmm/a/root");
	cr_assert_eq(jail_chroot_dir("/", "vmm", "a", dir, sizeof(dir), err), 0);
	cr_assert_str_eq(dir, "/vmm/a/root");
	cr_assert_neq(jail_chroot_dir("srv", "vmm", "a", dir, sizeof(dir), err), 0);
	cr_assert_neq(jail_chroot_dir("/srv/jailer", "vmm", "a", dir, 20, err), 0);
}

Test(jail_spec, resource_limits)
{
	struct jail_rlimit r;
	cr_assert_eq(jail_parse_rlimit("fsize=250000000", &r, err), 0);
	cr_assert_eq(r.resource, RLIMIT_FSIZE);
	cr_assert_eq(r.value, 250000000ull);
	cr_assert_eq(jail_parse_rlimit("no-file=1024", &r, err), 0);
	cr_assert_eq(r.resource, RLIMIT_NOFILE);
	cr_assert_eq(r.value, 1024ull);
	const char *bad[] = {"fsize",	  "fsize=", "fsize=-1", "fsize=1k",	   "nofile=10",
			     "no-file=1", "cpu=1",  "=5",	"no-file=99999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(jail_parse_rlimit(bad[i], &r, err), 0, "\"%s\" accepted", bad[i]);
}

Test(jail_spec, cgroup_version_and_parent)
{
	int v = 0;
	cr_assert_eq(jail_parse_cgroup_version("1", &v, err), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(jail_parse_cgroup_version("2", &v, err), 0);
	cr_assert_eq(v, 2);
	cr_assert_neq(jail_parse_cgroup_version("3", &v, err), 0);
	cr_assert_neq(jail_parse_cgroup_version("", &v, err), 0);
	cr_assert_eq(jail_check_parent_cgroup("all_uvms/external_uvms", err), 0);
	cr_assert_eq(jail_check_parent_cgroup("vmm", err), 0);
	const char *bad[] = {"", "/abs", "a/../b", "..", "a//b", "a/", "a b", "a/./b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(jail_check_parent_cgroup(bad[i], err), 0, "\"%s\" accepted", bad[i]);
}
