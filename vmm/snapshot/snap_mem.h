/* The guest-memory file of a snapshot: the RAM regions of a struct guest_mem back to back in
 * region order, so the file has exactly mem->ram_size bytes and byte `off` of it is byte `off`
 * of RAM counted without the MMIO hole. Zero pages are holes (a sparse file). A restore maps it
 * copy-on-write with guest_mem_map_file() (vmm/base/guest_mem.h). */
#ifndef VMM_SNAPSHOT_SNAP_MEM_H
#define VMM_SNAPSHOT_SNAP_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/base/guest_mem.h"

#define SNAP_MEM_PAGE 4096u

/* Saves guest RAM to `path`.
 *
 * dirty == NULL (a full snapshot): writes a new file of mem->ram_size bytes in which every 4 KiB
 * page that is not all zeros is written and every zero page is left a hole; it goes to
 * "PATH.tmp", is fsync'ed and renamed to `path`, so `path` is either the old file or the whole
 * new one.
 *
 * dirty != NULL (a diff snapshot on top of a full one): bit i (word i / 64, bit i % 64) set means
 * page i of the file (of RAM in region order) changed; the bitmap has at least
 * ram_size / 4096 bits. The EXISTING file at `path`, which must have exactly mem->ram_size bytes,
 * gets only those pages, written in place, then fsync (not atomic: a crash in the middle leaves
 * a mix of the two snapshots, so the caller marks the snapshot complete only afterwards). A VM
 * restored from that very file may keep running: the pages it wrote since are its private
 * copies, not the file's.
 *
 * Every region must be a whole number of pages. Returns 0, -EINVAL (bad sizes, with a message)
 * or -errno of the file, with a message naming the file in `err`. */
int snap_mem_save(const struct guest_mem *mem, const char *path, const uint64_t *dirty, char *err,
		  size_t errlen);

/* Opens the memory file at `path` read-only for guest_mem_map_file() and checks that it is a
 * regular file of exactly `ram_size` bytes ("memory file X has N bytes, the snapshot's VM has
 * M"). On success *fd is the descriptor (the caller closes it). Returns 0, -EINVAL or -errno
 * with a message in `err`. */
int snap_mem_open(const char *path, uint64_t ram_size, int *fd, char *err, size_t errlen);

#endif
