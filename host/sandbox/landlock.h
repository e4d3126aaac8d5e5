/* Landlock: the files the process may still open once a VM is set up.
 *
 * A ruleset lists paths (files or directories, a directory covering everything beneath it)
 * and what may be done there; landlock_restrict() puts the calling thread, and the threads it
 * creates afterwards, under it. Files already open are not affected (Landlock checks at open),
 * so /dev/kvm, the taps and the disks opened during setup keep working. The kernel's
 * interface is used through raw system calls: glibc 2.36 has no wrappers.
 *
 * What is handled (denied unless a rule allows it): reading, writing, truncating (ABI >= 3) and
 * executing files, listing directories, creating and removing entries of every kind, and moving
 * them between directories (ABI >= 2). Not handled: ioctls on devices (ABI 5; seccomp filters
 * them), network ports (ABI 4; libslirp needs them) and the scopes of ABI 6. Connecting to a
 * path-named Unix socket is not a filesystem access for Landlock (no ABI restricts it), so a
 * vsock device's connects to the host's sockets need no rule. */
#ifndef VMM_SANDBOX_LANDLOCK_H
#define VMM_SANDBOX_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* What a rule allows, beneath a directory or on one file. */
#define LANDLOCK_READ  1u /* read files; list directories */
#define LANDLOCK_WRITE 2u /* write and truncate files */
/* in a directory: create regular files and sockets (bind), remove and rename entries */
#define LANDLOCK_CHANGE 4u

struct landlock_path {
	const char *path;
	unsigned access; /* LANDLOCK_* */
};

/* The kernel's Landlock ABI version (>= 1), or -errno (-ENOSYS: not built in, -EOPNOTSUPP:
 * disabled at boot). */
int landlock_abi(void);

/* Builds a ruleset of `paths` for ABI `abi`. A path that does not exist is skipped (logged);
 * a file gets only the file rights of its access. Returns the ruleset's fd or -errno. */
int landlock_ruleset_build(const struct landlock_path *paths, size_t n, int abi);

/* Restricts the calling thread (and the threads it creates later) to the ruleset `fd`. The
 * thread must have no_new_privs set (sandbox_enter() sets it first). Returns 0 or -errno. */
int landlock_restrict(int fd);

/* Whether `path` (absolute, no "." or ".." components; else false) is `path` itself or beneath
 * one of `paths` whose access includes every bit of `access`. A lexical check, for
 * refusing a request early with a clear message: the kernel still decides at open. */
bool landlock_paths_cover(const struct landlock_path *paths, size_t n, const char *path,
			  unsigned access);

/* Parses "PATH:ro|rw[,PATH:ro|rw...]" (--landlock-rules; a comma in a PATH written ",,", as in
 * an option string: base/options.h) and calls add(path, access, opaque) for each (rw is
 * LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE). Returns 0, the first error add() returns, or
 * -EINVAL. */
int landlock_parse_rules(const char *s, int (*add)(const char *path, unsigned access, void *opaque),
			 void *opaque);

#endif
