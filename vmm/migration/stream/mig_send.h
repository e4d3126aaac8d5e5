/* The source side of a live migration: pre-copy of guest RAM, then the final state.
 *
 * mig_send() sends HELLO, then all of RAM while the guest runs (round 1; runs of zero pages go
 * without bytes), then rounds of the pages written meanwhile: the VMM's own writes
 * (guest_mem_dirty_take()) ORed with the guest's (ops->dirty_log: KVM's dirty log). After each
 * round it measures the bandwidth and stops iterating once the pages left would go within
 * max_downtime_ms, or after max_rounds rounds; it then calls ops->stop_vm, sends the last dirty
 * pages, the state (ops->save_state fills a snapshot writer: the same sections a state file
 * holds) and END, and waits for the destination's RESULT. On success it sends COMMIT: the
 * destination runs the VM from then on and the caller must never resume it here. On any failure
 * (a dead or refusing peer, a cancel) the caller's VM keeps running: ops->resume_vm is called if
 * stop_vm had been, and the peer is told why with an ERROR frame when it can still hear.
 *
 * A bandwidth cap (params.max_bandwidth) paces the rounds while the guest runs; the final round
 * of the paused VM goes uncapped, as QEMU's last RAM pass ignores its max-bandwidth, so the cap
 * never lengthens the pause. The pacing sleeps on the sender's thread between frames, holding
 * no lock of the VM.
 *
 * Local migration (params.local, Unix sockets only): guest RAM must be shared (a memfd,
 * guest_mem_alloc_shared()); the VM is stopped at once and the memfd goes to the destination
 * with SCM_RIGHTS instead of any page, so the pause is only the state's transfer.
 *
 * Progress (mig_progress_read()) and cancel (mig_cancel()) may be used from any thread while
 * mig_send() runs. */
#ifndef VMM_MIGRATION_MIG_SEND_H
#define VMM_MIGRATION_MIG_SEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "vmm/migration/stream/mig_chan.h"
#include "vmm/snapshot/format/snap_format.h"

#define MIG_DEFAULT_DOWNTIME_MS 300u
#define MIG_DEFAULT_ROUNDS	30u
/* How long the source waits, before it pauses, for the destination to read the rounds' bytes. */
#define MIG_DRAIN_MS 1000
/* After COMMIT, how long mig_send() waits at most for the destination to hang up (it does once
 * the guest runs there) before it frees its buffers and returns to a caller that tears the VM
 * down: that work would otherwise take the CPU the destination's vCPU is woken on. */
#define MIG_HANGUP_WAIT_MS 200
/* Once the pages left fit the downtime, at most this many short rounds more (within max_rounds),
 * each drained, while each leaves at most half the pages of the one before and more than
 * MIG_SETTLE_PAGES: the pause then sends what the guest wrote during the last one (~0.2 ms),
 * not during the last full round and the drain. */
#define MIG_SETTLE_ROUNDS 3u
#define MIG_SETTLE_PAGES  8u

struct mig_send_ops {
	/* ORs the pages the guest wrote since the last call into `bitmap`
	 * (guest_mem_dirty_words() words, page numbering of guest_mem_page_index()) and restarts
	 * the log. Called first before round 1 (to start from a clean log). NULL: only the VMM's
	 * own writes are tracked (tests). Returns 0 or -errno. */
	int (*dirty_log)(void *opaque, uint64_t *bitmap);
	/* Stops the guest (vCPUs and devices parked) for the final round. Returns 0 or -errno with
	 * a message. */
	int (*stop_vm)(void *opaque, char *err, size_t errlen);
	/* Runs the guest again after a failure once stop_vm succeeded. */
	void (*resume_vm)(void *opaque);
	/* Puts the stopped VM's state into `w` (snap_put()). Returns 0 or -errno with a message. */
	int (*save_state)(void *opaque, struct snap_writer *w, char *err, size_t errlen);
};

/* One NIC's tap for a TAPFD frame. */
struct mig_tapfd {
	uint32_t nic;
	int fd;
};

struct mig_send_params {
	uint32_t max_downtime_ms; /* 0: MIG_DEFAULT_DOWNTIME_MS */
	/* Rounds while the guest runs, round 1 (all of RAM) included; the final round of the
	 * paused VM comes after them. 0: MIG_DEFAULT_ROUNDS */
	uint32_t max_rounds;
	/* Bytes per second written to the channel while the guest runs; 0: no cap. */
	uint64_t max_bandwidth;
	bool local;
	uint32_t nvcpus;
	const char *config; /* the SNAP_CONFIG JSON for HELLO (the destination builds its VM) */
	size_t config_len;
	/* The guest's encoded CPU model for HELLO (MIG_HELLO_CPU); NULL: none sent. */
	const uint8_t *cpu_model;
	size_t cpu_model_len;
	/* The taps handed over after the pause (a Unix socket only): NIC index and tap fd, which
	 * stay the caller's. ntaps 0: none (the destination opens taps by name). */
	const struct mig_tapfd *taps;
	uint32_t ntaps;
};

enum mig_phase {
	MIG_PHASE_IDLE,
	MIG_PHASE_PRECOPY,   /* the guest runs, pages go */
	MIG_PHASE_STOPPED,   /* the final round: the guest is paused */
	MIG_PHASE_COMPLETED, /* the destination owns the VM */
	MIG_PHASE_FAILED,
	MIG_PHASE_CANCELLED,
};

/* A consistent-enough copy of the counters (each field read atomically). Under a cap, the
 * bandwidth is the capped one, so expected_downtime_ms is an upper bound: the final round goes
 * uncapped. */
struct mig_progress {
	enum mig_phase phase;
	uint32_t rounds;	       /* rounds completed, the first (all of RAM) included */
	uint64_t bytes;		       /* bytes written to the socket */
	uint64_t pages;		       /* pages sent (with bytes or as zero runs) */
	uint64_t remaining_pages;      /* dirty pages found at the end of the last round */
	uint64_t dirty_rate;	       /* pages dirtied per second in the last round */
	uint64_t bandwidth;	       /* bytes per second in the last round */
	uint64_t expected_downtime_ms; /* remaining pages at that bandwidth */
	uint64_t downtime_ms;	       /* from stop_vm to RESULT (once completed) */
	uint64_t total_ms;
	uint32_t max_rounds;	  /* the round limit in effect */
	uint64_t max_bandwidth;	  /* the cap in effect (bytes per second), 0: none */
	bool round_limit_reached; /* pre-copy ended at max_rounds, not within max_downtime_ms */
};

struct mig_sender {
	/* set by the caller */
	struct mig_chan *chan;
	struct guest_mem *mem;
	struct mig_send_params params;
	const struct mig_send_ops *ops;
	void *opaque;
	/* private */
	atomic_bool cancel;
	_Atomic uint64_t counters[13]; /* struct mig_progress, field by field */
	uint64_t frames, payload;      /* for END */
	uint64_t *dirty;
	uint8_t *bounce; /* one MEM run, copied out of guest RAM */
	bool stopped;
	uint64_t t_stop;  /* when stop_vm returned (ms, CLOCK_MONOTONIC) */
	uint64_t pace_ns; /* the cap's clock: when the bytes sent so far may all have gone */
};

/* Prepares `s` (zeroed counters, no cancel); the caller fills chan, mem, params, ops, opaque
 * afterwards and points chan->cancel at &s->cancel. */
void mig_sender_init(struct mig_sender *s);

/* Runs the migration. Returns 0 when the destination committed; -ECANCELED after mig_cancel();
 * -EPIPE/-ECONNRESET/-ETIMEDOUT when the peer died or went silent; -EINVAL/-ENOTSUP when it
 * refused or local migration is impossible; or -errno; the reason in err. */
int mig_send(struct mig_sender *s, char *err, size_t errlen);

/* Asks mig_send() to stop soon (any thread). */
void mig_cancel(struct mig_sender *s);

void mig_progress_read(struct mig_sender *s, struct mig_progress *p);

/* "precopy", "stopped", ... for the API. */
const char *mig_phase_name(enum mig_phase p);

#endif
