/* Serving a VMM's page faults from a snapshot's memory file: one userfaultfd, the regions it
 * covers, and what each page is: still missing, filled by us, or removed by the balloon (those
 * read as zeros from then on). A fault fills its page and the missing pages of the aligned
 * UFFD_FAULT_AROUND block around it, in one UFFDIO_COPY where they are consecutive: fewer round
 * trips for a guest that reads its memory in order. */
#ifndef TOOLS_UFFD_SERVE_H
#define TOOLS_UFFD_SERVE_H

#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdint.h>

#include "tools/uffd-handler/uffd_mappings.h"

#define UFFD_FAULT_AROUND (64u << 10) /* bytes filled per fault at most, aligned */

enum { PAGE_MISSING, PAGE_FILLED, PAGE_REMOVED };

struct uffd_server {
	int uffd;
	const uint8_t *file; /* the memory file, mapped read-only */
	struct uffd_mapping maps[UFFD_MAX_REGIONS];
	int n;
	uint8_t *state[UFFD_MAX_REGIONS]; /* one byte per page: PAGE_MISSING, _FILLED, _REMOVED */
	uint64_t copied, zeroed, removes, stray; /* pages copied, zero pages, events, unknown */
};

/* Sets up `s` for the regions (allocates the page states). Returns 0 or -ENOMEM. */
int uffd_server_init(struct uffd_server *s, int uffd, const uint8_t *file,
		     const struct uffd_mapping *maps, int n);
void uffd_server_free(struct uffd_server *s);

/* Reads and answers every queued message (faults, remove events). Returns 0 when the queue is
 * empty, or -errno when the userfaultfd failed (its VMM is gone: -ENOTCONN/-EBADF...). */
int uffd_server_drain(struct uffd_server *s);

/* Copies every non-zero, non-removed page of the file into the VMM now (--eager), answering
 * queued messages between chunks; zero pages stay for the lazy path. Returns 0 or -errno. */
int uffd_server_eager(struct uffd_server *s);

/* Copies the non-zero missing pages of `n` ranges of the memory file (`first`, `count` in
 * pages of the file, sorted: a working set, vmm/snapshot/working_set.h) into the VMM now,
 * answering queued messages between chunks; pages outside every region are skipped. Returns
 * 0 or -errno. */
int uffd_server_prefill(struct uffd_server *s, const uint64_t (*ranges)[2], size_t n);

#endif
