/* The one way the VMM opens a path that comes from outside it: the command line, the config
 * file, an API request, a snapshot's recorded configuration, a migration stream. Every such
 * open goes through host_path_open(); tests/integration/build/test_host_path_sites.py lists the
 * call sites that open a path and fails on one that does not.
 *
 * The rules (docs/security.md, "Paths from outside"):
 *   1. Opened with O_NONBLOCK | O_CLOEXEC | O_NOCTTY, so a FIFO or a device cannot block the
 *      opening thread; O_NONBLOCK is cleared again once the type is known, except on a FIFO a
 *      use accepts (HOST_PATH_FIFO: a log or metrics sink), which stays non-blocking so a
 *      stalled reader costs a line, never a stuck thread.
 *   2. The type is checked on the open file (fstat), never on the name: a kind the use does not
 *      allow (a FIFO, a socket, a character device, a directory where a file is expected) is
 *      refused with -EINVAL (-EISDIR for a directory opened to write) and a message that
 *      names the type.
 *   3. Nothing under /proc or /sys or any other kernel pseudo file system (checked with fstatfs
 *      on the open file, so `..` and symlinks cannot get around it): -EACCES.
 *   4. The open mode is the one the use needs: O_RDONLY to read, O_WRONLY to write (a log, a
 *      metrics file, a console file), O_RDWR only for a disk the guest writes. One exception:
 *      a FIFO a use accepts for writing (O_WRONLY with HOST_PATH_FIFO) is opened O_RDWR, as
 *      Firecracker opens its log and metrics pipes: the open needs no reader, and a reader
 *      that goes away never raises SIGPIPE (it is only a pipe's own read end).
 *   5. O_NOFOLLOW when the caller passes it (where the docs say a symlink is refused).
 *   6. A path that names something inside a folder the operator does not vouch for (a
 *      snapshot's folder during a restore: host_path_confine(); a qcow2 image's backing file,
 *      beneath the image's folder) is opened by host_path_open_beneath(): openat2() with
 *      RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS from that folder, so no
 *      symbolic link at any level and no `..` leaves it. host_path_open() does this itself for
 *      every path beneath a confined folder, so no caller can forget it.
 *   7. A file the VMM writes whole (a snapshot, a screenshot) is written to a new temporary
 *      file beside its target and renamed over the target only when that is a regular file or
 *      nothing: host_path_replace_*() below. A device node, FIFO, socket, directory or link
 *      at the target is left as it was and the write refused.
 */
#ifndef VMM_HOST_PATH_H
#define VMM_HOST_PATH_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Room for any message host_path_open() writes: the longest path and a sentence around it.
 * Callers size their err buffers with it, so no message is cut mid-path. */
#define HOST_PATH_ERR_MAX (PATH_MAX + 256)

/* The kinds of file a use accepts (a bit set). */
#define HOST_PATH_REGULAR (1u << 0) /* a regular file */
#define HOST_PATH_BLOCK	  (1u << 1) /* a block device (a disk) */
#define HOST_PATH_DIR	  (1u << 2) /* a directory (opened O_RDONLY | O_DIRECTORY) */
#define HOST_PATH_FIFO	  (1u << 3) /* a FIFO (left O_NONBLOCK; see rule 1) */

/* Opens `path` with `flags` (O_RDONLY, O_WRONLY or O_RDWR, plus any of O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND, O_NOFOLLOW, O_DIRECT, O_DSYNC) and `mode` (with O_CREAT) under the rules
 * above, accepting only the kinds in `kinds`. Returns the file descriptor (O_CLOEXEC, blocking),
 * or -errno with err[0..errlen) saying what was wrong in words that start with the path, e.g.
 * "/tmp/f: not a regular file (a FIFO)". */
int host_path_open(const char *path, int flags, mode_t mode, unsigned kinds, char *err,
		   size_t errlen);

/* Reads the whole regular file `path` (host_path_open() with O_RDONLY) into a malloc'd buffer
 * with a NUL after its `*len` bytes. A file larger than `max` bytes is -EFBIG, and so is one
 * that grows past it while read. Returns 0, or -errno with err filled as above. */
int host_path_read(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen);

/* ---- rule 6: folders whose contents the operator did not vouch for ---- */

/* Remembers the working directory that relative paths are taken against (lexically), once:
 * called before any thread is confined (a confined thread may not call getcwd()). 0 or -errno. */
int host_path_init(void);

/* `path` in out[len], lexically: made absolute against the working directory host_path_init()
 * saw (when it ran), "." components and repeated or trailing "/" dropped. -EINVAL for an empty
 * path or a ".." component, -ENAMETOOLONG. */
int host_path_normalize(const char *path, char *out, size_t len);

/* Opens `name` beneath the folder `dir` under the rules above and rule 6: `name` is relative to
 * `dir` (an absolute `name` must lie lexically beneath `dir`), and the whole walk from `dir`
 * follows no symbolic link, magic link or `..` out of it: -ELOOP ("a symbolic link inside
 * DIR"), -EXDEV ("leaves DIR"). `dir` itself is the operator's and may be reached through links.
 * Returns the file descriptor or -errno with err filled (the message names dir/name). */
int host_path_open_beneath(const char *dir, const char *name, int flags, mode_t mode,
			   unsigned kinds, char *err, size_t errlen);

/* Adds `dir` to the confined folders (at most HOST_PATH_MAX_CONFINED): from now on
 * host_path_open() of any path lexically beneath it is host_path_open_beneath(dir, rest).
 * The folder must exist and be a directory. 0, or -errno with err filled. */
#define HOST_PATH_MAX_CONFINED 4
int host_path_confine(const char *dir, char *err, size_t errlen);
/* Forgets every confined folder (a restore that failed, a test). */
void host_path_unconfine_all(void);

/* ---- rule 7: whole files written through a temporary file ---- */

/* The target `path` may be replaced: 0 when it is a regular file or does not exist, else
 * -EINVAL (-EISDIR for a directory, -ELOOP for a symbolic link) with err naming its kind. */
int host_path_replace_check(const char *path, char *err, size_t errlen);

/* Renames the finished temporary file `tmp` over `path` only when `path` is a regular file or
 * nothing, atomically (renameat2: RENAME_NOREPLACE when there is none, RENAME_EXCHANGE then a
 * check of what came back, exchanged back when it was not a regular file). On success `tmp` no
 * longer exists; on failure `tmp` is removed and `path` is as it was. 0 or -errno with err. */
int host_path_replace_commit(const char *tmp, const char *path, char *err, size_t errlen);

#endif
