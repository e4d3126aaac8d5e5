/* Allocating writes and flushes in a loop on a virtio-blk disk, for the crash-consistency test
 * (tests/integration/storage/test_blk_crash_consistency.py, whose host side kills the VMM with
 * SIGKILL at random points and checks the image after each kill).
 *
 * Round r writes BLK_CRASH_WRITES blocks of 4 KiB (8 sectors each) at queue depth
 * BLK_CRASH_WRITES, then sends VIRTIO_BLK_T_FLUSH, and only once the flush completed prints
 *   "flushed R n=N sum=XXXXXXXX"
 * (N blocks; sum: a hash of their numbers, so the host can check it computes the same list).
 * The blocks of round r: FRESH_PER_ROUND "fresh" ones, the fresh blocks number
 * n = r * FRESH_PER_ROUND + j, laid out by 64 KiB groups of 16 blocks: block
 * ((n / 16) * 2654435761 mod G) * 16 + n % 16 (G = B / 16 groups of the disk's B blocks; a
 * permutation of the groups when G is a power of two), so each round reaches blocks never written
 * before, and a qcow2 image with 64 KiB clusters allocates one cluster every other round, one with
 * 4 KiB clusters eight per round, their L2 tables and refcount blocks as they come; and the rest
 * "rewrites" of earlier fresh blocks: fresh block number hash(r * 64 + j) mod (r *
 * FRESH_PER_ROUND). Every sector written holds 16 copies of
 * the 32-byte line "sSSSSSSSSSS rRRRRRRRR cCCCCCCC\n": sector number (10 digits), round (8
 * digits), and a 32-bit check of both (8 hex digits; see crash_check()). The host recomputes the
 * lists, the bytes and the check in tests/integration/storage/blk_crash.py: keep them in step.
 *
 * Ring 0 only sets the device up; the loop runs in ring 3 (native speed on kvm_pvm; at EL1 on
 * arm64, aarch64/user.h), polling the used ring with interrupts suppressed.
 *
 * Command line: round=R (the first round, >= 1) [rounds=N] (then pass; default 1000000, i.e. until
 * killed) [transport=pci]. Prints "writing from round R, B blocks" before the first write. */
#include "guest.h"
#include "user.h" /* run_user: ring 3 on x86, in place at EL1 on arm64 */
#include "virtio_blk.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define QUEUE_SIZE	 64
#define BLK_CRASH_WRITES 12
#define FRESH_PER_ROUND	 8
#define BLOCK_BYTES	 4096u
#define BLOCK_SECTORS	 (BLOCK_BYTES / BLK_SECTOR)
#define LINE		 32u
#define GROUP_BLOCKS	 16u /* 64 KiB */

#define F(bit) (1ULL << (bit))

struct crash {
	struct vq vq;
	struct blk_req reqs[BLK_CRASH_WRITES + 1];
	uint8_t *bufs; /* BLK_CRASH_WRITES * BLOCK_BYTES */
	uint64_t blocks;
	uint64_t first, rounds;
	uint64_t failed_round; /* results */
	uint8_t failed_status;
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t crash_check(uint64_t sector, uint64_t round)
{
	return (uint32_t)mix64((sector << 32) ^ round);
}

static uint64_t fresh_block(uint64_t n, uint64_t blocks)
{
	uint64_t groups = blocks / GROUP_BLOCKS;

	return ((n / GROUP_BLOCKS) * 2654435761ull % groups) * GROUP_BLOCKS + n % GROUP_BLOCKS;
}

static uint64_t crash_block(uint64_t round, unsigned j, uint64_t blocks)
{
	if (j < FRESH_PER_ROUND)
		return fresh_block(round * FRESH_PER_ROUND + j, blocks);
	return fresh_block(mix64(round * 64 + j) % (round * FRESH_PER_ROUND), blocks);
}

static void put_dec(char *p, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

static void put_hex(char *p, uint32_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	}
}

/* One sector: 16 copies of "sSSSSSSSSSS rRRRRRRRR cCCCCCCC\n". */
static void fill_sector(char *p, uint64_t sector, uint64_t round)
{
	char line[LINE];

	line[0] = 's';
	put_dec(line + 1, sector, 10);
	line[11] = ' ';
	line[12] = 'r';
	put_dec(line + 13, round, 8);
	line[21] = ' ';
	line[22] = 'c';
	put_hex(line + 23, crash_check(sector, round));
	line[31] = '\n';
	for (unsigned i = 0; i < BLK_SECTOR / LINE; i++)
		memcpy(p + i * LINE, line, LINE);
}

/* Waits (polling) for `n` completions; returns the first bad status, or VIRTIO_BLK_S_OK. */
static uint8_t wait_all(struct crash *c, unsigned n)
{
	uint8_t bad = VIRTIO_BLK_S_OK;

	while (n) {
		struct blk_req *r = blk_complete(&c->vq);

		if (!r) {
			cpu_relax();
			continue;
		}
		if (r->status != VIRTIO_BLK_S_OK && bad == VIRTIO_BLK_S_OK)
			bad = r->status;
		n--;
	}
	return bad;
}

static uint64_t crash_loop(void *arg)
{
	struct crash *c = arg;

	for (uint64_t r = c->first; r < c->first + c->rounds; r++) {
		uint64_t sum = 0;
		uint8_t st;

		for (unsigned j = 0; j < BLK_CRASH_WRITES; j++) {
			uint64_t b = crash_block(r, j, c->blocks);
			char *buf = (char *)c->bufs + j * BLOCK_BYTES;

			for (unsigned s = 0; s < BLOCK_SECTORS; s++)
				fill_sector(buf + s * BLK_SECTOR, b * BLOCK_SECTORS + s, r);
			if (blk_add(&c->vq, &c->reqs[j], VIRTIO_BLK_T_OUT, b * BLOCK_SECTORS, buf,
				    BLOCK_BYTES, 1, 0))
				return 1;
			sum = mix64(sum ^ b);
		}
		vq_kick(&c->vq);
		st = wait_all(c, BLK_CRASH_WRITES);
		if (st == VIRTIO_BLK_S_OK) {
			if (blk_add(&c->vq, &c->reqs[BLK_CRASH_WRITES], VIRTIO_BLK_T_FLUSH, 0, NULL,
				    0, 0, 0))
				return 1;
			vq_kick(&c->vq);
			st = wait_all(c, 1);
		}
		if (st != VIRTIO_BLK_S_OK) {
			c->failed_round = r;
			c->failed_status = st;
			return 2;
		}
		/* The flush completed: only now may the host count on this round. */
		printf("flushed %llu n=%u sum=%08x\n", (unsigned long long)r, BLK_CRASH_WRITES,
		       (uint32_t)sum);
	}
	return 0;
}

int guest_main(void)
{
	static struct crash c;
	struct vdev *d = vdev_find(VIRTIO_ID_BLOCK, 0);
	uint64_t ret;
	int err;

	c.rounds = 1000000;
	TEST_ASSERT_MSG(cmdline_get_u64("round", &c.first) && c.first >= 1,
			"round=R (>= 1) missing");
	cmdline_get_u64("rounds", &c.rounds);
	TEST_ASSERT_MSG(d, "no virtio-blk device (transport %s)", vdev_transport_name());
	/* FLUSH is required: without it the test would mean nothing. */
	err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_BLK_F_RO),
			     F(VIRTIO_BLK_F_FLUSH));
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d (offered 0x%llx)", err,
			(unsigned long long)d->offered);
	TEST_ASSERT_MSG(!vdev_has(d, VIRTIO_BLK_F_RO), "the disk is read-only");
	TEST_ASSERT_EQ(vq_setup(&c.vq, d, 0, QUEUE_SIZE), 0);
	vq_disable_interrupts(&c.vq); /* polled */
	vdev_driver_ok(d);
	c.blocks = vdev_config64(d, offsetof(struct virtio_blk_config, capacity)) / BLOCK_SECTORS;
	TEST_ASSERT_MSG(c.blocks >= GROUP_BLOCKS, "the disk is smaller than 64 KiB");
	c.bufs = virtio_alloc(BLK_CRASH_WRITES * BLOCK_BYTES, 4096);
	TEST_ASSERT(c.bufs);
	printf("writing from round %llu, %llu blocks\n", (unsigned long long)c.first,
	       (unsigned long long)c.blocks);
	ret = run_user(crash_loop, &c);
	TEST_ASSERT_MSG(ret != 1, "adding a request failed");
	TEST_ASSERT_MSG(ret == 0, "round %llu: status %u", (unsigned long long)c.failed_round,
			c.failed_status);
	printf("done: rounds %llu..%llu\n", (unsigned long long)c.first,
	       (unsigned long long)(c.first + c.rounds - 1));
	return 0;
}
