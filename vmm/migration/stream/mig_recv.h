/* The destination side of a live migration: reads the stream (mig_format.h) into guest memory
 * and a state image.
 *
 * mig_recv() takes HELLO (the VM's shape), asks the caller for the guest memory to fill
 * (ops->hello; it must have exactly the announced regions), then applies MEM frames (or, for a
 * local migration, hands the received memfd to ops->memfd), collects the STATE pieces, and at
 * END checks the frame and byte counts and parses the state with snap_parse() into `reader`.
 * The caller then restores the VM from it (paused) and calls mig_recv_ready(), which reports
 * success and waits for the source's COMMIT: only then may the guest run here. Any failure:
 * mig_recv_refuse() tells the source (which keeps its VM running).
 *
 * The stream is untrusted: every frame is checked before anything is written; memory stays
 * bounded (one frame buffer, the state image at most SNAP_MAX_FILE bytes); a frame out of order
 * ("MEM after STATE"), a round number that skips, counts that do not match, a version or shape
 * that differs: each an error with a message, never a crash. */
#ifndef VMM_MIGRATION_MIG_RECV_H
#define VMM_MIGRATION_MIG_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "vmm/migration/stream/mig_chan.h"
#include "vmm/migration/stream/mig_format.h"
#include "vmm/migration/stream/mig_frame.h"
#include "vmm/snapshot/format/snap_format.h"

struct mig_recv_ops {
	/* HELLO arrived and passed its checks (h->config is valid during the call; a copy stays in
	 * the receiver). Set *mem to the guest memory to fill (its regions must be h's), or leave
	 * it NULL for a local migration (h->flags & MIG_HELLO_LOCAL) and receive it in memfd().
	 * Returns 0 or -errno with a message (a shape this VMM cannot build). */
	int (*hello)(void *opaque, const struct mig_hello *h, struct guest_mem **mem, char *err,
		     size_t errlen);
	/* Local migration: the source's guest-RAM file (owned by the callee from now on, even on
	 * failure); mig_local_map() maps it. Set *mem. Returns 0 or -errno with a message. */
	int (*memfd)(void *opaque, int fd, const struct mig_hello *h, struct guest_mem **mem,
		     char *err, size_t errlen);
};

struct mig_receiver {
	/* set by the caller */
	struct mig_chan *chan;
	const struct mig_recv_ops *ops;
	void *opaque;
	/* results, valid after mig_recv() returned 0 */
	struct mig_hello hello; /* hello.config points at `config` */
	char *config;		/* NUL-terminated copy */
	struct guest_mem *mem;
	struct snap_reader reader; /* the final state */
	/* The source's taps (MIG_HELLO_TAPFDS): tapfd[i] is NIC i's where bit i of `taps` is set.
	 * The receiver's, closed by mig_recv_free(); a taker clears the bit. */
	int tapfd[MIG_MAX_TAPFDS];
	uint32_t taps;
	uint32_t rounds;
	uint64_t pages;
	/* private */
	struct mig_frame frame;
	uint8_t *state;
	size_t state_len, state_cap;
	uint64_t round_pages;
	int stage; /* what may come next */
};

/* Receives the whole stream. Returns 0, or -errno with the reason in err: -EINVAL for a bad or
 * refused stream, -ECANCELED when the source gave up ("source cancelled: ..."), -EPIPE when it
 * ended early, -ETIMEDOUT, -ENOMEM. */
int mig_recv(struct mig_receiver *r, char *err, size_t errlen);

/* Tells the source the VM is ready (RESULT 0) and waits for COMMIT. Returns 0 when committed
 * (run the guest), else -errno with a message (never run it: the source keeps it). */
int mig_recv_ready(struct mig_receiver *r, char *err, size_t errlen);

/* Tells the source the migration failed here (RESULT `code`, a positive errno, and `msg`). Best
 * effort: a dead source is ignored. */
void mig_recv_refuse(struct mig_receiver *r, int code, const char *msg);

/* Maps the memfd of a local migration the way guest_mem_alloc_shared() lays out RAM: the
 * regions of `h` back to back from file offset 0, MAP_SHARED; guest_mem_free() unmaps them and
 * closes fd. The file must be a regular file (memfd) of exactly h->ram_size bytes. On failure
 * fd is closed. Returns 0 or -errno with a message. */
int mig_local_map(struct guest_mem *mem, int fd, const struct mig_hello *h, char *err,
		  size_t errlen);

/* How long a destination populates a local migration's memory before answering MEMFD. */
#define MIG_POPULATE_BUDGET_MS 5000u

/* Fills the page tables of `mem`'s mappings with the pages its file holds (mincore()), written
 * to by none (MADV_POPULATE_WRITE), so that the guest's first accesses here take no host page
 * fault each (about 1 us a page: 90 ms for 256 MiB on kvm_pvm); holes stay holes (no memory is
 * added). Best effort: ends at the first failure (a kernel without MADV_POPULATE_WRITE) or once
 * `budget_ms` have passed. Returns the pages populated. */
uint64_t mig_local_populate(const struct guest_mem *mem, unsigned budget_ms);

/* Frees what mig_recv() allocated (the reader, the state, the config copy, the frame buffer:
 * call it after COMMIT, not in the guest's pause); not the guest memory
 * (the caller's, through ops). */
void mig_recv_free(struct mig_receiver *r);

#endif
