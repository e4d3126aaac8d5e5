/* 4 KiB random reads (or writes) on a virtio-blk disk at queue depth 1 and 32, timed with the
 * platform clock (x86: the TSC, measured against the LAPIC timer; arm64: the virtual counter).
 *
 * Ring 0 (emulated, slow on kvm_pvm hosts) only sets the device up; the hot loop runs in ring 3
 * (run_user, native speed; on arm64 in place, at EL1): it adds requests, kicks with an MMIO write
 * to the queue's notify address (virtio-mmio QueueNotify, or the virtio-pci notification region;
 * when the device asks for kicks, EVENT_IDX), and polls the used ring. Interrupts are suppressed
 * on the queue and the device's pin stays masked, so there is no interrupt in the loop at all.
 *
 * Prints, per depth: "BENCH blk_randread qd=N iops=I requests=R usec=U" (blk_randwrite with
 * op=write).
 * Command line: [requests=N] (per depth, default 100000) [seconds=S] (per depth, default 3; the
 *   first limit reached ends a run) [ring=packed] [transport=pci] [qd=N: only this depth,
 *   1..32; default both 1 and 32] [queues=N: VIRTIO_BLK_F_MQ, requests spread round-robin
 *   over N queues (slot i on queue i % N), 1..4; default 1] [op=write: writes of the buffer's
 *   bytes instead of reads; the disk must be writable] [hold=1: after the last BENCH line,
 *   print "BENCH hold" and halt instead of exiting, so that the host reads the VMM's threads'
 *   CPU times before it ends the VM]. With N > 1 the BENCH line ends with " queues=N".
 * op=mix (queues=N, N >= 2; a writable disk) [read_mib=M, default 64] [idle0=1]: reads of the
 *   first M MiB on queues 1..N-1 while queue 0 writes 4 KiB blocks at random past them (on an
 *   image whose first M MiB are allocated and the rest empty: reads of allocated clusters while
 *   another queue allocates); idle0=1 leaves queue 0 idle (the reads alone). Prints
 *   "BENCH blk_mix qd=N read_iops=R write_iops=W reads=.. writes=.. usec=U queues=N". */
#include "guest.h"
#include "user.h"
#include "virtio_blk.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define QUEUE_SIZE 128
#define MAX_QD	   32
#define MAX_BQ	   4 /* queues=N */
#define IO_BYTES   4096u
#define IO_SECTORS (IO_BYTES / BLK_SECTOR)

#define F(bit) (1ULL << (bit))

struct bench {
	struct vq *vq; /* vq[0..nq) */
	unsigned nq;
	struct blk_req *reqs;
	uint8_t *bufs;
	uint64_t blocks; /* 4 KiB blocks on the disk */
	unsigned qd;
	uint32_t type; /* VIRTIO_BLK_T_IN or _OUT */
	bool mix;      /* op=mix: queue 0 writes past read_blocks, the others read below */
	bool idle0;    /* op=mix: queue 0 stays idle */
	uint64_t read_blocks;
	uint64_t max_requests;
	uint64_t tick_limit; /* clock ticks */
	/* results */
	uint64_t done, ticks, errors, kicks;
	uint64_t writes; /* op=mix: of `done`, the writes */
};

/* ---- the ring-3 loop ---- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int submit(struct bench *b, unsigned slot, uint64_t *rng)
{
	uint64_t block = xorshift(rng) % b->blocks;
	uint32_t type = b->type;

	if (b->mix && slot % b->nq == 0) {
		type = VIRTIO_BLK_T_OUT;
		block = b->read_blocks + xorshift(rng) % (b->blocks - b->read_blocks);
	} else if (b->mix) {
		type = VIRTIO_BLK_T_IN;
		block = xorshift(rng) % b->read_blocks;
	}
	return blk_add(&b->vq[slot % b->nq], &b->reqs[slot], type, block * IO_SECTORS,
		       b->bufs + slot * IO_BYTES, IO_BYTES, 1, 0);
}

/* op=mix idle0=1: queue 0's slots are never used. */
static bool slot_idle(const struct bench *b, unsigned slot)
{
	return b->mix && b->idle0 && slot % b->nq == 0;
}

static uint64_t kicks_of(const struct bench *b)
{
	uint64_t k = 0;
	for (unsigned q = 0; q < b->nq; q++)
		k += b->vq[q].kicks;
	return k;
}

/* The next completion on any queue (round-robin from *next), or NULL. */
static struct blk_req *complete_any(struct bench *b, unsigned *next)
{
	for (unsigned i = 0; i < b->nq; i++) {
		struct blk_req *r = blk_complete(&b->vq[*next]);
		*next = (*next + 1) % b->nq;
		if (r)
			return r;
	}
	return NULL;
}

static uint64_t bench_loop(void *arg)
{
	struct bench *b = arg;
	uint64_t rng = 0x9E3779B97F4A7C15ull, issued = 0, start = clock_ticks(), now = start;
	uint64_t kicks0 = kicks_of(b);
	unsigned unkicked = 0, next = 0; /* bit q: queue q has requests added since its kick */

	for (unsigned i = 0; i < b->qd && issued < b->max_requests; i++) {
		if (slot_idle(b, i))
			continue;
		if (submit(b, i, &rng))
			return 1;
		issued++;
	}
	for (unsigned q = 0; q < b->nq; q++)
		vq_kick(&b->vq[q]);
	while (b->done < issued) {
		struct blk_req *r = complete_any(b, &next);

		if (!r) {
			/* Kick once per drained batch, when the poll finds nothing new. */
			for (unsigned q = 0; q < b->nq; q++) {
				if (unkicked & (1u << q))
					vq_kick(&b->vq[q]);
			}
			unkicked = 0;
			now = clock_ticks();
			continue;
		}
		b->done++;
		if (b->mix && (unsigned)(r - b->reqs) % b->nq == 0)
			b->writes++;
		if (r->status != VIRTIO_BLK_S_OK)
			b->errors++;
		if (issued < b->max_requests && now - start < b->tick_limit) {
			unsigned slot = (unsigned)(r - b->reqs);
			if (submit(b, slot, &rng))
				return 1;
			issued++;
			unkicked |= 1u << (slot % b->nq);
		}
	}
	b->ticks = clock_ticks() - start;
	b->kicks = kicks_of(b) - kicks0;
	return 0;
}

static void print_mix(const struct bench *b, uint64_t usec)
{
	uint64_t reads = b->done - b->writes, per = usec ? usec : 1;

	printf("BENCH blk_mix qd=%u read_iops=%llu write_iops=%llu reads=%llu writes=%llu "
	       "usec=%llu queues=%u\n",
	       b->qd, (unsigned long long)(reads * 1000000 / per),
	       (unsigned long long)(b->writes * 1000000 / per), (unsigned long long)reads,
	       (unsigned long long)b->writes, (unsigned long long)usec, b->nq);
}

/* ---- ring 0 ---- */

static struct vdev *setup(struct vq *vq, unsigned nq, bool packed, bool write)
{
	struct vdev *d = vdev_find(VIRTIO_ID_BLOCK, 0);
	int err;

	TEST_ASSERT_MSG(d, "no virtio-blk device (transport %s)", vdev_transport_name());
	vdev_print(d, "disk");
	/* Writes: FLUSH negotiated as Linux does (a write cache; without it a device must make
	 * every write durable before completing it, an fdatasync each). */
	err = vdev_negotiate(
	    d,
	    F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_BLK_F_RO) | (write ? F(VIRTIO_BLK_F_FLUSH) : 0),
	    (packed ? F(VIRTIO_F_RING_PACKED) : 0) | (nq > 1 ? F(VIRTIO_BLK_F_MQ) : 0));
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d", err);
	TEST_ASSERT_MSG(!write || !(d->features & F(VIRTIO_BLK_F_RO)),
			"op=write on a read-only disk");
	if (nq > 1)
		TEST_ASSERT_MSG(vdev_config16(d, offsetof(struct virtio_blk_config, num_queues)) >=
				    nq,
				"the device has fewer than %u queues", nq);
	for (unsigned q = 0; q < nq; q++) {
		TEST_ASSERT_EQ(vq_setup(&vq[q], d, (uint16_t)q, QUEUE_SIZE), 0);
		vq_disable_interrupts(&vq[q]); /* polled; the pin also stays masked */
	}
	vdev_driver_ok(d);
	return d;
}

int guest_main(void)
{
	unsigned depths[] = {1, MAX_QD}, ndepths = 2;
	static struct vq vq[MAX_BQ];
	uint64_t requests = 100000, seconds = 3, hz, qd = 0, nq = 1, hold = 0, read_mib = 64,
		 idle0 = 0;
	char ring[16] = "split", op[8] = "read";
	struct bench b = {.vq = vq};
	const char *how;
	struct vdev *d;

	cmdline_get_u64("requests", &requests);
	cmdline_get_u64("seconds", &seconds);
	cmdline_get_u64("hold", &hold);
	cmdline_get_str("ring", ring, sizeof(ring));
	cmdline_get_str("op", op, sizeof(op));
	TEST_ASSERT_MSG(!strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "mix"),
			"op=%s: read, write or mix", op);
	b.type = strcmp(op, "read") ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	b.mix = !strcmp(op, "mix");
	cmdline_get_u64("read_mib", &read_mib);
	cmdline_get_u64("idle0", &idle0);
	b.idle0 = idle0 != 0;
	if (cmdline_get_u64("qd", &qd)) {
		TEST_ASSERT_MSG(qd >= 1 && qd <= MAX_QD, "qd=%llu: 1..%u", (unsigned long long)qd,
				MAX_QD);
		depths[0] = (unsigned)qd;
		ndepths = 1;
	}
	cmdline_get_u64("queues", &nq);
	TEST_ASSERT_MSG(nq >= 1 && nq <= MAX_BQ, "queues=%llu: 1..%u", (unsigned long long)nq,
			MAX_BQ);
	b.nq = (unsigned)nq;
	d = setup(vq, b.nq, !strcmp(ring, "packed"), b.type == VIRTIO_BLK_T_OUT);
	b.blocks = vdev_config64(d, offsetof(struct virtio_blk_config, capacity)) / IO_SECTORS;
	TEST_ASSERT(b.blocks > 0);
	b.read_blocks = read_mib << 8; /* 4 KiB blocks */
	TEST_ASSERT_MSG(!b.mix || (b.nq >= 2 && b.read_blocks > 0 && b.read_blocks < b.blocks),
			"op=mix: needs queues=2..4 and 0 < read_mib < the disk's size");
	b.reqs = virtio_alloc(MAX_QD * sizeof(*b.reqs), 64);
	b.bufs = virtio_alloc(MAX_QD * IO_BYTES, 4096);
	TEST_ASSERT(b.reqs && b.bufs);
	hz = platform_clock_calibrate(&how);
	TEST_ASSERT_MSG(hz > 0, "the clock did not advance");
	printf("clock: %llu kHz, %s\n", (unsigned long long)(hz / 1000), how);
	printf("disk: %llu MiB, %s ring, features 0x%llx; %llu requests or %llu s per depth\n",
	       (unsigned long long)(b.blocks >> 8), ring, (unsigned long long)d->features,
	       (unsigned long long)requests, (unsigned long long)seconds);

	for (unsigned i = 0; i < ndepths; i++) {
		uint64_t usec;

		b.qd = depths[i];
		b.max_requests = requests;
		b.tick_limit = seconds * hz;
		b.done = b.errors = b.ticks = b.writes = 0;
		TEST_ASSERT_MSG(run_user(bench_loop, &b) == 0, "adding a request failed");
		TEST_ASSERT_MSG(b.errors == 0, "%llu request(s) failed",
				(unsigned long long)b.errors);
		usec = b.ticks * 1000000 / hz;
		if (b.mix) {
			print_mix(&b, usec);
			continue;
		}
		printf("BENCH blk_rand%s qd=%u iops=%llu requests=%llu usec=%llu kicks=%llu", op,
		       b.qd, (unsigned long long)(usec ? b.done * 1000000 / usec : 0),
		       (unsigned long long)b.done, (unsigned long long)usec,
		       (unsigned long long)b.kicks);
		if (b.nq > 1)
			printf(" queues=%u", b.nq);
		printf("\n");
	}
	if (hold) {
		printf("BENCH hold\n");
		platform_halt();
	}
	return 0;
}
