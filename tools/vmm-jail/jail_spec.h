/* vmm-jail: the pure parts of its command line (no system calls), so the unit tests
 * (tests/unit/tools/vmm-jail/test_vmm_jail_spec.c) can check every rule. Each function returns 0
 * when the text is acceptable, or -EINVAL and writes a one-line reason into err (ERRLEN bytes). */
#ifndef VMM_JAIL_SPEC_H
#define VMM_JAIL_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#define JAIL_ERRLEN	  160
#define JAIL_ID_MAX	  64
#define JAIL_PATH_MAX	  4096
#define JAIL_CG_NAME_MAX  64
#define JAIL_CG_VALUE_MAX 128

/* An id names a folder and a cgroup: 1-64 letters, digits and hyphens, as Firecracker's jailer
 * takes them (so it can never climb out of the chroot base). */
int jail_check_id(const char *id, char *err);

/* A path as the jail sees it: absolute, at most JAIL_PATH_MAX - 1 bytes, no "." or ".."
 * component, not "/" itself, no empty component ("//"). */
int jail_check_jail_path(const char *path, char *err);

/* --file HOST_PATH[:JAIL_PATH][:rw|:ro]: host is a copy of HOST_PATH, jail a copy of
 * JAIL_PATH or "/" + the last component of HOST_PATH; rw is true only with ":rw". A third
 * field other than rw or ro ("H:/h:rx") is refused, not taken into the jail path. */
struct jail_file {
	char host[JAIL_PATH_MAX];
	char jail[JAIL_PATH_MAX];
	bool rw;
};
int jail_parse_file(const char *spec, struct jail_file *out, char *err);

/* --cgroup CONTROLLER.FILE=VALUE, in cgroup2 names (cpu.max, memory.max, pids.max, ...).
 * controller is the part before the first '.'; names are [a-z0-9_.] only (no path). */
struct jail_limit {
	char controller[JAIL_CG_NAME_MAX];
	char file[JAIL_CG_NAME_MAX];
	char value[JAIL_CG_VALUE_MAX];
};
int jail_parse_limit(const char *spec, struct jail_limit *out, char *err);

/* The same limit on a cgroup v1 hierarchy: up to 2 (file, value) writes, in order.
 * cpu.max "QUOTA [PERIOD]" -> cpu.cfs_period_us, cpu.cfs_quota_us ("max" -> -1);
 * memory.max -> memory.limit_in_bytes ("max" -> -1); any other name (pids.max, cpuset.cpus)
 * is written under its own name. Returns the number of writes, or -EINVAL (bad cpu.max). */
struct jail_v1_write {
	char file[JAIL_CG_NAME_MAX];
	char value[JAIL_CG_VALUE_MAX];
};
int jail_limit_v1(const struct jail_limit *l, struct jail_v1_write out[2], char *err);

/* The uid or gid of --uid / --gid: a decimal number 1..2^32-2 (0 would be no jail at all,
 * -1 means "unchanged" to setresuid). */
int jail_parse_id_number(const char *text, unsigned *out, char *err);

/* The last component of --exec-file (Firecracker's exec_file_name): a folder of the layout and
 * the file's name in the jail. Refused: an empty name (a path ending in '/'), "." or "..".
 * Written into out (JAIL_NAME_MAX bytes). */
#define JAIL_NAME_MAX 256
int jail_exec_name(const char *exec, char *out, char *err);

/* Firecracker's layout: <base>/<exec_name>/<id>/root into out (size bytes); base is absolute,
 * without a trailing '/' unless it is "/". Returns 0, or -EINVAL when it does not fit or base
 * is not absolute. */
int jail_chroot_dir(const char *base, const char *exec_name, const char *id, char *out, size_t size,
		    char *err);

/* --resource-limit RESOURCE=VALUE: fsize (RLIMIT_FSIZE, bytes) or no-file (RLIMIT_NOFILE: one
 * more than the highest fd number), a decimal number. */
struct jail_rlimit {
	int resource; /* RLIMIT_FSIZE or RLIMIT_NOFILE */
	unsigned long long value;
};
int jail_parse_rlimit(const char *spec, struct jail_rlimit *out, char *err);

/* --cgroup-version 1 or 2. */
int jail_parse_cgroup_version(const char *text, int *out, char *err);

/* --parent-cgroup: a relative cgroup path, components of [A-Za-z0-9._-] (not "." or ".."),
 * no empty component, at most 255 bytes. */
int jail_check_parent_cgroup(const char *path, char *err);

#endif
