/* The opener thread. See opener.h. */
#include "host/sandbox/opener.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include "base/host_path.h"
#include "host/sandbox/worker.h"

/* What host_path_open() and a snapshot's commit call (snap_file.c: host_path_replace_commit()'s
 * renameat2 NOREPLACE or EXCHANGE, its lstat of what came back, the unlink of the old file or of
 * a failed one, the directory's fsync); glibc's open, stat and rename take the *at forms or the
 * old ones by version. */
static const struct sandbox_rule opener_rules[] = {
    SB_ALLOW(SYS_openat),
    SB_ALLOW(SYS_openat2), /* host_path_open_beneath(): a confined folder, a backing file */
    SB_ALLOW(SYS_open),
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_fstat),
    SB_ALLOW(SYS_newfstatat),
    SB_ALLOW(SYS_lstat), /* host_path_replace_*(): what is at the target, by name */
    SB_ALLOW(SYS_statx),
    SB_ALLOW(SYS_fstatfs),
    SB_ARG_EQ(SYS_fcntl, 1, F_GETFL),
    SB_ARG_EQ(SYS_fcntl, 1, F_SETFL),
    SB_ALLOW(SYS_rename),
    SB_ALLOW(SYS_renameat),
    SB_ALLOW(SYS_renameat2), /* host_path_replace_commit(): never over a device node */
    SB_ALLOW(SYS_unlink),
    SB_ALLOW(SYS_unlinkat),
    SB_ALLOW(SYS_fsync),
};
static const struct sandbox_list opener_list = SANDBOX_LIST("opener", opener_rules);
static const struct sandbox_list *const opener_lists[] = {&opener_list};

/* No capability kept: only what the VMM's user may write. */
static struct sandbox_worker O = SANDBOX_WORKER_INIT("opener", 0);

int sandbox_opener_start(void)
{
	return sandbox_worker_start(&O, opener_lists, 1);
}

bool sandbox_opener_here(void)
{
	return sandbox_worker_here(&O);
}

int sandbox_opener_run(int (*fn)(void *arg), void *arg)
{
	return sandbox_worker_run(&O, fn, arg);
}

struct open_call {
	const char *path;
	int flags;
	mode_t mode;
	unsigned kinds;
	char *err;
	size_t errlen;
};

static int open_here(void *arg)
{
	struct open_call *o = arg;
	return host_path_open(o->path, o->flags, o->mode, o->kinds, o->err, o->errlen);
}

int sandbox_opener_open(const char *path, int flags, mode_t mode, unsigned kinds, char *err,
			size_t errlen)
{
	struct open_call o = {path, flags, mode, kinds, err, errlen};
	return sandbox_opener_run(open_here, &o);
}

void sandbox_opener_stop(void)
{
	sandbox_worker_stop(&O);
}
