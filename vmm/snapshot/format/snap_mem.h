/* The guest-memory file of a snapshot: the RAM regions of a struct guest_mem back to back in
 * region order, so byte `off` of the file is byte `off` of RAM counted without the MMIO hole.
 * Zero pages are holes (a sparse file). A restore maps the RAM part copy-on-write with
 * guest_mem_map_file() (base/guest_mem.h).
 *
 * When blocks of the virtio-mem region (mem->hotplug) are plugged, the whole region follows RAM
 * (ram_size + region size bytes, byte ram_size + k being byte k of the region), with the non-zero
 * pages of plugged blocks written and everything else a hole. Without plugged blocks the file is
 * RAM alone, as it always was (older snapshots, and older VMMs can load such a one). A restore
 * reads the plugged blocks into the region after the device state has plugged them again
 * (snap_memhp_load()): unplugged blocks are never filled from the file. */
#ifndef VMM_SNAPSHOT_SNAP_MEM_H
#define VMM_SNAPSHOT_SNAP_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define SNAP_MEM_PAGE 4096u

/* Saves guest RAM to `path`.
 *
 * dirty == NULL (a full snapshot): writes a new file of mem->ram_size bytes (and the hotplug
 * region, above) in which every 4 KiB page that is not all zeros is written and every zero page
 * is left a hole; it goes to
 * "PATH.tmp", is fsync'ed and renamed to `path`, so `path` is either the old file or the whole
 * new one.
 *
 * dirty != NULL (a diff snapshot on top of a full one): bit i (word i / 64, bit i % 64) set means
 * page i of the file (of RAM in region order) changed; the bitmap has at least
 * ram_size / 4096 bits. Refused (-EBUSY, with a message) while hotplug blocks are plugged: their
 * writes are not tracked. The EXISTING file at `path`, which must have exactly mem->ram_size
 * bytes (or that and the hotplug region, whose bytes then stay as they are and unused), gets only
 * those pages, written in place, then fsync (not atomic: a crash in the middle leaves
 * a mix of the two snapshots, so the caller marks the snapshot complete only afterwards). A VM
 * restored from that very file may keep running: the pages it wrote since are its private
 * copies, not the file's.
 *
 * Every region must be a whole number of pages. Returns 0, -EINVAL (bad sizes, with a message)
 * or -errno of the file, with a message naming the file in `err`. */
int snap_mem_save(const struct guest_mem *mem, const char *path, const uint64_t *dirty, char *err,
		  size_t errlen);

/* Opens the memory file at `path` read-only for guest_mem_map_file() and checks that it is a
 * regular file of exactly `ram_size` bytes, or `ram_size + hotplug_size` when the snapshot's VM
 * has a virtio-mem region of hotplug_size bytes (0: none) ("memory file X has N bytes, the
 * snapshot's VM has M"). On success *fd is the descriptor (the caller closes it). Returns 0,
 * -EINVAL or -errno with a message in `err`. */
int snap_mem_open(const char *path, uint64_t ram_size, uint64_t hotplug_size, int *fd, char *err,
		  size_t errlen);

/* ---- the virtio-mem region (snap_memhp.c) ---- */

/* Bytes of mem->hotplug's blocks that are plugged (0 without a region). */
uint64_t snap_memhp_plugged(const struct guest_mem *mem);
/* Bytes a full snapshot's file carries after RAM: the region's size when any block is plugged,
 * else 0. */
uint64_t snap_memhp_bytes(const struct guest_mem *mem);
/* Writes the non-zero pages of every plugged block at ram_size + their offset in the region
 * (snap_mem_save() of a full snapshot calls it; the file is already that long). Returns 0 or
 * -errno. */
int snap_memhp_write(int fd, const struct guest_mem *mem);
/* After a restore plugged the saved blocks again (guest_mem's bitmap): reads their bytes from the
 * memory file `fd` into the region (holes skipped: those pages stay zero and unallocated);
 * unplugged blocks are not touched. With nothing plugged, 0 and nothing read. The file must have
 * exactly ram_size + region size bytes ("the memory file has N bytes, but the X MiB of plugged
 * hotplug memory ... need M"). Returns 0, -EINVAL or -errno with a message in `err`. */
int snap_memhp_load(const struct guest_mem *mem, int fd, char *err, size_t errlen);

#endif
