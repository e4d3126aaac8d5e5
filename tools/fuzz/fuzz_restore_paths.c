/* libFuzzer target: a snapshot's configuration section (or a migration's HELLO configuration)
 * replayed by the VMM's own restore path (vmm/snapshot/vm_snapshot.c: the options parsed, the
 * overrides applied, every host path and tap checked by vmm/snapshot/restore_paths.c), then, when
 * accepted, the devices' host checks that run before KVM (device_table_check(): the first code
 * that opens what the configuration names: disks, the console file, pmem files, an input
 * script...).
 * Input: one mode byte, then the configuration: JSON as the state file holds it ("{...}"), or
 * anything else taken as its option list (wrapped in {"version": 1, ...}). Mode bit 0: a
 * restore (snapshot_open() of a state file in the snapshot folder S), else a migration
 * (snapshot_open_config(): no folder); bit 1: the process's --landlock-rules are R:rw, else
 * R:ro; bits 2-4: the overrides given (NIC 0's tap "fz0", drive1's file G/disk, the vsock's
 * socket G/sock); bit 5: run the device checks on an accepted configuration.
 * Invariant: while the restore path and the checks run, every open(), openat(), creat(),
 * fopen() and openat2 syscall (interposed here: the opens beneath the confined folder S go
 * through openat2) names a path under S (a restore), or under R (writing only with rw), or
 * exactly an override's path; a path with a ".." component is never opened. The same holds for
 * every path an accepted configuration's core options name (the firmware and its log:
 * vmm/cli/cli.h's CLI_PATH_ARG), which the device checks do not open. A
 * configuration with a tap NIC skips the device checks (a tap the operator named would be
 * created: not for a fuzzer). Files the checks create under S and R are removed after each
 * input. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "base/host_path.h"
#include "base/snapshot_io.h"
#include "tools/fuzz/fuzz_mem.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/restore_paths.h"
#include "vmm/snapshot/vm_snapshot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[64], snap_dir[128], rules_dir[128], state_path[160], given_disk[160],
    given_sock[160], rules[200];
static bool guarded, restore_mode, rules_rw;
static bool disk_given, sock_given;

/* ---- the watch on every open ---- */

static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* `path` (relative to `base`) as an absolute path without "." components or repeated "/";
 * false when it has a ".." component. */
static bool lexical(const char *base, const char *path, char *out, size_t len)
{
	char joined[2 * PATH_MAX];
	size_t n = 0;

	snprintf(joined, sizeof(joined), "%s/%s", path[0] == '/' ? "" : base, path);
	for (const char *p = joined; *p;) {
		size_t c = strcspn(p, "/");
		if (c == 2 && !strncmp(p, "..", 2))
			return false;
		if (c && !(c == 1 && *p == '.') && n + c + 2 < len) {
			out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
		p += c + (p[c] == '/');
	}
	if (!n)
		out[n++] = '/';
	out[n] = 0;
	return true;
}

/* Whether absolute, lexical `abs` is in the allowed set (`writes`: to write or create it). */
static bool allowed(const char *abs, bool writes)
{
	return (restore_mode && beneath(abs, snap_dir)) ||
	       (beneath(abs, rules_dir) && (rules_rw || !writes)) ||
	       (disk_given && !strcmp(abs, given_disk)) || (sock_given && !strcmp(abs, given_sock));
}

/* A broken invariant: the watch ends first, so that libFuzzer may write its crash file. */
#define WATCH_ASSERT(cond, ...)                                                                    \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			guarded = false;                                                           \
			fz_fail(__VA_ARGS__);                                                      \
		}                                                                                  \
	} while (0)

static void watch(int dirfd, const char *path, int flags)
{
	char base[PATH_MAX] = "", abs[2 * PATH_MAX], link[64];

	if (!guarded || !path)
		return;
	if (path[0] != '/' && dirfd == AT_FDCWD)
		WATCH_ASSERT(getcwd(base, sizeof(base)), "getcwd: %s", strerror(errno));
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		ssize_t n = readlink(link, base, sizeof(base) - 1);
		WATCH_ASSERT(n > 0, "openat(%d, %s): the folder of that fd is unknown", dirfd,
			     path);
		base[n] = 0;
	}
	WATCH_ASSERT(lexical(base, path, abs, sizeof(abs)), "opened %s, a path with `..`", path);
	bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
	WATCH_ASSERT(allowed(abs, writes),
		     "opened %s (flags %#x), which the operator did not allow", abs, flags);
}

static int fopen_flags(const char *mode)
{
	int rw = strchr(mode, '+') ? O_RDWR : 0;
	if (mode[0] == 'r')
		return rw ? rw : O_RDONLY;
	return (rw ? rw : O_WRONLY) | O_CREAT;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	watch(AT_FDCWD, path, flags);
	return REAL(open)(path, flags, m);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	watch(AT_FDCWD, path, flags);
	return REAL(open64)(path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	watch(dirfd, path, flags);
	return REAL(openat)(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	watch(dirfd, path, flags);
	return REAL(openat64)(dirfd, path, flags, m);
}

/* _FORTIFY_SOURCE's checked forms */
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	watch(AT_FDCWD, path, flags);
	return REAL(open)(path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	watch(AT_FDCWD, path, flags);
	return REAL(open64)(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	watch(dirfd, path, flags);
	return REAL(openat)(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	watch(dirfd, path, flags);
	return REAL(openat64)(dirfd, path, flags);
}

int creat(const char *path, mode_t mode)
{
	watch(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC);
	return REAL(creat)(path, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	watch(AT_FDCWD, path, fopen_flags(mode));
	return REAL(fopen)(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	watch(AT_FDCWD, path, fopen_flags(mode));
	return REAL(fopen64)(path, mode);
}

/* host_path_open_beneath()'s opens (base/host_path_beneath.c): openat2 has no libc wrapper.
 * Its four arguments are read as such; any other call passes on five, all taken from the
 * argument registers (never past the caller's arguments on the stack, which the sanitizer would
 * refuse): no call in this process passes six. */
long syscall(long n, ...)
{
	va_list ap;
	long a[5];

	va_start(ap, n);
	for (int i = 0; i < (n == SYS_openat2 ? 4 : 5); i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_openat2) {
		const struct open_how *how = (const struct open_how *)a[2];
		if (how)
			watch((int)a[0], (const char *)a[1], (int)how->flags);
		return REAL(syscall)(n, a[0], a[1], a[2], a[3]);
	}
	return REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4]);
}

/* An accepted configuration's core path options (cli.h's CLI_PATH_ARG: the firmware, its
 * log), which no device check opens: each must be in the allowed set too, with its access. */
static void check_core_paths(const struct vm_config *cfg)
{
	char cwd[PATH_MAX], abs[2 * PATH_MAX];

	WATCH_ASSERT(getcwd(cwd, sizeof(cwd)), "getcwd: %s", strerror(errno));
	for (int i = 0; i < cfg->nrecorded; i++) {
		const struct cli_path_decl *d = cli_option_path(cfg->recorded[i].name);
		const char *path = cfg->recorded[i].arg;
		WATCH_ASSERT(d, "--%s is recorded and not declared", cfg->recorded[i].name);
		WATCH_ASSERT(d->use != CLI_PATH_REFUSED, "accepted --%s %s", d->option,
			     path ? path : "");
		if (d->use != CLI_PATH_ARG || !path)
			continue;
		WATCH_ASSERT(lexical(cwd, path, abs, sizeof(abs)), "accepted --%s %s, with `..`",
			     d->option, path);
		WATCH_ASSERT(allowed(abs, d->access & ~RESTORE_READ),
			     "accepted --%s %s, which the operator did not allow", d->option, abs);
	}
}

/* ---- the target ---- */

/* `arg` with a relative path in it (a corpus folder, or the value of -artifact_prefix= and the
 * like) made absolute against `cwd`: this process moves to its own folder below. */
static char *absolute_arg(const char *arg, const char *cwd)
{
	const char *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;
	const char *path = eq ? eq + 1 : arg[0] == '-' ? NULL : arg;
	char *out;

	if (!path || !path[0] || path[0] == '/' || (eq && !strchr("./", path[0]) && !eq[1]))
		return (char *)arg;
	if (eq && strncmp(arg, "-artifact_prefix=", 17) &&
	    strncmp(arg, "-exact_artifact_path=", 21) && strncmp(arg, "-dict=", 6) &&
	    strncmp(arg, "-merge_control_file=", 20))
		return (char *)arg;
	if (asprintf(&out, "%.*s%s/%s", (int)(path - arg), arg, cwd, path) < 0)
		abort();
	return out;
}

/* Removes what the device checks created in `dir` (the state file stays). */
static void clean(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "state"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
}

/* At exit: the folder goes (a crash keeps it, with the files its input made). */
static void remove_top(void)
{
	unlink(state_path);
	clean(snap_dir);
	clean(rules_dir);
	rmdir(snap_dir);
	rmdir(rules_dir);
	rmdir(top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char cwd[PATH_MAX];
	char **args = calloc((size_t)*argc + 1, sizeof(char *));

	if (!args || !getcwd(cwd, sizeof(cwd)))
		abort();
	for (int i = 0; i < *argc; i++)
		args[i] = i ? absolute_arg((*argv)[i], cwd) : (*argv)[0];
	*argv = args;
	/* the configuration's relative paths start in the fuzzer's own folder */
	snprintf(top, sizeof(top), "/tmp/fuzz_restore_paths.XXXXXX");
	if (!mkdtemp(top) || chdir(top))
		abort();
	snprintf(snap_dir, sizeof(snap_dir), "%s/snap", top);
	snprintf(rules_dir, sizeof(rules_dir), "%s/rules", top);
	snprintf(state_path, sizeof(state_path), "%s/state", snap_dir);
	snprintf(given_disk, sizeof(given_disk), "%s/given/disk", top);
	snprintf(given_sock, sizeof(given_sock), "%s/given/sock", top);
	/* host_path_init(): relative paths beneath S are confined as the VMM's are */
	if (mkdir(snap_dir, 0700) || mkdir(rules_dir, 0700) || restore_paths_init() ||
	    host_path_init())
		abort();
	/* jansson reads its hash seed from /dev/urandom at its first object: a library's own file,
	 * not one a configuration names, read before the watch begins */
	json_decref(json_object());
	atexit(remove_top);
	return 0;
}

static bool write_state(const char *config, size_t len)
{
	struct snap_writer w;
	const uint8_t *bytes;
	size_t n;
	bool ok = false;

	if (snap_writer_init(&w))
		return false;
	if (!snap_put(&w, SNAP_CONFIG, 0, config, len) && !snap_writer_finish(&w, &bytes, &n)) {
		int fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		ok = fd >= 0 && write(fd, bytes, n) == (ssize_t)n;
		if (fd >= 0)
			close(fd);
	}
	snap_writer_free(&w);
	return ok;
}

static bool has_tap(const struct vm_config *cfg)
{
	for (int i = 0; i < dev_net_count(cfg); i++)
		if (dev_net_opts(cfg, i)->kind == VIRTIO_NET_TAP)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	uint8_t mode = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char *config = malloc(len + 128);
	if (!config)
		return 0;
	if (len && text[0] == '{')
		memcpy(config, text, len);
	else
		len = (size_t)snprintf(config, len + 128,
				       "{\"version\":1,\"mem_size\":268435456,\"vcpus\":1,"
				       "\"options\":%.*s}",
				       (int)len, text);
	config[len] = 0;

	restore_mode = mode & 1;
	rules_rw = mode & 2;
	disk_given = mode & 8;
	sock_given = mode & 16;
	snprintf(rules, sizeof(rules), "%s:%s", rules_dir, rules_rw ? "rw" : "ro");
	struct snapshot_nic_override nic = {.index = 0, .spec = "tap=fz0"};
	struct snapshot_path_override paths[2];
	struct snapshot_overrides ov = {.nics = &nic, .nnics = (mode & 4) ? 1 : 0, .paths = paths};
	if (disk_given)
		paths[ov.npaths++] = (struct snapshot_path_override){
		    .option = "disk", .id = "drive1", .path = given_disk};
	if (sock_given)
		paths[ov.npaths++] = (struct snapshot_path_override){
		    .option = "vsock", .id = "", .path = given_sock};

	struct vm_config cfg;
	struct snapshot_load l;
	char err[512];
	vm_config_init(&cfg);
	cfg.landlock_rules = rules;
	if (restore_mode && !write_state(config, len)) {
		free(config);
		cli_free(&cfg);
		return 0;
	}
	guarded = true;
	int r = restore_mode ? snapshot_open(&l, state_path, NULL, &cfg, &ov, err, sizeof(err))
			     : snapshot_open_config(&l, config, &cfg, err, sizeof(err));
	FZ_ASSERT(r <= 0, "restore returned %d", r);
	FZ_ASSERT(!r || err[0], "refused (%d) without a message", r);
	FZ_ASSERT(r != -EACCES || strstr(err, "the snapshot names"), "-EACCES: %s", err);
	if (!r)
		check_core_paths(&cfg);
	if (!r && (mode & 32) && !has_tap(&cfg))
		(void)device_table_check(&cfg);
	guarded = false;
	host_path_unconfine_all(); /* as a failed restore does; S is confined again next time */
	snapshot_close(&l);
	cli_free(&cfg);
	clean(snap_dir);
	clean(rules_dir);
	free(config);
	return 0;
}
