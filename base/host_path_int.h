/* What base/host_path.c shares with the other files of the path gate (host_path_beneath.c,
 * host_path_replace.c): the checks of an open file and the words for a file's kind. Not for use
 * outside base/host_path*.c. */
#ifndef VMM_HOST_PATH_INT_H
#define VMM_HOST_PATH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* "a regular file", "a FIFO", ... for st_mode. */
const char *host_path_kind_name(mode_t mode);
/* The HOST_PATH_* bit of st_mode's kind, 0 for a kind no use accepts (socket, char device). */
unsigned host_path_kind_bit(mode_t mode);
/* The errno of a kind the use refuses: -EISDIR, -ENOTDIR or -EINVAL. */
int host_path_kind_errno(mode_t mode, int flags, unsigned kinds);
/* "a regular file or a block device" for a set of kinds. */
void host_path_wanted_kinds(unsigned kinds, char *out, size_t len);
/* Rules 2 and 3 on the open file: 0, or -errno with err saying why (starting with `path`). */
int host_path_check_open_file(int fd, const char *path, int flags, unsigned kinds, char *err,
			      size_t errlen);
/* Clears O_NONBLOCK: 0 or -errno with err filled. */
int host_path_clear_nonblock(int fd, const char *path, char *err, size_t errlen);
bool host_path_is_fifo(int fd);
/* The folder `path` lies beneath among the confined folders (host_path_confine()): 1 with
 * dir[dirlen] and rest[restlen] filled (rest relative, "" never), 0 when none, -errno. */
int host_path_confined_split(const char *path, char *dir, size_t dirlen, char *rest,
			     size_t restlen);

#endif
