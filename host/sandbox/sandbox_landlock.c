/* The process's Landlock set: collected during setup, sealed once the VM exists, applied by
 * each thread as it confines itself. See sandbox.h.
 *
 * Where it is applied: landlock_restrict_self() restricts the calling thread and the threads it
 * creates afterwards, never its siblings. The threads that serve the guest (vCPUs, device I/O,
 * console, metrics) all call sandbox_enter() after the set is sealed, and so does the main
 * thread (confine_main) before it creates the vCPUs: sandbox_enter() applies the set. The API
 * thread starts before the VM exists and is restricted from its first entry
 * (sandbox_enter_early) to the `always` set alone (sandbox_landlock_apply_base()): it opens
 * nothing else, ever, as Landlock cannot widen; the broker (broker.h), unrestricted until the
 * seal, opens the kernels, disks and snapshots its requests name and builds the VM, and takes
 * the sealed set at its second entry (sandbox_broker_confine), as the API thread does
 * (api_http_confine: the sealed set stacked on `always` changes nothing for it). A thread
 * entering twice, or one created by a restricted thread, stacks the set again: harmless (it
 * can only narrow). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"

#define MAX_PATHS 64

static struct {
	pthread_mutex_t lock;
	bool off;
	bool sealed;
	int fd;		    /* the ruleset once sealed and supported; -1 otherwise */
	char cwd[PATH_MAX]; /* at the start: where relative paths start */
	struct landlock_path paths[MAX_PATHS];
	size_t n;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

void sandbox_landlock_set(bool on)
{
	L.off = !on;
	if (!getcwd(L.cwd, sizeof(L.cwd)))
		snprintf(L.cwd, sizeof(L.cwd), "/");
}

/* `path` made absolute against the working directory of the start, lexically: the API thread
 * calls this (a drive added before InstanceStart) confined, where realpath() and getcwd() are
 * not allowed; landlock_paths_cover() compares paths lexically too. */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	size_t len = strlen(L.cwd) + strlen(path) + 2;
	char *s = malloc(len);
	if (s)
		snprintf(s, len, "%s/%s", L.cwd, path);
	return s;
}

/* Allows `path` (a file, or a directory and everything beneath it) with `access`
 * (LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE). Relative paths are taken from the
 * working directory. Returns 0, -EBUSY once sealed, or -errno (logged). */
static int sandbox_landlock_allow(const char *path, unsigned access)
{
	int err = 0;
	pthread_mutex_lock(&L.lock);
	if (L.sealed)
		err = -EBUSY; /* too late: the threads already run under the set */
	else if (L.n == MAX_PATHS)
		err = -ENOSPC;
	else if (!(L.paths[L.n].path = absolute(path)))
		err = -ENOMEM;
	else
		L.paths[L.n++].access = access;
	pthread_mutex_unlock(&L.lock);
	/* after the seal: a device hot-added to the running VM (vmm/vm/hotplug.h), whose path the
	 * set must already cover (its caller checks with sandbox_landlock_allows()) */
	if (err == -EBUSY)
		log_debug("landlock: %s: the set is sealed already", path);
	else if (err)
		log_error("landlock: cannot allow %s: %s", path, strerror(-err));
	return err;
}

int sandbox_landlock_allow_dir_of(const char *path, unsigned access)
{
	char *abs = absolute(path);
	if (!abs)
		return -ENOMEM;
	char *slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0'; /* a file in / : the whole tree, as asked */
	else if (slash)
		*slash = '\0';
	int err = sandbox_landlock_allow(abs, access);
	free(abs);
	return err;
}

static int add_rule(const char *path, unsigned access, void *opaque)
{
	(void)opaque;
	return sandbox_landlock_allow(path, access);
}

int sandbox_landlock_add_rules(const char *spec)
{
	return landlock_parse_rules(spec, add_rule, NULL);
}

/* What any confined thread may still open, whatever the VM: /dev/urandom, read by libraries
 * that seed themselves from it (glib's random numbers under libslirp). Nothing else: the time
 * zone and the CPU count that glibc used to read on first use are no longer needed (docs/
 * security.md, "libc inside the sandbox"). A sanitized build's LeakSanitizer lists
 * /proc/self/task at exit. */
static const struct landlock_path always[] = {
    {"/dev/urandom", LANDLOCK_READ},
    {"/proc/self", LANDLOCK_READ}, /* sanitized builds only: see n_always() */
};

static size_t n_always(void)
{
	size_t n = sizeof(always) / sizeof(always[0]);
	return sandbox_sanitizer()->n ? n : n - 1;
}

static void allow_always(void)
{
	for (size_t i = 0; i < n_always(); i++)
		sandbox_landlock_allow(always[i].path, always[i].access);
}

/* The ruleset of `always` alone, built on first use (-1: none, Landlock unsupported). */
static bool base_built;
static int base_fd = -1;

int sandbox_landlock_apply_base(void)
{
	int err = 0;

	if (L.off || !sandbox_enabled())
		return 0;
	pthread_mutex_lock(&L.lock);
	if (!base_built) {
		int abi = landlock_abi();
		int fd = abi < 1 ? -1 : landlock_ruleset_build(always, n_always(), abi);
		if (abi >= 1 && fd < 0)
			err = fd;
		else
			base_fd = fd;
		base_built = !err;
	}
	int fd = base_fd;
	pthread_mutex_unlock(&L.lock);
	return err ? err : fd < 0 ? 0 : landlock_restrict(fd);
}

static void log_allowed(int abi)
{
	char line[2048];
	size_t off = 0;
	for (size_t i = 0; i < L.n && off < sizeof(line); i++) {
		unsigned a = L.paths[i].access;
		off +=
		    (size_t)snprintf(line + off, sizeof(line) - off, "%s%s:%s%s%s", i ? " " : "",
				     L.paths[i].path, a & LANDLOCK_READ ? "r" : "",
				     a & LANDLOCK_WRITE ? "w" : "", a & LANDLOCK_CHANGE ? "c" : "");
	}
	log_debug("landlock: on (ABI %d); the VMM may open only: %s", abi, L.n ? line : "nothing");
}

int sandbox_landlock_seal(void)
{
	if (L.sealed || L.off || !sandbox_enabled())
		return 0;
	allow_always();
	pthread_mutex_lock(&L.lock);
	L.sealed = true;
	pthread_mutex_unlock(&L.lock);
	int abi = landlock_abi();
	if (abi < 1) {
		log_warn(
		    "landlock: not supported by this kernel (%s): the VMM may open any file its "
		    "seccomp filters allow",
		    strerror(-abi));
		return 0;
	}
	L.fd = landlock_ruleset_build(L.paths, L.n, abi);
	if (L.fd < 0) {
		log_error("landlock: cannot build the ruleset: %s", strerror(-L.fd));
		return L.fd;
	}
	log_allowed(abi);
	return 0;
}

int sandbox_landlock_apply(void)
{
	return L.fd < 0 ? 0 : landlock_restrict(L.fd);
}

bool sandbox_landlock_allows(const char *path, unsigned access)
{
	if (L.fd < 0)
		return true; /* off, unsupported, or not sealed yet: nothing is restricted */
	if (path[0] == '/')
		return landlock_paths_cover(L.paths, L.n, path, access);
	/* no realpath() here: a confined thread may not readlink */
	char abs[PATH_MAX];
	if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", L.cwd, path) >= sizeof(abs))
		return false;
	return landlock_paths_cover(L.paths, L.n, abs, access);
}
