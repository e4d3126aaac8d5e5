/* Serving a VMM's page faults from a snapshot's memory file: one userfaultfd, the regions it
 * covers, and which pages the balloon removed (those read as zeros from then on). */
#ifndef TOOLS_UFFD_SERVE_H
#define TOOLS_UFFD_SERVE_H

#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdint.h>

#include "tools/uffd-handler/uffd_mappings.h"

struct uffd_server {
	int uffd;
	const uint8_t *file; /* the memory file, mapped read-only */
	struct uffd_mapping maps[UFFD_MAX_REGIONS];
	int n;
	uint8_t *removed[UFFD_MAX_REGIONS];	 /* one byte per page: removed by the VMM */
	uint64_t copied, zeroed, removes, stray; /* pages copied, zero pages, events, unknown */
};

/* Sets up `s` for the regions (allocates the removed maps). Returns 0 or -ENOMEM. */
int uffd_server_init(struct uffd_server *s, int uffd, const uint8_t *file,
		     const struct uffd_mapping *maps, int n);
void uffd_server_free(struct uffd_server *s);

/* Reads and answers every queued message (faults, remove events). Returns 0 when the queue is
 * empty, or -errno when the userfaultfd failed (its VMM is gone: -ENOTCONN/-EBADF...). */
int uffd_server_drain(struct uffd_server *s);

/* Copies every non-zero, non-removed page of the file into the VMM now (--eager), answering
 * queued messages between chunks; zero pages stay for the lazy path. Returns 0 or -errno. */
int uffd_server_eager(struct uffd_server *s);

#endif
