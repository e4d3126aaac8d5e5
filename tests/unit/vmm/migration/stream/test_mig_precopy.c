/* Pre-copy migration between two guest memories in one process over a socketpair: a thread
 * keeps writing pages while RAM is copied, the destination ends byte for byte the source;
 * cancel mid-way; a peer that dies or refuses; the round limit; the bandwidth cap (it holds, a
 * guest faster than the capped link meets the round limit, the final round goes uncapped); local
 * migration by memfd. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/migration/stream/mig_frame.h"
#include "vmm/migration/stream/mig_recv.h"
#include "vmm/migration/stream/mig_send.h"

#define RAM (32u << 20)

static struct guest_mem src, dst;
static int sv[2];

/* The "guest": writes a counter into pseudo-random pages until stop_vm. */
static atomic_bool writer_stop;
static atomic_ullong writes;
static pthread_t writer;
static bool writer_running;

static void *writer_main(void *arg)
{
	(void)arg;
	uint64_t x = 88172645463325252ull, n = 0;
	while (!atomic_load(&writer_stop)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t gpa = (x % (RAM / 4096)) * 4096 + (x >> 40) % 4088;
		n++;
		cr_assert_eq(guest_mem_write(&src, gpa, &n, sizeof(n)), 0);
		atomic_store(&writes, n);
		if (n % 64 == 0)
			usleep(50);
	}
	return NULL;
}

static void start_writer(void)
{
	atomic_store(&writer_stop, false);
	cr_assert_eq(pthread_create(&writer, NULL, writer_main, NULL), 0);
	writer_running = true;
}

static void stop_writer(void)
{
	if (!writer_running)
		return;
	atomic_store(&writer_stop, true);
	pthread_join(writer, NULL);
	writer_running = false;
}

struct src_vm {
	int stops, resumes;
	struct mig_sender *s;
	uint64_t cancel_after_pages; /* 0: never */
};

static int stop_vm(void *o, char *e, size_t l)
{
	(void)e, (void)l;
	stop_writer();
	((struct src_vm *)o)->stops++;
	return 0;
}

static void resume_vm(void *o)
{
	((struct src_vm *)o)->resumes++;
}

static int save_state(void *o, struct snap_writer *w, char *e, size_t l)
{
	(void)o, (void)e, (void)l;
	return snap_put(w, 1, 0, "{\"cpus\":1}", 10);
}

static const struct mig_send_ops ops = {
    .stop_vm = stop_vm, .resume_vm = resume_vm, .save_state = save_state};

static void setup(void)
{
	cr_assert_eq(guest_mem_alloc(&src, RAM), 0);
	cr_assert_eq(guest_mem_alloc(&dst, RAM), 0);
	for (uint64_t p = 0; p < RAM / 4096; p += 3) /* a third of the pages hold data */
		cr_assert_eq(guest_mem_write(&src, p * 4096 + 8, &p, sizeof(p)), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void teardown(void)
{
	stop_writer();
	close(sv[0]);
	close(sv[1]);
	guest_mem_free(&src);
	guest_mem_free(&dst);
}

TestSuite(mig_precopy, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the sender runs on its own thread ---- */

struct send_run {
	pthread_t t;
	struct mig_chan chan;
	struct mig_sender s;
	struct src_vm vm;
	int ret;
	char err[512];
};

static void *send_main(void *arg)
{
	struct send_run *r = arg;
	r->ret = mig_send(&r->s, r->err, sizeof(r->err));
	return NULL;
}

/* A sender of `mem` with `o` on its own thread (one vCPU, an empty configuration). */
static struct send_run *start_send_with(struct guest_mem *mem, const struct mig_send_ops *o,
					struct mig_send_params p)
{
	struct send_run *r = calloc(1, sizeof(*r));
	mig_sender_init(&r->s);
	mig_chan_init_fd(&r->chan, sv[0], &r->s.cancel);
	r->chan.timeout_ms = 5000;
	r->s.chan = &r->chan;
	r->s.mem = mem;
	r->s.ops = o;
	r->s.opaque = &r->vm;
	r->vm.s = &r->s;
	p.nvcpus = 1;
	p.config = "{}";
	p.config_len = 2;
	r->s.params = p;
	cr_assert_eq(pthread_create(&r->t, NULL, send_main, r), 0);
	return r;
}

static struct send_run *start_send(struct mig_send_params p)
{
	return start_send_with(&src, &ops, p);
}

static void join_send(struct send_run *r)
{
	pthread_join(r->t, NULL);
	mig_chan_release(&r->chan);
}

/* ---- the receiver, here ---- */

static int give_dst(void *o, const struct mig_hello *h, struct guest_mem **mem, char *e, size_t l)
{
	(void)o, (void)h, (void)e, (void)l;
	*mem = &dst;
	return 0;
}

static struct guest_mem local_mem;

static int give_none(void *o, const struct mig_hello *h, struct guest_mem **mem, char *e, size_t l)
{
	(void)o, (void)h, (void)e, (void)l;
	*mem = NULL;
	return 0;
}

/* The source's pauses when the destination got its memfd (-1: not seen yet). */
static const struct src_vm *memfd_source;
static int stops_at_memfd = -1;

static int map_memfd(void *o, int fd, const struct mig_hello *h, struct guest_mem **mem, char *e,
		     size_t l)
{
	(void)o;
	if (memfd_source)
		stops_at_memfd = memfd_source->stops;
	int r = mig_local_map(&local_mem, fd, h, e, l);
	*mem = r ? NULL : &local_mem;
	return r;
}

static int refuse_memfd(void *o, int fd, const struct mig_hello *h, struct guest_mem **mem, char *e,
			size_t l)
{
	(void)o, (void)h;
	close(fd);
	*mem = NULL;
	snprintf(e, l, "no room for it here");
	return -ENOMEM;
}

static const struct mig_recv_ops recv_ops = {.hello = give_dst};
static const struct mig_recv_ops local_ops = {.hello = give_none, .memfd = map_memfd};
static const struct mig_recv_ops refusing_local_ops = {.hello = give_none, .memfd = refuse_memfd};

static int receive(struct mig_receiver *r, struct mig_chan *c, const struct mig_recv_ops *o,
		   char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	mig_chan_init_fd(c, sv[1], NULL);
	c->timeout_ms = 5000;
	r->chan = c;
	r->ops = o;
	return mig_recv(r, err, errlen);
}

Test(mig_precopy, a_busy_guest_arrives_byte_for_byte)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	start_writer();
	while (atomic_load(&writes) < 1000)
		usleep(100);
	struct send_run *s =
	    start_send((struct mig_send_params){.max_downtime_ms = 5, .max_rounds = 8});
	/* Progress is readable meanwhile. */
	struct mig_progress p;
	mig_progress_read(&s->s, &p);
	cr_assert(p.phase == MIG_PHASE_IDLE || p.phase == MIG_PHASE_PRECOPY ||
		  p.phase == MIG_PHASE_STOPPED);
	int ret = receive(&r, &c, &recv_ops, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_eq(mig_recv_ready(&r, err, sizeof(err)), 0, "%s", err);
	join_send(s);
	cr_assert_eq(s->ret, 0, "%s", s->err);
	cr_assert_eq(s->vm.stops, 1);
	cr_assert_eq(s->vm.resumes, 0);
	cr_assert_eq(memcmp(src.regions[0].host, dst.regions[0].host, RAM), 0,
		     "the destination differs from the source");
	mig_progress_read(&s->s, &p);
	cr_assert_eq(p.phase, MIG_PHASE_COMPLETED);
	cr_assert_geq(p.rounds, 3, "round 1, at least one dirty round, the final round: %u",
		      p.rounds);
	cr_assert_eq(r.rounds, p.rounds);
	cr_assert_gt(p.pages, RAM / 4096, "pages were sent again");
	cr_assert_gt(p.bytes, RAM / 3);
	cr_assert_gt(p.bandwidth, 0);
	cr_log_info("%u rounds, %llu pages, %llu bytes, %llu ms, downtime %llu ms, %llu writes",
		    p.rounds, (unsigned long long)p.pages, (unsigned long long)p.bytes,
		    (unsigned long long)p.total_ms, (unsigned long long)p.downtime_ms,
		    (unsigned long long)atomic_load(&writes));
	size_t n;
	cr_assert_not_null(snap_get(&r.reader, 1, 0, &n));
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* KVM's dirty log stand-in: the guest wrote 4096 pages (16 MiB) in every round, more than any
 * link here sends within 1 ms. */
static int busy_log(void *o, uint64_t *bitmap)
{
	(void)o;
	for (int i = 0; i < 4096 / 64; i++)
		bitmap[i * 2] = ~0ull; /* every other run of 64 pages */
	return 0;
}

static const struct mig_send_ops busy_ops = {
    .dirty_log = busy_log, .stop_vm = stop_vm, .resume_vm = resume_vm, .save_state = save_state};

Test(mig_precopy, a_guest_faster_than_the_link_hits_the_round_limit)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	start_writer();
	struct send_run *s = calloc(1, sizeof(*s));
	mig_sender_init(&s->s);
	mig_chan_init_fd(&s->chan, sv[0], &s->s.cancel);
	s->s.chan = &s->chan;
	s->s.mem = &src;
	s->s.ops = &busy_ops;
	s->s.opaque = &s->vm;
	s->s.params = (struct mig_send_params){.max_downtime_ms = 1, .max_rounds = 3, .nvcpus = 1};
	cr_assert_eq(pthread_create(&s->t, NULL, send_main, s), 0);
	cr_assert_eq(receive(&r, &c, &recv_ops, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mig_recv_ready(&r, err, sizeof(err)), 0, "%s", err);
	join_send(s);
	cr_assert_eq(s->ret, 0, "%s", s->err);
	cr_assert_eq(r.rounds, 3 + 1, "round 1, 2 dirty rounds, the final one: %u", r.rounds);
	struct mig_progress p;
	mig_progress_read(&s->s, &p);
	cr_assert_gt(p.expected_downtime_ms, 1, "the budget was never met");
	cr_assert(p.round_limit_reached);
	cr_assert_eq(p.max_rounds, 3);
	cr_assert_eq(p.rounds, 3 + 1);
	cr_assert_geq(p.pages, RAM / 4096 + 3 * 4096);
	cr_assert_eq(memcmp(src.regions[0].host, dst.regions[0].host, RAM), 0);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* ---- the bandwidth cap ---- */

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Samples the sender's byte counter every 10 ms until it ends: (time before the read, bytes,
 * time after). */
#define MAX_SAMPLES 4096
struct sampler {
	pthread_t t;
	struct mig_sender *s;
	atomic_bool stop;
	int n;
	uint64_t before[MAX_SAMPLES], bytes[MAX_SAMPLES], after[MAX_SAMPLES];
};

static void *sampler_main(void *arg)
{
	struct sampler *m = arg;
	while (!atomic_load(&m->stop) && m->n < MAX_SAMPLES) {
		struct mig_progress p;
		m->before[m->n] = mono_ms();
		mig_progress_read(m->s, &p);
		m->after[m->n] = mono_ms();
		m->bytes[m->n++] = p.bytes;
		usleep(10000);
	}
	return NULL;
}

/* A frame: a MEM run of 256 pages and its header, with room to spare. */
#define FRAME_MAX ((1u << 20) + 4096)

/* RAM whose data pages (a third: about 10.7 MiB) go at 4 MiB/s: between any two readings of
 * the byte counter, no more than the cap's worth of the longest time that can separate them, plus
 * the frame under way at the first and the last one (the pacing sleeps after a frame); over the
 * whole run, at least a tenth of the cap (loose: the host may be busy). No guest writes: all in
 * round 1. */
Test(mig_precopy, the_cap_holds)
{
	const uint64_t cap = 4u << 20;
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	static struct sampler m;
	uint64_t t0 = mono_ms();
	struct send_run *s = start_send((struct mig_send_params){
	    .max_downtime_ms = 300, .max_rounds = 5, .max_bandwidth = cap});
	memset(&m, 0, sizeof(m));
	m.s = &s->s;
	cr_assert_eq(pthread_create(&m.t, NULL, sampler_main, &m), 0);
	cr_assert_eq(receive(&r, &c, &recv_ops, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mig_recv_ready(&r, err, sizeof(err)), 0, "%s", err);
	join_send(s);
	uint64_t t1 = mono_ms();
	atomic_store(&m.stop, true);
	pthread_join(m.t, NULL);
	cr_assert_eq(s->ret, 0, "%s", s->err);
	cr_assert_eq(memcmp(src.regions[0].host, dst.regions[0].host, RAM), 0);
	struct mig_progress p;
	mig_progress_read(&s->s, &p);
	cr_assert_eq(p.max_bandwidth, cap);
	cr_assert_gt(p.bytes, RAM / 3, "the data pages went: %llu bytes",
		     (unsigned long long)p.bytes);
	for (int i = 0; i < m.n; i++)
		for (int j = i + 1; j < m.n; j++) {
			uint64_t most = cap * (m.after[j] - m.before[i]) / 1000 + 2 * FRAME_MAX;
			cr_assert_leq(m.bytes[j] - m.bytes[i], most,
				      "%llu bytes in at most %llu ms: over the cap",
				      (unsigned long long)(m.bytes[j] - m.bytes[i]),
				      (unsigned long long)(m.after[j] - m.before[i]));
		}
	uint64_t ms = t1 - t0;
	cr_assert_geq(ms * cap / 1000 + 2 * FRAME_MAX, p.bytes,
		      "%llu bytes in %llu ms: faster than the cap", (unsigned long long)p.bytes,
		      (unsigned long long)ms);
	cr_assert_geq(p.bytes * 1000 / ms, cap / 10, "%llu bytes in %llu ms: far below the cap",
		      (unsigned long long)p.bytes, (unsigned long long)ms);
	cr_assert_leq(p.bandwidth, cap + cap / 4, "the rounds' measured bandwidth: %llu",
		      (unsigned long long)p.bandwidth);
	cr_log_info("the cap: %llu bytes in %llu ms (%llu bytes/s, cap %llu), %d samples",
		    (unsigned long long)p.bytes, (unsigned long long)ms,
		    (unsigned long long)(p.bytes * 1000 / ms), (unsigned long long)cap, m.n);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* A guest that keeps rewriting a window of WINDOW_PAGES (1 MiB) in 8 MiB of its own RAM, far
 * faster than a 1 MiB/s link takes it (a thread, and its dirty log says the whole window each
 * round): each round finds the window dirty again, so pre-copy never
 * fits max_downtime_ms and ends at max_rounds; the final round (the window again) goes uncapped.
 * Uncapped, a socketpair takes the window in milliseconds and pre-copy converges at once: this
 * test fails without the cap. */
#define SMALL_RAM    (8u << 20)
#define WINDOW_PAGES 256u

static struct guest_mem wsrc, wdst;
static atomic_bool wstop;
static pthread_t wthread;
static bool wrunning;

static void *window_main(void *arg)
{
	(void)arg;
	uint64_t n = 0;
	while (!atomic_load(&wstop)) {
		n++;
		uint64_t gpa =
		    (1u << 20) + (n % WINDOW_PAGES) * 4096 + (n / WINDOW_PAGES) % 512 * 8;
		cr_assert_eq(guest_mem_write(&wsrc, gpa, &n, sizeof(n)), 0);
		if (n % 256 == 0)
			usleep(100);
	}
	return NULL;
}

static void stop_window(void)
{
	if (!wrunning)
		return;
	atomic_store(&wstop, true);
	pthread_join(wthread, NULL);
	wrunning = false;
}

static int stop_window_vm(void *o, char *e, size_t l)
{
	(void)e, (void)l;
	stop_window();
	((struct src_vm *)o)->stops++;
	return 0;
}

/* KVM's dirty log stand-in for the same guest: while it runs, every round also finds the whole
 * window rewritten (the thread alone may not get a CPU between two rounds on a loaded host, and
 * then pre-copy converged: seen once in a full CI run). */
static int window_log(void *o, uint64_t *bitmap)
{
	if (((struct src_vm *)o)->stops)
		return 0; /* stopped: it writes no more */
	for (uint64_t i = 0; i < WINDOW_PAGES; i++) {
		uint64_t gpa = (1u << 20) + i * 4096, v = ~i;
		cr_assert_eq(guest_mem_write(&wsrc, gpa, &v, sizeof(v)), 0);
	}
	for (uint64_t w = (1u << 20) / 4096 / 64; w < ((1u << 20) / 4096 + WINDOW_PAGES) / 64; w++)
		bitmap[w] = ~0ull;
	return 0;
}

static const struct mig_send_ops window_ops = {.dirty_log = window_log,
					       .stop_vm = stop_window_vm,
					       .resume_vm = resume_vm,
					       .save_state = save_state};

static int give_wdst(void *o, const struct mig_hello *h, struct guest_mem **mem, char *e, size_t l)
{
	(void)o, (void)h, (void)e, (void)l;
	*mem = &wdst;
	return 0;
}

Test(mig_precopy, a_guest_faster_than_the_capped_link_hits_the_round_limit)
{
	const uint64_t cap = 1u << 20;
	const uint32_t max_rounds = 3;
	static const struct mig_recv_ops ops_w = {.hello = give_wdst};
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	cr_assert_eq(guest_mem_alloc(&wsrc, SMALL_RAM), 0);
	cr_assert_eq(guest_mem_alloc(&wdst, SMALL_RAM), 0);
	atomic_store(&wstop, false);
	cr_assert_eq(pthread_create(&wthread, NULL, window_main, NULL), 0);
	wrunning = true;
	struct send_run *s = calloc(1, sizeof(*s));
	mig_sender_init(&s->s);
	mig_chan_init_fd(&s->chan, sv[0], &s->s.cancel);
	s->chan.timeout_ms = 10000;
	s->s.chan = &s->chan;
	s->s.mem = &wsrc;
	s->s.ops = &window_ops;
	s->s.opaque = &s->vm;
	s->s.params = (struct mig_send_params){.max_downtime_ms = 20,
					       .max_rounds = max_rounds,
					       .max_bandwidth = cap,
					       .nvcpus = 1,
					       .config = "{}",
					       .config_len = 2};
	cr_assert_eq(pthread_create(&s->t, NULL, send_main, s), 0);
	cr_assert_eq(receive(&r, &c, &ops_w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mig_recv_ready(&r, err, sizeof(err)), 0, "%s", err);
	join_send(s);
	stop_window();
	cr_assert_eq(s->ret, 0, "%s", s->err);
	struct mig_progress p;
	mig_progress_read(&s->s, &p);
	cr_log_info("capped: %u rounds, %llu pages, %llu bytes, %llu dirty pages/s, %llu bytes/s, "
		    "expected downtime %llu ms, downtime %llu ms, %llu ms in all",
		    p.rounds, (unsigned long long)p.pages, (unsigned long long)p.bytes,
		    (unsigned long long)p.dirty_rate, (unsigned long long)p.bandwidth,
		    (unsigned long long)p.expected_downtime_ms, (unsigned long long)p.downtime_ms,
		    (unsigned long long)p.total_ms);
	cr_assert(p.round_limit_reached, "pre-copy converged after %u rounds: the cap did not hold",
		  p.rounds);
	cr_assert_eq(p.rounds, max_rounds + 1, "max_rounds, then the final round: %u", p.rounds);
	cr_assert_eq(r.rounds, p.rounds);
	cr_assert_gt(p.expected_downtime_ms, 20, "the budget was never met");
	cr_assert_geq(p.remaining_pages, 16, "the window was dirty again");
	cr_assert_leq(p.bandwidth, cap + cap / 2, "%llu bytes/s", (unsigned long long)p.bandwidth);
	/* The final round (up to the window's 1 MiB, a second at the cap) was not paced. */
	cr_assert_lt(p.downtime_ms, 500, "the final round took %llu ms",
		     (unsigned long long)p.downtime_ms);
	cr_assert_eq(memcmp(wsrc.regions[0].host, wdst.regions[0].host, SMALL_RAM), 0,
		     "the destination differs from the source");
	mig_recv_free(&r);
	mig_chan_release(&c);
	guest_mem_free(&wsrc);
	guest_mem_free(&wdst);
	free(s);
}

/* A cancel during the cap's sleep is seen within its 50 ms slice. */
Test(mig_precopy, cancel_while_paced)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	struct send_run *s = start_send((struct mig_send_params){.max_bandwidth = 64u << 10});
	memset(&r, 0, sizeof(r));
	mig_chan_init_fd(&c, sv[1], NULL);
	r.chan = &c;
	r.ops = &recv_ops;
	struct mig_progress p;
	do {
		usleep(1000);
		mig_progress_read(&s->s, &p);
	} while (p.bytes < 16384); /* at 64 KiB/s: a quarter of a second in */
	uint64_t t0 = mono_ms();
	mig_cancel(&s->s);
	int ret = mig_recv(&r, err, sizeof(err));
	join_send(s);
	cr_assert_eq(ret, -ECANCELED, "%d %s", ret, err);
	cr_assert_eq(s->ret, -ECANCELED, "%s", s->err);
	cr_assert_lt(mono_ms() - t0, 5000, "the cancel took %llu ms",
		     (unsigned long long)(mono_ms() - t0));
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* Cancels once the sender has sent some pages. */
Test(mig_precopy, cancel_in_the_middle)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	start_writer();
	struct send_run *s =
	    start_send((struct mig_send_params){.max_downtime_ms = 0, .max_rounds = 1000});
	memset(&r, 0, sizeof(r));
	mig_chan_init_fd(&c, sv[1], NULL);
	r.chan = &c;
	r.ops = &recv_ops;
	/* Read a few frames' worth first, then cancel, then let the receiver see the end. */
	struct mig_progress p;
	do {
		usleep(1000);
		mig_progress_read(&s->s, &p);
	} while (p.pages < 100 && p.phase == MIG_PHASE_PRECOPY);
	mig_cancel(&s->s);
	int ret = mig_recv(&r, err, sizeof(err));
	cr_assert_eq(ret, -ECANCELED, "%d %s", ret, err);
	cr_assert(strstr(err, "the source gave up: cancelled"), "%s", err);
	join_send(s);
	cr_assert_eq(s->ret, -ECANCELED, "%s", s->err);
	cr_assert_eq(s->vm.stops, 0, "the guest never stopped");
	cr_assert_eq(s->vm.resumes, 0);
	mig_progress_read(&s->s, &p);
	cr_assert_eq(p.phase, MIG_PHASE_CANCELLED);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* The destination reads the HELLO and dies. */
Test(mig_precopy, a_peer_that_dies_fails_the_source_cleanly)
{
	uint8_t hdr[12];
	start_writer();
	struct send_run *s = start_send((struct mig_send_params){0});
	cr_assert_eq(read(sv[1], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	close(sv[1]);
	sv[1] = -1;
	join_send(s);
	cr_assert(s->ret == -EPIPE || s->ret == -ECONNRESET, "%d %s", s->ret, s->err);
	cr_assert(strstr(s->err, "the destination went away"), "%s", s->err);
	cr_assert_eq(s->vm.resumes, s->vm.stops, "a stopped guest runs again");
	struct mig_progress p;
	mig_progress_read(&s->s, &p);
	cr_assert_eq(p.phase, MIG_PHASE_FAILED);
	free(s);
}

/* The destination dies after the source stopped the guest: the guest runs again. */
static int refuse(void *o, const struct mig_hello *h, struct guest_mem **mem, char *e, size_t l)
{
	(void)o, (void)h, (void)mem;
	snprintf(e, l, "this VMM has no room for %llu bytes", (unsigned long long)h->ram_size);
	return -ENOMEM;
}

Test(mig_precopy, a_refusing_destination_keeps_the_source_running)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	static const struct mig_recv_ops refusing = {.hello = refuse};
	struct send_run *s = start_send((struct mig_send_params){0});
	int ret = receive(&r, &c, &refusing, err, sizeof(err));
	cr_assert_eq(ret, -ENOMEM);
	mig_recv_refuse(&r, -ret, err);
	close(sv[1]);
	sv[1] = -1;
	join_send(s);
	cr_assert_neq(s->ret, 0);
	cr_assert(strstr(s->err, "destination refused: this VMM has no room"), "%s", s->err);
	cr_assert_eq(s->vm.resumes, s->vm.stops);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* No COMMIT (the source died after RESULT): the destination must not run the guest. */
Test(mig_precopy, no_commit_no_run)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	struct send_run *s = start_send((struct mig_send_params){0});
	cr_assert_eq(receive(&r, &c, &recv_ops, err, sizeof(err)), 0, "%s", err);
	mig_cancel(&s->s); /* the sender stops at COMMIT (or earlier) */
	int ret = mig_recv_ready(&r, err, sizeof(err));
	join_send(s);
	if (s->ret == 0) /* it got COMMIT out before seeing the cancel */
		cr_assert_eq(ret, 0, "%s", err);
	else
		cr_assert(ret != 0 && strstr(err, "not running the VM"), "%d %s", ret, err);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

Test(mig_precopy, local_migration_passes_the_memfd)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	struct guest_mem shared;
	cr_assert_eq(guest_mem_alloc_shared(&shared, RAM), 0);
	for (uint64_t p = 0; p < RAM / 4096; p += 7)
		cr_assert_eq(guest_mem_write(&shared, p * 4096, &p, sizeof(p)), 0);
	stops_at_memfd = -1;
	struct send_run *s =
	    start_send_with(&shared, &ops, (struct mig_send_params){.local = true});
	memfd_source = &s->vm; /* read when MEMFD arrives, below */
	cr_assert_eq(receive(&r, &c, &local_ops, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mig_recv_ready(&r, err, sizeof(err)), 0, "%s", err);
	join_send(s);
	memfd_source = NULL;
	cr_assert_eq(s->ret, 0, "%s", s->err);
	/* the memfd came while the guest ran; the pause followed the destination's answer */
	cr_assert_eq(stops_at_memfd, 0);
	cr_assert_eq(s->vm.stops, 1);
	struct mig_progress p;
	mig_progress_read(&s->s, &p);
	cr_assert_eq(p.pages, 0, "no page copied");
	cr_assert_lt(p.bytes, 4096, "only HELLO, MEMFD, STATE and END: %llu bytes",
		     (unsigned long long)p.bytes);
	cr_assert_eq(memcmp(shared.regions[0].host, local_mem.regions[0].host, RAM), 0);
	/* The very same pages: a write on one side is seen on the other. */
	uint64_t v = 0xfeedface, got = 0;
	cr_assert_eq(guest_mem_write(&local_mem, 4096 * 5, &v, sizeof(v)), 0);
	cr_assert_eq(guest_mem_read(&shared, 4096 * 5, &got, sizeof(got)), 0);
	cr_assert_eq(got, v);
	guest_mem_free(&local_mem);
	guest_mem_free(&shared);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* A destination that cannot take the memfd answers it with its reason: the source never paused,
 * its guest runs on. */
Test(mig_precopy, local_migration_refused_at_the_memfd_never_pauses)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	struct guest_mem shared;
	cr_assert_eq(guest_mem_alloc_shared(&shared, RAM), 0);
	struct send_run *s =
	    start_send_with(&shared, &ops, (struct mig_send_params){.local = true});
	int ret = receive(&r, &c, &refusing_local_ops, err, sizeof(err));
	cr_assert_eq(ret, -ENOMEM, "%d %s", ret, err);
	mig_recv_refuse(&r, -ret, err);
	join_send(s);
	cr_assert_eq(s->ret, -ENOMEM, "%d %s", s->ret, s->err);
	cr_assert(strstr(s->err, "no room for it here"), "%s", s->err);
	cr_assert_eq(s->vm.stops, 0);
	cr_assert_eq(s->vm.resumes, 0);
	guest_mem_free(&shared);
	mig_recv_free(&r);
	mig_chan_release(&c);
	free(s);
}

/* The destination's populate maps the pages the file holds and adds none. */
Test(mig_precopy, populate_maps_the_files_pages_and_adds_none)
{
	struct guest_mem shared, here;
	cr_assert_eq(guest_mem_alloc_shared(&shared, RAM), 0);
	for (uint64_t p = 0; p < RAM / 4096; p += 5) /* every fifth page exists */
		cr_assert_eq(guest_mem_write(&shared, p * 4096, &p, sizeof(p)), 0);
	struct mig_hello h = {0};
	mig_hello_from_mem(&h, &shared);
	char err[256];
	int fd = dup(shared.regions[0].fd);
	cr_assert_eq(mig_local_map(&here, fd, &h, err, sizeof(err)), 0, "%s", err);
	uint64_t want = (RAM / 4096 + 4) / 5;
	cr_assert_eq(mig_local_populate(&here, 5000), want);
	unsigned char vec[RAM / 4096];
	cr_assert_eq(mincore(here.regions[0].host, RAM, vec), 0);
	uint64_t resident = 0;
	for (size_t i = 0; i < RAM / 4096; i++)
		resident += vec[i] & 1;
	cr_assert_eq(resident, want, "no page added: %llu resident", (unsigned long long)resident);
	uint64_t v = 0;
	cr_assert_eq(guest_mem_read(&here, 4096 * 10, &v, sizeof(v)), 0);
	cr_assert_eq(v, 10);
	guest_mem_free(&here);
	guest_mem_free(&shared);
}

/* ---- taps handed over (TAPFD) ---- */

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A copying migration with two "taps" (pipe ends: this layer only passes them) for NICs 0 and
 * 2: they arrive by NIC index, the very same open files, after the pause. */
Test(mig_precopy, taps_are_handed_over_by_nic_index)
{
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct mig_tapfd taps[] = {{.nic = 0, .fd = p[0]}, {.nic = 2, .fd = p[1]}};
	struct send_run *s = start_send((struct mig_send_params){.taps = taps, .ntaps = 2});
	cr_assert_eq(receive(&r, &c, &recv_ops, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.taps, (1u << 0) | (1u << 2));
	struct stat want, got;
	cr_assert_eq(fstat(p[1], &want), 0);
	cr_assert_eq(fstat(r.tapfd[2], &got), 0);
	cr_assert(want.st_ino == got.st_ino && want.st_dev == got.st_dev, "the same pipe");
	cr_assert_eq(write(r.tapfd[2], "x", 1), 1); /* the received end writes the sender's pipe */
	char ch = 0;
	cr_assert_eq(read(p[0], &ch, 1), 1);
	cr_assert_eq(ch, 'x');
	cr_assert_eq(mig_recv_ready(&r, err, sizeof(err)), 0, "%s", err);
	join_send(s);
	cr_assert_eq(s->ret, 0, "%s", s->err);
	cr_assert_eq(s->vm.stops, 1);
	int before = open_fds();
	mig_recv_free(&r); /* closes the two received fds: the sender's stay */
	cr_assert_eq(open_fds(), before - 2);
	cr_assert_eq(r.taps, 0);
	cr_assert_eq(write(p[1], "y", 1), 1);
	close(p[0]);
	close(p[1]);
	mig_chan_release(&c);
	free(s);
}

/* mig_send() of `mem` with `p` over a pipe (not a socket), the pipe's read end as NIC 0's "tap"
 * when p.ntaps: it must refuse with -ENOTSUP, naming the Unix socket, and never stop the VM. */
static void refused_over_a_pipe(struct guest_mem *mem, struct mig_send_params p)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	struct mig_sender s;
	struct mig_chan c;
	struct src_vm vm = {0};
	char err[256];
	struct mig_tapfd tap = {.nic = 0, .fd = fds[0]};
	mig_sender_init(&s);
	mig_chan_init_fd(&c, fds[1], &s.cancel);
	s.chan = &c;
	s.mem = mem;
	s.ops = &ops;
	s.opaque = &vm;
	p.nvcpus = 1;
	if (p.ntaps)
		p.taps = &tap;
	s.params = p;
	cr_assert_eq(mig_send(&s, err, sizeof(err)), -ENOTSUP);
	cr_assert(strstr(err, "needs a Unix socket"), "%s", err);
	cr_assert_eq(vm.stops, 0);
	close(fds[0]);
	close(fds[1]);
}

Test(mig_precopy, taps_need_a_unix_socket)
{
	refused_over_a_pipe(&src, (struct mig_send_params){.ntaps = 1});
}

/* A hand-made stream: HELLO with `flags`, then one TAPFD frame naming `nic` (payload of `len`
 * bytes) with `fd` (or none): the receiver's refusal names the fault, and no received fd stays
 * open. */
static void tapfd_refused(uint32_t flags, uint32_t nic, size_t len, bool with_fd, bool twice,
			  const char *what)
{
	struct mig_hello h = {0};
	mig_hello_from_mem(&h, &dst);
	h.version = MIG_VERSION;
	h.flags = flags;
	h.nvcpus = 1;
	h.config = "{}";
	h.config_len = 2;
	uint8_t hello[256];
	size_t n = mig_hello_encode(&h, hello, sizeof(hello));
	cr_assert_gt(n, 0);
	struct mig_chan out;
	mig_chan_init_fd(&out, sv[0], NULL);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	uint8_t tap[16] = {0};
	mig_put_le(tap, nic, 4);
	cr_assert_eq(mig_frame_send(&out, MIG_F_HELLO, hello, n, NULL, 0, -1), 0);
	for (int i = 0; i < (twice ? 2 : 1); i++)
		cr_assert_eq(
		    mig_frame_send(&out, MIG_F_TAPFD, tap, len, NULL, 0, with_fd ? p[0] : -1), 0);
	int before = open_fds();
	char err[512];
	struct mig_receiver r;
	struct mig_chan c;
	cr_assert_eq(receive(&r, &c, &recv_ops, err, sizeof(err)), -EINVAL, "%s", what);
	cr_assert(strstr(err, what), "'%s' not in '%s'", what, err);
	mig_recv_free(&r);
	mig_chan_release(&c);
	cr_assert_eq(open_fds(), before, "%s: a received fd stayed open", what);
	mig_chan_release(&out);
	close(p[0]);
	close(p[1]);
}

Test(mig_precopy, bad_tapfd_frames_are_refused)
{
	tapfd_refused(0, 0, MIG_TAPFD_LEN, true, false, "without HELLO's TAPFDS flag");
	tapfd_refused(MIG_HELLO_TAPFDS, 0, 4, true, false, "TAPFD frame of 4 bytes");
	tapfd_refused(MIG_HELLO_TAPFDS, MIG_MAX_TAPFDS, MIG_TAPFD_LEN, true, false,
		      "TAPFD for NIC 16");
	tapfd_refused(MIG_HELLO_TAPFDS, 1, MIG_TAPFD_LEN, true, true, "a second TAPFD for NIC 1");
	tapfd_refused(MIG_HELLO_TAPFDS, 1, MIG_TAPFD_LEN, false, false,
		      "without a file descriptor");
}

Test(mig_precopy, local_migration_needs_shared_ram)
{
	struct send_run *s = start_send((struct mig_send_params){.local = true});
	join_send(s);
	cr_assert_eq(s->ret, -ENOTSUP);
	cr_assert(strstr(s->err, "one shared memory file"), "%s", s->err);
	cr_assert_eq(s->vm.stops, 0);
	free(s);
}

Test(mig_precopy, local_migration_needs_a_unix_socket)
{
	struct guest_mem shared;
	cr_assert_eq(guest_mem_alloc_shared(&shared, 1 << 20), 0);
	refused_over_a_pipe(&shared, (struct mig_send_params){.local = true});
	guest_mem_free(&shared);
}

/* A memfd of the wrong size, or no fd at all, is refused. */
Test(mig_precopy, local_map_checks_the_file)
{
	char err[256];
	struct mig_hello h = {.nregions = 1, .ram_size = 8192, .regions = {{0, 8192}}};
	struct guest_mem m;
	int fd = memfd_create("x", 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	cr_assert_eq(mig_local_map(&m, fd, &h, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a file of 8192 bytes"), "%s", err);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(mig_local_map(&m, p[0], &h, err, sizeof(err)), -EINVAL);
	close(p[1]);
}

/* The source's wait before the pause: done once the peer has read every byte, bounded while it
 * reads nothing, ended by a cancel; nothing to wait for on a memory channel. */
Test(mig_precopy, drain_waits_for_the_peer_to_read)
{
	int sv[2];
	char buf[4096] = {0};
	atomic_bool cancel = false;
	struct mig_chan c;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	mig_chan_init_fd(&c, sv[0], &cancel);
	cr_assert_eq(mig_chan_drain(&c, 10), 0, "nothing written: drained");
	cr_assert_eq(write(sv[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	cr_assert_eq(mig_chan_drain(&c, 5), -ETIMEDOUT, "the peer read nothing");
	atomic_store(&cancel, true);
	cr_assert_eq(mig_chan_drain(&c, 1000), -ECANCELED);
	atomic_store(&cancel, false);
	cr_assert_eq(read(sv[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	cr_assert_eq(mig_chan_drain(&c, 1000), 0, "read: drained");
	close(sv[0]);
	close(sv[1]);
	mig_chan_init_mem(&c, NULL, 0, 64);
	cr_assert_eq(mig_chan_drain(&c, 10), 0);
	mig_chan_release(&c);
}
