/* A snapshot's working set: the guest pages a restore of it touched in its first moments,
 * recorded once and kept next to the state file, so that later restores of the same snapshot
 * load those pages in bulk as the VM starts instead of taking one fault per page
 * (docs/snapshots.md, "Working-set restore").
 *
 * The file (`STATE.working-set`, for the state file STATE) is text, one item per line:
 *
 *   vmm-working-set 1
 *   mem_size BYTES            the memory file's RAM bytes (the snapshot's mem_size)
 *   state_crc32 0xXXXXXXXX    CRC32 of the whole state file: which snapshot it belongs to
 *   pages N                   the pages listed below, in total
 *   ranges M
 *   FIRST COUNT [w]           M lines: COUNT 4 KiB pages from page FIRST of the memory file,
 *   ...                       sorted, not overlapping, inside mem_size; `w`: the guest wrote
 *                             them (touching ranges differ in this)
 *
 * A file of another version, with anything else, or recorded for another snapshot is refused
 * with a message naming what is wrong. */
#ifndef VMM_SNAPSHOT_WORKING_SET_H
#define VMM_SNAPSHOT_WORKING_SET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem;

#define WORKING_SET_SUFFIX     ".working-set"
#define WORKING_SET_PAGE_SHIFT 12
#define WORKING_SET_MAX_RANGES (1u << 20)   /* a 4 GiB guest touched every other page */
#define WORKING_SET_MAX_BYTES  (32u << 20)  /* the file, at most */
#define WORKING_SET_ERR_MAX    (4096 + 256) /* a path and a sentence */

/* Which snapshot a working set belongs to. */
struct ws_identity {
	uint64_t mem_size;
	uint32_t state_crc32;
};

/* Page ranges of the memory file, sorted. */
struct ws_range {
	uint64_t first, count;
	bool written; /* the recorded restore wrote them: loaded as copies (MADV_POPULATE_WRITE) */
};

struct working_set {
	struct ws_range *ranges;
	size_t n, cap;
	uint64_t pages;
};

/* What a restore does with the working set (PUT /snapshot/load's "working_set", vmm --restore's
 * --working-set). */
enum ws_mode {
	WS_LOAD,   /* the default: load the file when there is one */
	WS_OFF,	   /* neither load nor record */
	WS_RECORD, /* record which pages the guest touches, until PUT /vmm/working-set stops it */
};

/* "load", "off", "record" -> *mode. Returns 0 or -EINVAL. */
int working_set_mode(const char *name, enum ws_mode *mode);

/* The identity of the snapshot whose state file holds `state` (len bytes) and whose RAM is
 * `mem_size` bytes. */
struct ws_identity working_set_identity(const void *state, size_t len, uint64_t mem_size);

/* Adds `count` pages from `first` at the end (merged with the last range when they touch and
 * are of the same kind, `written`).
 * The pages must come after every page added before. Returns 0, -EINVAL out of order or past
 * WORKING_SET_MAX_RANGES, -ENOMEM. */
int working_set_add(struct working_set *ws, uint64_t first, uint64_t count, bool written);

void working_set_free(struct working_set *ws);

/* Parses a file's `len` bytes (untrusted) into `ws` and `id`. Returns 0, or -EINVAL with the
 * line and the reason in err (`ws` then empty). */
int working_set_parse(const char *text, size_t len, struct working_set *ws, struct ws_identity *id,
		      char *err, size_t errlen);

/* The file's text for `ws` of the snapshot `id` (malloc'd, *len bytes). Returns 0 or -ENOMEM. */
int working_set_format(const struct working_set *ws, const struct ws_identity *id, char **text,
		       size_t *len);

/* Refuses a working set read from `path` (its identity `file`) for the snapshot `snap`:
 * -EINVAL with a message when they differ, else 0. */
int working_set_check(const char *path, const struct ws_identity *file,
		      const struct ws_identity *snap, char *err, size_t errlen);

/* Reads and checks the working set at `path` for the snapshot `snap`. Returns 0; -ENOENT
 * when there is no file (not an error for a restore); -EINVAL (a bad or mismatched file) or
 * -errno with the reason in err. */
int working_set_read(const char *path, const struct ws_identity *snap, struct working_set *ws,
		     char *err, size_t errlen);

/* Writes `ws` for the snapshot `id` to `path` (a temporary file, then renamed). Returns 0 or
 * -errno with the reason in err. */
int working_set_write(const char *path, const struct working_set *ws, const struct ws_identity *id,
		      char *err, size_t errlen);

/* The pages of guest RAM `mem` (its regions back to back, as in the memory file) that are
 * mapped in this process now, from /proc/self/pagemap opened as `pagemap_fd`: the pages the
 * guest, the devices or a page-fault handler brought in since the restore mapped them. With
 * `file_backed` (RAM mapped privately from the memory file), a page that is no longer the
 * file's (copied on write) is marked written; RAM a handler filled is anonymous throughout,
 * so none is.
 * Returns 0 or -errno with the reason in err. */
int working_set_from_pagemap(int pagemap_fd, const struct guest_mem *mem, bool file_backed,
			     struct working_set *ws, char *err, size_t errlen);

/* Brings the pages of `ws` into guest RAM `mem` (as the VM starts): MADV_POPULATE_READ on a
 * file mapping (copy-on-write pages mapped from the page cache, read from the disk in bulk
 * where they are not cached), MADV_POPULATE_WRITE for the written ranges (the private copies
 * the guest would make on its first write, made now: no more memory than the guest's own
 * writes, and KVM maps them writable at once); for RAM a page-fault handler fills (`touch`),
 * a read of each page
 * in order, which the handler serves as faults (as the guest's would be, without the guest's
 * exits, and in the handler's block order). Pages outside RAM are skipped. Returns the pages
 * loaded, or -errno. */
int64_t working_set_prefault(const struct guest_mem *mem, const struct working_set *ws, bool touch);

/* The 2 MiB chunks of RAM `mem` (a private mapping of the memory file `mem_fd`, its regions
 * back to back from offset 0) that the recording saw at least WORKING_SET_HUGE_MIN pages of 512
 * written: each becomes anonymous memory on a transparent huge page, filled from the file in
 * one read. The guest would copy those pages on its first writes anyway; one huge page is one
 * mapping where the copies are 512, each a page-table update, which a nested host pays for
 * dearly. Call it before the vCPUs run. A chunk with a page this process has written since the
 * mapping (/proc/self/pagemap `pagemap_fd`: not the file's) is left alone, as are regions whose
 * mapping is not 2 MiB aligned. Returns the pages copied, or -errno (then a chunk may be
 * unmapped: the VM must not run). */
#define WORKING_SET_HUGE_MIN 384
int64_t working_set_copy_huge(const struct guest_mem *mem, const struct working_set *ws, int mem_fd,
			      int pagemap_fd);

/* True when every page of `ws` in RAM `mem` (a file mapping) is in the host's page cache
 * (mincore()): loading them costs no disk read. */
bool working_set_cached(const struct guest_mem *mem, const struct working_set *ws);

/* Asks the host to read every page of `ws` in RAM `mem` (a file mapping) into its page cache
 * (MADV_WILLNEED: the reads are queued, not waited for), so that a load that follows finds them
 * arriving instead of reading each fault's few pages in turn. Best effort. */
void working_set_readahead(const struct guest_mem *mem, const struct working_set *ws);

/* working_set_prefault() from the last page of the list to the first, for a thread that loads
 * while the guest runs: a guest that walks its memory upward (as copies and scans mostly do)
 * then meets the thread halfway instead of trailing it, each faulting in its own half. Ends
 * early once *stop is set (checked every 4 MiB). Returns the pages loaded, or -errno. */
int64_t working_set_prefault_from_end(const struct guest_mem *mem, const struct working_set *ws,
				      bool touch, const atomic_bool *stop);

#endif
