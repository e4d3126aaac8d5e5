/* File helpers shared by the snapshot writers (internal to vmm/snapshot). */
#ifndef VMM_SNAPSHOT_SNAP_FILE_H
#define VMM_SNAPSHOT_SNAP_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Writes all `len` bytes of `buf` at offset `off` of `fd` (pwrite, retried on EINTR and short
 * writes). Returns 0 or -errno (-EIO when the file takes no more bytes). */
int snap_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* Reads exactly `len` bytes at offset `off` of `fd`. Returns 0, -errno, or -EINVAL when the
 * file ends first. */
int snap_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* "PATH.tmp" in a malloc'ed string, or NULL when out of memory. */
char *snap_tmp_path(const char *path);

/* Opens `path` with `flags` through host_path_open() (a regular file; a FIFO, a device or a
 * file of /proc is refused without waiting); *fd and *size on success. `what` prefixes the
 * messages ("memory file", or ""). Returns 0 or -errno / -EINVAL with err set. */
int snap_open_regular(const char *path, int flags, const char *what, int *fd, uint64_t *size,
		      char *err, size_t errlen);

/* Creates (or truncates) the temporary file `tmp` (snap_tmp_path(PATH)) for writing, through
 * host_path_open(): a regular file, not through a symbolic link; refused first, as
 * host_path_replace_check(), when PATH is not a regular file or nothing. Returns the fd, or -errno
 * with err set. */
int snap_create_tmp(const char *tmp, char *err, size_t errlen);

/* Ends writing `tmp` (its result so far in `ret`): on success renames it to `path` (only over a
 * regular file or nothing, atomically: host_path_replace_commit()) and fsyncs the directory; on
 * any failure removes `tmp` and leaves `path` as it was. The reason goes to err. Frees `tmp`.
 * Returns the final result. */
int snap_commit_tmp(char *tmp, const char *path, int ret, char *err, size_t errlen);

/* Makes and removes PATH.tmp as snap_create_tmp() would: the file written last (a snapshot's
 * state) is known to have a folder that takes it before anything else is written, so a
 * create that names a missing folder fails with nothing made and nothing replaced.
 * 0, or -errno with err set. */
int snap_probe_target(const char *path, char *err, size_t errlen);

/* Removes `path`, a file the failing request made itself (on the opener). 0 or -errno; a file
 * that is not there is 0. */
int snap_remove_made(const char *path);

#endif
