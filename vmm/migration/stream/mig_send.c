/* Pre-copy migration, the source side (mig_send.h). */
#include "vmm/migration/stream/mig_send.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "vmm/migration/stream/mig_format.h"
#include "vmm/migration/stream/mig_frame.h"
#include "vmm/snapshot/format/snap_err.h"

enum counter {
	C_PHASE,
	C_ROUNDS,
	C_BYTES,
	C_PAGES,
	C_REMAINING,
	C_DIRTY_RATE,
	C_BANDWIDTH,
	C_EXPECTED,
	C_DOWNTIME,
	C_TOTAL,
	C_MAX_ROUNDS,
	C_MAX_BANDWIDTH,
	C_ROUND_LIMIT,
	C_COUNT,
};

/* The longest sleep of the cap's pacing: a cancel is seen within it. */
#define PACE_SLICE_MS 50

static void set(struct mig_sender *s, enum counter c, uint64_t v)
{
	atomic_store_explicit(&s->counters[c], v, memory_order_relaxed);
}

static uint64_t get(struct mig_sender *s, enum counter c)
{
	return atomic_load_explicit(&s->counters[c], memory_order_relaxed);
}

static uint64_t now_ms(void)
{
	return mono_ns() / 1000000;
}

void mig_sender_init(struct mig_sender *s)
{
	memset(s, 0, sizeof(*s));
	atomic_init(&s->cancel, false);
	_Static_assert(C_COUNT <= sizeof(s->counters) / sizeof(s->counters[0]), "counters");
	for (int i = 0; i < C_COUNT; i++)
		atomic_init(&s->counters[i], 0);
}

void mig_cancel(struct mig_sender *s)
{
	atomic_store(&s->cancel, true);
}

void mig_progress_read(struct mig_sender *s, struct mig_progress *p)
{
	p->phase = (enum mig_phase)get(s, C_PHASE);
	p->rounds = (uint32_t)get(s, C_ROUNDS);
	p->bytes = get(s, C_BYTES);
	p->pages = get(s, C_PAGES);
	p->remaining_pages = get(s, C_REMAINING);
	p->dirty_rate = get(s, C_DIRTY_RATE);
	p->bandwidth = get(s, C_BANDWIDTH);
	p->expected_downtime_ms = get(s, C_EXPECTED);
	p->downtime_ms = get(s, C_DOWNTIME);
	p->total_ms = get(s, C_TOTAL);
	p->max_rounds = (uint32_t)get(s, C_MAX_ROUNDS);
	p->max_bandwidth = get(s, C_MAX_BANDWIDTH);
	p->round_limit_reached = get(s, C_ROUND_LIMIT) != 0;
}

const char *mig_phase_name(enum mig_phase p)
{
	static const char *const names[] = {"idle",	 "precopy", "stopped",
					    "completed", "failed",  "cancelled"};
	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "unknown";
}

/* ---- frames ---- */

/* The cap while the guest runs: a frame of `bytes` that began at `t0` (ns) buys bytes / cap
 * seconds on the cap's clock, which starts no earlier than the frame did (an idle or slow link
 * earns no credit to burst with later). While that clock is a millisecond or more ahead of the
 * real one the sender sleeps, PACE_SLICE_MS at most at a time, watching for a cancel; less than
 * a millisecond is left for the next frame to pay. So from any moment on, the bytes written are at
 * most the cap's worth of the time since (plus a millisecond) and one frame. The sleep is on the
 * sender's own thread between frames, where it holds no lock of the VM; it is poll() without
 * descriptors, the call the channel's waits make, which the API thread's seccomp filter has. */
static int pace(struct mig_sender *s, uint64_t t0, uint64_t bytes)
{
	uint64_t cap = s->params.max_bandwidth;
	if (s->pace_ns < t0)
		s->pace_ns = t0;
	s->pace_ns += bytes * 1000000000 / cap; /* a frame is about 1 MiB at most: no overflow */
	for (uint64_t now = mono_ns(); now + 1000000 <= s->pace_ns; now = mono_ns()) {
		if (atomic_load(&s->cancel))
			return -ECANCELED;
		uint64_t ms = (s->pace_ns - now) / 1000000;
		poll(NULL, 0, ms < PACE_SLICE_MS ? (int)ms : PACE_SLICE_MS);
	}
	return 0;
}

static int send_frame(struct mig_sender *s, uint32_t type, const void *a, size_t alen,
		      const void *b, size_t blen, int fd)
{
	if (atomic_load(&s->cancel))
		return -ECANCELED;
	uint64_t t0 = mono_ns(), b0 = s->chan->bytes_out;
	int r = mig_frame_send(s->chan, type, a, alen, b, blen, fd);
	set(s, C_BYTES, s->chan->bytes_out);
	if (r)
		return r;
	s->frames++;
	s->payload += alen + blen;
	if (s->params.max_bandwidth && !s->stopped) /* the final round goes uncapped */
		r = pace(s, t0, s->chan->bytes_out - b0);
	return r;
}

static int send_hello(struct mig_sender *s)
{
	struct mig_hello h = {0};
	mig_hello_from_mem(&h, s->mem);
	h.flags = s->params.local ? MIG_HELLO_LOCAL | MIG_HELLO_PREMAP : 0;
	if (s->params.ntaps)
		h.flags |= MIG_HELLO_TAPFDS;
	h.nvcpus = s->params.nvcpus;
	h.config = s->params.config;
	h.config_len = (uint32_t)s->params.config_len;
	if (s->params.cpu_model) {
		h.flags |= MIG_HELLO_CPU;
		h.cpu_model = s->params.cpu_model;
		h.cpu_model_len = (uint32_t)s->params.cpu_model_len;
	}
	if (s->params.config_len > MIG_MAX_CONFIG || s->params.cpu_model_len > MIG_MAX_CPU_MODEL)
		return -E2BIG;
	uint8_t *buf = malloc(MIG_MAX_PAYLOAD);
	if (!buf)
		return -ENOMEM;
	size_t n = mig_hello_encode(&h, buf, MIG_MAX_PAYLOAD);
	int r = n ? send_frame(s, MIG_F_HELLO, buf, n, NULL, 0, -1) : -E2BIG;
	free(buf);
	return r;
}

/* One MEM frame: `n` pages of region `ri` at `off`, all zero or all data. */
static int send_mem(struct mig_sender *s, int ri, uint64_t off, uint32_t n, bool zero)
{
	struct mig_mem m = {
	    .region = (uint32_t)ri, .flags = zero ? MIG_MEM_ZERO : 0, .npages = n, .offset = off};
	uint8_t hdr[MIG_MEM_HDR];
	mig_mem_encode(&m, hdr, sizeof(hdr));
	size_t len = zero ? 0 : (size_t)n * MIG_PAGE;
	/* A copy first: the guest may write the pages meanwhile, and the checksum must cover the
	 * very bytes sent (a page changed after the copy is dirty again and goes next round). */
	memcpy(s->bounce, s->mem->regions[ri].host + off, len);
	int r = send_frame(s, MIG_F_MEM, hdr, sizeof(hdr), s->bounce, len, -1);
	if (!r)
		set(s, C_PAGES, get(s, C_PAGES) + n);
	return r;
}

/* Page `off` of the scan's region is all zeros. A page written since it was last sent
 * (`written`) is data: its bytes tell; any other may be a hole of a memfd, found without
 * touching it (reading it through the mapping would allocate it). */
static bool zero_page(struct guest_zero_scan *zs, uint64_t off, uint32_t ahead, bool written)
{
	static const uint8_t zero[MIG_PAGE];
	if (written)
		return !memcmp(zs->r->host + off, zero, MIG_PAGE);
	return guest_zero_scan_page(zs, off, ahead);
}

/* Pages [off, off + n * 4096) of region `ri` (n <= MIG_MAX_RUN), cut into runs of zero pages
 * and runs of data pages. `written`: pages of a dirty set (zero_page()). */
static int send_run(struct mig_sender *s, int ri, uint64_t off, uint32_t n, bool written)
{
	struct guest_zero_scan zs = {.r = &s->mem->regions[ri]};
	uint32_t start = 0;
	bool zero = zero_page(&zs, off, n, written);
	for (uint32_t i = 1; i <= n; i++) {
		bool z = i < n && zero_page(&zs, off + (uint64_t)i * MIG_PAGE, n - i, written);
		if (i < n && z == zero)
			continue;
		int r = send_mem(s, ri, off + (uint64_t)start * MIG_PAGE, i - start, zero);
		if (r)
			return r;
		start = i;
		zero = z;
	}
	return 0;
}

/* The pages set in `bitmap` (all pages when NULL), in runs that stay inside one region. Adds
 * the pages sent to *count. */
static int send_pages(struct mig_sender *s, const uint64_t *bitmap, uint64_t *count)
{
	uint64_t base = 0; /* index of the region's first page */
	for (int ri = 0; ri < s->mem->nregions; ri++) {
		uint64_t npages = s->mem->regions[ri].size / MIG_PAGE;
		for (uint64_t p = 0; p < npages;) {
			uint64_t i = base + p, rest = bitmap ? bitmap[i / 64] >> (i % 64) : 1;
			if (!(rest & 1)) { /* to the next page set in this word, or the next word */
				p += rest ? (uint64_t)__builtin_ctzll(rest) : 64 - i % 64;
				continue;
			}
			uint32_t n = 1;
			while (p + n < npages && n < MIG_MAX_RUN &&
			       (!bitmap || (bitmap[(i + n) / 64] & (1ull << ((i + n) % 64)))))
				n++;
			int r = send_run(s, ri, p * MIG_PAGE, n, bitmap != NULL);
			if (r)
				return r;
			*count += n;
			p += n;
		}
		base += npages;
	}
	return 0;
}

/* ---- dirty pages ---- */

static uint64_t count_bits(const uint64_t *b, size_t words)
{
	uint64_t n = 0;
	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(b[i]);
	return n;
}

/* Collects the pages written since the last call (the VMM's and, through ops, the guest's)
 * into s->dirty: a new set, or (`add`) added to the pages still unsent there. */
static int take_dirty(struct mig_sender *s, bool add, uint64_t *npages)
{
	size_t words = guest_mem_dirty_words(s->mem);
	if (!add)
		memset(s->dirty, 0, words * sizeof(uint64_t));
	guest_mem_dirty_take(s->mem, s->dirty);
	if (s->ops->dirty_log) {
		int r = s->ops->dirty_log(s->opaque, s->dirty);
		if (r)
			return r;
	}
	*npages = count_bits(s->dirty, words);
	return 0;
}

/* ---- the phases ---- */

/* Records a round's measurements; true when the pages left fit the downtime budget. Under a cap
 * the bandwidth is the capped one, so the budget is kept even if the link were no faster than
 * the cap in the final round (QEMU estimates the same way unless told the switchover's
 * bandwidth). */
static bool round_done(struct mig_sender *s, uint64_t bytes, uint64_t ms, uint64_t dirty)
{
	if (!ms)
		ms = 1;
	uint64_t bw = bytes * 1000 / ms;
	uint64_t expected = bw ? dirty * MIG_PAGE * 1000 / bw : UINT64_MAX;
	set(s, C_ROUNDS, get(s, C_ROUNDS) + 1);
	set(s, C_BANDWIDTH, bw);
	set(s, C_DIRTY_RATE, dirty * 1000 / ms);
	set(s, C_REMAINING, dirty);
	set(s, C_EXPECTED, expected);
	return expected <= s->params.max_downtime_ms;
}

static int send_round_marker(struct mig_sender *s, uint64_t pages)
{
	struct mig_round m = {.round = (uint32_t)get(s, C_ROUNDS) + 1, .pages = pages};
	uint8_t buf[16];
	mig_round_encode(&m, buf, sizeof(buf));
	return send_frame(s, MIG_F_ROUND, buf, sizeof(buf), NULL, 0, -1);
}

/* Round 1 (all of RAM) and the dirty rounds, while the guest runs. */
static int precopy(struct mig_sender *s, char *err, size_t errlen)
{
	uint64_t dirty = 0;
	int r = take_dirty(s, false, &dirty); /* a clean log: what the guest writes from now on */
	if (r)
		return snap_err(err, errlen, r, "reading the dirty log: %s", strerror(-r));
	const uint64_t *pages = NULL; /* round 1: every page */
	for (uint32_t round = 1;; round++) {
		uint64_t t0 = now_ms(), b0 = s->chan->bytes_out, sent = 0;
		r = send_pages(s, pages, &sent);
		if (!r)
			r = send_round_marker(s, sent);
		if (!r)
			r = take_dirty(s, false, &dirty);
		if (r)
			return r;
		pages = s->dirty;
		if (round_done(s, s->chan->bytes_out - b0, now_ms() - t0, dirty))
			return 0;
		if (round >= s->params.max_rounds) {
			set(s, C_ROUND_LIMIT, 1);
			return 0;
		}
	}
}

/* The state of the stopped VM, in STATE frames. */
static int send_state(struct mig_sender *s, char *err, size_t errlen)
{
	struct snap_writer w;
	const uint8_t *bytes;
	size_t len;
	int r = snap_writer_init(&w);
	if (!r)
		r = s->ops->save_state(s->opaque, &w, err, errlen);
	if (!r)
		r = snap_writer_finish(&w, &bytes, &len);
	for (size_t off = 0; !r && off < len; off += MIG_MAX_PAYLOAD) {
		size_t n = len - off < MIG_MAX_PAYLOAD ? len - off : MIG_MAX_PAYLOAD;
		r = send_frame(s, MIG_F_STATE, bytes + off, n, NULL, 0, -1);
	}
	snap_writer_free(&w);
	return r;
}

static int send_end(struct mig_sender *s)
{
	struct mig_end e = {.frames = s->frames, .bytes = s->payload};
	uint8_t buf[16];
	mig_end_encode(&e, buf, sizeof(buf));
	return send_frame(s, MIG_F_END, buf, sizeof(buf), NULL, 0, -1);
}

/* Waits for the destination's RESULT. Returns 0 when it is ready, else an error with its
 * message. */
static int await_result(struct mig_sender *s, char *err, size_t errlen)
{
	struct mig_frame f;
	struct mig_status st;
	char why[256];
	int r = mig_frame_init(&f);
	if (!r)
		r = mig_frame_recv(s->chan, &f, why, sizeof(why));
	if (r)
		r = snap_err(err, errlen, r, "destination: %s",
			     r == -ENOMEM ? "out of memory" : why);
	else if (f.type != MIG_F_RESULT || mig_status_decode(f.buf, f.len, &st, why, sizeof(why)))
		r = snap_err(err, errlen, -EINVAL, "destination answered with a bad %s frame",
			     mig_frame_name(f.type));
	else if (st.code)
		r = snap_err(err, errlen, st.code <= 4095 ? -(int)st.code : -EIO,
			     "destination refused: %.*s", (int)st.msg_len, st.msg);
	mig_frame_free(&f);
	return r;
}

/* A socket the peer closed may still hold its RESULT saying why: prefer that message. */
static int peer_reason(struct mig_sender *s, int r, char *err, size_t errlen)
{
	if (r != -EPIPE && r != -ECONNRESET)
		return r;
	int saved = s->chan->timeout_ms;
	/* A second at most for this small frame, even to a peer whose buffer is full: 200 ms lost
	 * the frame now and then under load (a receiver that began reading late then waited for
	 * the source's silence to time out, unit test mig_precopy cancel_in_the_middle under ASan).
	 */
	s->chan->timeout_ms = 1000;
	char why[MIG_MAX_MSG + 64];
	int q = await_result(s, why, sizeof(why));
	s->chan->timeout_ms = saved;
	if (q && q != -EPIPE && q != -ECONNRESET && q != -ETIMEDOUT)
		return snap_err(err, errlen, r, "%s", why);
	return snap_err(err, errlen, r, "the destination went away (%s)", strerror(-r));
}

/* File descriptors travel only over a Unix socket. */
static bool on_unix_socket(const struct mig_sender *s)
{
	int domain = 0;
	socklen_t len = sizeof(domain);
	return s->chan->fd >= 0 && !getsockopt(s->chan->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) &&
	       domain == AF_UNIX;
}

static int check_local(struct mig_sender *s, char *err, size_t errlen)
{
	if (!on_unix_socket(s))
		return snap_err(err, errlen, -ENOTSUP, "local migration needs a Unix socket");
	uint64_t off = 0;
	for (int i = 0; i < s->mem->nregions; i++) {
		const struct guest_region *g = &s->mem->regions[i];
		if (!s->mem->shared || g->fd < 0 || g->fd != s->mem->regions[0].fd ||
		    g->fd_offset != off)
			return snap_err(
			    err, errlen, -ENOTSUP,
			    "local migration needs guest RAM in one shared memory file");
		off += g->size;
	}
	return 0;
}

static int stop_vm(struct mig_sender *s, char *err, size_t errlen)
{
	int r = s->ops->stop_vm(s->opaque, err, errlen);
	if (!r) {
		s->stopped = true;
		s->t_stop = now_ms();
		set(s, C_PHASE, MIG_PHASE_STOPPED);
	}
	return r;
}

/* Everything after HELLO for a local migration: the memfd instead of pages, sent while the guest
 * runs; the pause once the destination has mapped it (MIG_HELLO_PREMAP), so that its mapping's
 * page faults are not the guest's downtime. */
static int send_local(struct mig_sender *s, char *err, size_t errlen)
{
	uint8_t buf[8];
	mig_put_le(buf, s->mem->ram_size, 8);
	int r = send_frame(s, MIG_F_MEMFD, buf, sizeof(buf), NULL, 0, s->mem->regions[0].fd);
	if (!r)
		r = await_result(s, err, errlen);
	if (!r)
		r = stop_vm(s, err, errlen);
	return r;
}

/* Before the pause, the destination reads what the socket still holds of the rounds (a Unix
 * socket's queue: ~1-2.5 ms of its checking and copying on the 2-core test host): those bytes
 * would delay the final round's and be the guest's pause. The guest runs meanwhile; what it
 * writes goes in the final round. Past MIG_DRAIN_MS (a slow link, a slow peer) it pauses anyway;
 * a socket that cannot tell is not waited for. */
static int drained(struct mig_sender *s)
{
	int r = mig_chan_drain(s->chan, MIG_DRAIN_MS);
	return r == -ECANCELED ? r : 0;
}

/* After precopy(): short rounds of the pages left while they keep shrinking (MIG_SETTLE_ROUNDS),
 * each drained, so that the pause sends few. */
static int settle(struct mig_sender *s)
{
	uint64_t left = get(s, C_REMAINING), dirty = 0, sent = 0;
	int r = drained(s);
	for (uint32_t i = 0; !r && i < MIG_SETTLE_ROUNDS && left > MIG_SETTLE_PAGES &&
			     get(s, C_ROUNDS) < s->params.max_rounds;
	     i++) {
		r = send_pages(s, s->dirty, &sent);
		if (!r)
			r = send_round_marker(s, sent);
		if (!r)
			r = take_dirty(s, false, &dirty);
		if (!r)
			r = drained(s);
		set(s, C_ROUNDS, get(s, C_ROUNDS) + 1);
		set(s, C_REMAINING, dirty);
		if (dirty > left / 2)
			break;
		left = dirty;
		sent = 0;
	}
	return r;
}

/* Pre-copy, then the final round of a stopped VM. */
static int send_copy(struct mig_sender *s, char *err, size_t errlen)
{
	uint64_t dirty = 0, sent = 0;
	int r = precopy(s, err, errlen);
	if (!r)
		r = settle(s);
	if (!r)
		r = stop_vm(s, err, errlen);
	if (!r)
		r = take_dirty(s, true, &dirty); /* the pages left, and those written since */
	if (!r)
		r = send_pages(s, s->dirty, &sent);
	if (!r)
		r = send_round_marker(s, sent);
	if (!r)
		set(s, C_ROUNDS, get(s, C_ROUNDS) + 1);
	return r;
}

/* The taps, once the VM is paused: from here the destination may read them (after COMMIT). */
static int send_taps(struct mig_sender *s)
{
	int r = 0;
	for (uint32_t i = 0; !r && i < s->params.ntaps; i++) {
		uint8_t buf[MIG_TAPFD_LEN] = {0};
		mig_put_le(buf, s->params.taps[i].nic, 4);
		r = send_frame(s, MIG_F_TAPFD, buf, sizeof(buf), NULL, 0, s->params.taps[i].fd);
	}
	return r;
}

static int run(struct mig_sender *s, char *err, size_t errlen)
{
	if (s->params.local) {
		int r = check_local(s, err, errlen);
		if (r)
			return r;
	}
	if (s->params.ntaps && (s->params.ntaps > MIG_MAX_TAPFDS || !on_unix_socket(s)))
		return snap_err(err, errlen, -ENOTSUP,
				"handing %u taps over needs a Unix socket (and at most %u)",
				s->params.ntaps, MIG_MAX_TAPFDS);
	int r = send_hello(s);
	if (!r)
		r = s->params.local ? send_local(s, err, errlen) : send_copy(s, err, errlen);
	if (!r)
		r = send_taps(s);
	if (!r)
		r = send_state(s, err, errlen);
	if (!r)
		r = send_end(s);
	s->chan->spin_us = MIG_CHAN_SPIN_US; /* READY is due once the state is set there */
	if (!r)
		r = await_result(s, err, errlen);
	s->chan->spin_us = 0;
	if (!r)
		r = send_frame(s, MIG_F_COMMIT, NULL, 0, NULL, 0, -1);
	return r;
}

/* Tells a peer that can still hear why the source gives up. */
static void send_error(struct mig_sender *s, int r, const char *msg)
{
	uint8_t buf[4 + MIG_MAX_MSG];
	size_t n = mig_status_encode((uint32_t)-r, msg, buf, sizeof(buf));
	int saved = s->chan->timeout_ms;
	/* A second at most for this small frame, even to a peer whose buffer is full: 200 ms lost
	 * the frame now and then under load (a receiver that began reading late then waited for
	 * the source's silence to time out, unit test mig_precopy cancel_in_the_middle under ASan).
	 */
	s->chan->timeout_ms = 1000;
	mig_frame_send(s->chan, MIG_F_ERROR, buf, n, NULL, 0, -1);
	s->chan->timeout_ms = saved;
}

static int fail(struct mig_sender *s, int r, char *err, size_t errlen)
{
	if (err && errlen && !err[0])
		snap_err(err, errlen, r, "%s", r == -ECANCELED ? "cancelled" : strerror(-r));
	r = peer_reason(s, r, err, errlen);
	if (r != -EPIPE && r != -ECONNRESET && r != -ETIMEDOUT) {
		atomic_bool *c = &s->cancel;
		bool was = atomic_exchange(c, false); /* the ERROR frame must still go */
		send_error(s, r, err);
		atomic_store(c, was);
	}
	if (s->stopped)
		s->ops->resume_vm(s->opaque);
	set(s, C_PHASE, r == -ECANCELED ? MIG_PHASE_CANCELLED : MIG_PHASE_FAILED);
	return r;
}

int mig_send(struct mig_sender *s, char *err, size_t errlen)
{
	uint64_t t0 = now_ms();
	if (err && errlen)
		err[0] = 0;
	if (!s->params.max_downtime_ms)
		s->params.max_downtime_ms = MIG_DEFAULT_DOWNTIME_MS;
	if (!s->params.max_rounds)
		s->params.max_rounds = MIG_DEFAULT_ROUNDS;
	set(s, C_MAX_ROUNDS, s->params.local ? 0 : s->params.max_rounds);
	set(s, C_MAX_BANDWIDTH, s->params.local ? 0 : s->params.max_bandwidth);
	set(s, C_PHASE, MIG_PHASE_PRECOPY);
	int r = s->params.local ? 0 : guest_mem_dirty_start(s->mem);
	if (!r && !s->params.local) {
		s->dirty = calloc(guest_mem_dirty_words(s->mem), sizeof(uint64_t));
		s->bounce = malloc((size_t)MIG_MAX_RUN * MIG_PAGE);
		r = s->dirty && s->bounce ? 0 : -ENOMEM;
	}
	if (!r)
		r = run(s, err, errlen);
	set(s, C_TOTAL, now_ms() - t0);
	if (!r) {
		set(s, C_DOWNTIME, now_ms() - s->t_stop);
		set(s, C_PHASE, MIG_PHASE_COMPLETED);
		/* The destination's vCPUs start now, maybe on this CPU: freeing the buffers
		 * (0.1 ms) and the caller's teardown wait until it hangs up. */
		mig_chan_await_hangup(s->chan, MIG_HANGUP_WAIT_MS);
	}
	free(s->dirty);
	free(s->bounce);
	s->dirty = NULL;
	s->bounce = NULL;
	return r ? fail(s, r, err, errlen) : 0;
}
