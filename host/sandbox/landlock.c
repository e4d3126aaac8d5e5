/* Landlock rulesets through raw system calls. See landlock.h. */
#include "host/sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/options.h"

/* Rights newer than this system's header (the values are the kernel's ABI). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13) /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif

#define FS_V1                                                                                      \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                              \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* The rights that make sense on a file rather than a directory (the kernel refuses others). */
#define FS_FILE_RIGHTS                                                                             \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)

int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v < 0 ? -errno : (int)v;
}

/* Everything the ruleset denies unless a rule allows it, for this ABI. */
static uint64_t handled(int abi)
{
	uint64_t h = FS_V1;
	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return h;
}

/* LANDLOCK_* bits as kernel rights (before masking by ABI and by file or directory). */
static uint64_t rights(unsigned access)
{
	uint64_t r = 0;
	if (access & LANDLOCK_READ)
		r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (access & LANDLOCK_WRITE)
		r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
	/* REFER: a snapshot's "x.tmp" renamed to "x" stays in its directory, but a rename from
	 * one allowed directory to another needs it */
	if (access & LANDLOCK_CHANGE)
		r |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REFER;
	return r;
}

static int add_path(int ruleset, const struct landlock_path *p, uint64_t handled_fs)
{
	int fd = open(p->path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		log_debug("landlock: %s: %s: no rule", p->path, strerror(errno));
		return 0; /* nothing there to allow; the kernel denies it like any other path */
	}
	struct stat st;
	uint64_t want = rights(p->access) & handled_fs;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		want &= FS_FILE_RIGHTS;
	struct landlock_path_beneath_attr attr = {.allowed_access = want, .parent_fd = fd};
	int err = 0;
	if (want && syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0))
		err = -errno;
	close(fd);
	if (err)
		log_error("landlock: rule for %s: %s", p->path, strerror(-err));
	return err;
}

int landlock_ruleset_build(const struct landlock_path *paths, size_t n, int abi)
{
	if (abi < 1)
		return -EOPNOTSUPP;
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled(abi)};
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		int err = add_path(fd, &paths[i], attr.handled_access_fs);
		if (err) {
			close(fd);
			return err;
		}
	}
	return fd;
}

int landlock_restrict(int fd)
{
	return syscall(SYS_landlock_restrict_self, fd, 0) ? -errno : 0;
}

/* True when `path` is `dir` or beneath it (whole components). */
static bool beneath(const char *dir, const char *path)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (strncmp(dir, path, len))
		return false;
	return path[len] == '\0' || path[len] == '/' || (len == 1 && dir[0] == '/');
}

/* Absolute and without "." or ".." components: what the lexical check can judge. */
static bool plain_absolute(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; (p = strchr(p, '/')); p++) {
		size_t dots = strspn(p + 1, ".");
		if ((dots == 1 || dots == 2) && (p[1 + dots] == '/' || p[1 + dots] == '\0'))
			return false;
	}
	return true;
}

bool landlock_paths_cover(const struct landlock_path *paths, size_t n, const char *path,
			  unsigned access)
{
	if (!plain_absolute(path))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((paths[i].access & access) == access && beneath(paths[i].path, path))
			return true;
	return false;
}

/* One "PATH:ro" or "PATH:rw" of `len` bytes, a comma of PATH written ",," (base/options.h). */
static int parse_one(const char *s, size_t len,
		     int (*add)(const char *path, unsigned access, void *opaque), void *opaque)
{
	if (len < 4 || s[len - 3] != ':')
		return -EINVAL;
	unsigned access;
	if (!strncmp(s + len - 2, "ro", 2))
		access = LANDLOCK_READ;
	else if (!strncmp(s + len - 2, "rw", 2))
		access = LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE;
	else
		return -EINVAL;
	char *path = opts_item_text(s, len - 3);
	if (!path)
		return -ENOMEM;
	int err = add(path, access, opaque);
	free(path);
	return err;
}

int landlock_parse_rules(const char *s, int (*add)(const char *path, unsigned access, void *opaque),
			 void *opaque)
{
	if (!*s)
		return -EINVAL;
	for (;;) {
		const char *end = opts_item_end(s);
		int err = parse_one(s, (size_t)(end - s), add, opaque);
		if (err || !*end)
			return err;
		s = end + 1;
	}
}
