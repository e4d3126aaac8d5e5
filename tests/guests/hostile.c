/* A hostile virtio driver (runtime/hostile.h). Through real VM exits it drives every virtio
 * device the VMM gives it (blk, rng, console, net, vsock, balloon; over MMIO, or PCI with
 * transport=pci):
 *
 *  1. the checklist sweep: every abuse of runtime/hostile_abuse.c on every device, each followed
 *     by the checks: the device still answers register reads, it reports DEVICE_NEEDS_RESET
 *     where it must (or keeps working where the abuse must be ignored), a reset and a fresh
 *     bring-up revive it, and every OTHER device still serves a request (a read of a known
 *     sector of a disk returns the host's pattern);
 *  2. `rounds` rounds of a seeded random driver: valid requests, valid-looking random chains
 *     (random buffer counts, lengths, split points, indirect tables), random register reads and
 *     harmless-looking writes, random status values, resets in the middle of I/O and random
 *     abuses, reviving whatever it broke, with the other devices checked every few rounds.
 *
 * With `fuzz` on the command line (the guest-side fuzzer, tools/fuzz/guest-fuzz): no sweep;
 * `rounds` rounds of runtime/hostile_fuzz.c's wider steps (packed rings too), after each of
 * which every device must serve a request, else "GUEST-FUZZ FAIL seed= round= device=: why".
 *
 * Command line: seed=N (default 1) rounds=N (default 120) [transport=pci] [fuzz [trace]]. Disks:
 * sectors 0-2047 hold the blk_pattern_fill() pattern 'H' "HST"
 * (tests/integration/security/test_hostile_guest.py makes them); a writable disk's sectors from
 * 8192 on are the guest's scratch; nothing random is ever written below. Only meant for our VMM:
 * QEMU answers some abuses differently (e.g. it does not set DEVICE_NEEDS_RESET for a bad ring but
 * stops the queue or the VM). */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_vsock.h>

#include "guest.h"
#include "hostile.h"
#include "virtio_blk.h"
#include "virtio_mem.h"
#include "virtio_mmio.h"

#define F(bit)	     (1ULL << (bit))
#define MAX_DEVS     10
#define WAIT_MS	     3000
#define SCRATCH_DISK 8192 /* first sector random writes may touch */
#define HOST_SECTORS 2048 /* sectors with the host's pattern */

struct hdev hostile_devs[MAX_DEVS];
unsigned hostile_ndevs;
bool hostile_fuzz;
bool hostile_trace;
static uint64_t rng_state = 1;
static unsigned n_needs_reset, n_ignored, n_revived;

uint64_t hostile_rand(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

uint32_t hostile_below(uint32_t n)
{
	return (uint32_t)(hostile_rand() % n);
}

static uint32_t below(uint32_t n)
{
	return hostile_below(n);
}

bool hdev_is_pci(const struct hdev *h)
{
	return h->d->ops->name[0] == 'p';
}

/* ---- bring-up ---- */

/* Fuzz mode's queue sizes: 8 (a blk request of 4 data buffers takes 6 descriptors) to 32; a
 * packed ring's need not be a power of two (2.8). */
static uint16_t queue_size(struct hdev *h)
{
	if (!hostile_fuzz)
		return HOSTILE_QSIZE;
	if (vdev_has(h->d, VIRTIO_F_RING_PACKED))
		return (uint16_t)(8 + hostile_below(25));
	return (uint16_t)(8u << hostile_below(3));
}

void hdev_prepare(struct hdev *h, uint64_t features, bool driver_ok)
{
	uint64_t mine = F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_RING_F_EVENT_IDX);
	features &= mine | (hostile_fuzz ? F(VIRTIO_F_RING_PACKED) : 0);
	int err = vdev_negotiate(h->d, features, 0);
	TEST_ASSERT_MSG(err == 0, "%s: negotiation failed: %d", h->name, err);
	virtio_alloc_arena(h->arena, HOSTILE_ARENA); /* the device was reset: reuse its rings */
	for (uint16_t q = 0; q < h->nq; q++) {
		err = vq_setup(&h->vq[q], h->d, q, queue_size(h));
		TEST_ASSERT_MSG(err == 0, "%s: queue %u setup failed: %d", h->name, q, err);
	}
	virtio_alloc_arena(NULL, 0);
	if (driver_ok)
		vdev_driver_ok(h->d);
}

static void revive(struct hdev *h)
{
	TEST_ASSERT_MSG(vdev_reset(h->d) == 0, "%s: reset never completed", h->name);
	hdev_prepare(h, hostile_rand(), true);
	n_revived++;
}

/* A register read still answers: PCI all-ones would mean nothing decodes there any more. */
static bool answers(struct hdev *h)
{
	if (!hdev_is_pci(h))
		return vdev_read(h->d, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC;
	return vdev_status(h->d) != 0xff;
}

static bool needs_reset(struct hdev *h)
{
	return vdev_status(h->d) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static bool wait_needs_reset(struct hdev *h, unsigned ms)
{
	for (unsigned i = 0; i < ms * 10; i++) {
		if (needs_reset(h))
			return true;
		delay_us(100);
	}
	return needs_reset(h);
}

/* Waits for `token` among the used elements (others are dropped), or NEEDS_RESET. */
static bool wait_token(struct hdev *h, struct vq *vq, void *token, unsigned ms, uint32_t *len)
{
	for (unsigned i = 0; i < ms * 10; i++) {
		void *t;
		while ((t = vq_get_used(vq, len)) != NULL) {
			if (t == token)
				return true;
		}
		if (needs_reset(h))
			return false;
		delay_us(100);
	}
	return false;
}

/* ---- known-good requests ---- */

static struct blk_req blk_req, early_req; /* early_req: hdev_add_good(), never waited for */
static uint8_t *blk_buf, *early_buf, *small_buf;
static struct hdev nobody = {.name = "nobody"};

static bool blk_rw(struct hdev *h, uint32_t type, uint64_t sector, const char **why)
{
	struct vq *vq = &h->vq[0];
	unsigned nseg = 1u << below(3);
	unsigned flags = vq->indirect && below(2) ? VQ_ADD_INDIRECT : 0;
	uint32_t len;
	if (blk_add(vq, &blk_req, type, sector, blk_buf, BLK_SECTOR, nseg, flags)) {
		*why = "ring full";
		return false;
	}
	vq_kick(vq);
	if (!wait_token(h, vq, &blk_req, WAIT_MS, &len)) {
		*why = "no completion";
		return false;
	}
	if (blk_req.status != VIRTIO_BLK_S_OK)
		*why = "status not OK";
	return blk_req.status == VIRTIO_BLK_S_OK;
}

static bool blk_good(struct hdev *h, const char **why)
{
	uint64_t s = below(HOST_SECTORS);
	if (!blk_rw(h, VIRTIO_BLK_T_IN, s, why))
		return false;
	if (blk_pattern_check(blk_buf, s, 1, 'H', "HST") != 1) {
		*why = "a known sector read back wrong";
		return false;
	}
	if (h->ro)
		return true;
	s = SCRATCH_DISK + below(64);
	blk_pattern_fill(blk_buf, s, 1, 'G', "GST");
	if (!blk_rw(h, VIRTIO_BLK_T_OUT, s, why))
		return false;
	memset(blk_buf, 0, BLK_SECTOR);
	if (!blk_rw(h, VIRTIO_BLK_T_IN, s, why))
		return false;
	if (blk_pattern_check(blk_buf, s, 1, 'G', "GST") != 1)
		*why = "a sector written read back wrong";
	return blk_pattern_check(blk_buf, s, 1, 'G', "GST") == 1;
}

/* ---- virtio-vsock: a REQUEST to a host port nobody listens on, answered with an RST ----
 * (test_hostile_guest.py gives the VMM a vsock whose PATH_<port> sockets do not exist). Queues: rx
 * 0, tx 1 (the event queue is left unused). */
#define VSOCK_DEAD_PORT 4242
#define VSOCK_HDR	((uint32_t)sizeof(struct virtio_vsock_hdr))
static uint8_t *vsock_rx;

/* The REQUEST packet in small_buf, as the tx buffer. */
static struct vq_buf vsock_request(struct hdev *h)
{
	struct virtio_vsock_hdr *p = (struct virtio_vsock_hdr *)small_buf;
	*p = (struct virtio_vsock_hdr){.src_cid = vdev_config64(h->d, 0),
				       .dst_cid = 2,
				       .src_port = 777,
				       .dst_port = VSOCK_DEAD_PORT,
				       .type = VIRTIO_VSOCK_TYPE_STREAM,
				       .op = VIRTIO_VSOCK_OP_REQUEST,
				       .buf_alloc = 4096};
	return (struct vq_buf){virt_to_phys(small_buf), VSOCK_HDR, false};
}

static bool vsock_good(struct hdev *h, const char **why)
{
	struct vq_buf rx = {virt_to_phys(vsock_rx), 64, true}, tx = vsock_request(h);
	const struct virtio_vsock_hdr *r = (const struct virtio_vsock_hdr *)vsock_rx;
	uint32_t len = 0;

	memset(vsock_rx, 0, 64);
	if (vq_add(&h->vq[0], &rx, 1, vsock_rx, 0) || vq_add(&h->vq[1], &tx, 1, small_buf, 0)) {
		*why = "ring full";
		return false;
	}
	vq_kick(&h->vq[0]);
	vq_kick(&h->vq[1]);
	if (!wait_token(h, &h->vq[1], small_buf, WAIT_MS, &len) ||
	    !wait_token(h, &h->vq[0], vsock_rx, WAIT_MS, &len)) {
		*why = "no completion";
		return false;
	}
	if (len != VSOCK_HDR || r->op != VIRTIO_VSOCK_OP_RST || r->dst_port != 777) {
		*why = "no RST for a connection to a dead port";
		return false;
	}
	return true;
}

/* ---- virtio-balloon (5.5): its good request inflates one page of its own ---- */

static uint8_t *balloon_page; /* given to the balloon (the VMM may release it: never used) */

/* One PFN on inflateq (readable, 5.5.6.1); the used element comes back with len 0 whether the
 * device released the page or refused it (past its target). small_buf is the token. */
static bool balloon_add(struct hdev *h)
{
	uint32_t pfn = (uint32_t)(virt_to_phys(balloon_page) >> 12);
	struct vq_buf b = {virt_to_phys(small_buf), 4, false};

	memcpy(small_buf, &pfn, 4);
	return vq_add(&h->vq[h->reqq], &b, 1, small_buf, 0) == 0;
}

/* rng: one writable buffer; console, net: one frame / line on the transmit queue. */
static bool add_simple(struct hdev *h)
{
	struct vq_buf b = {virt_to_phys(small_buf), 64, true};
	if (h->id == VIRTIO_ID_BALLOON)
		return balloon_add(h);
	if (h->id == VIRTIO_ID_CONSOLE) {
		small_buf[0] = '\n';
		b = (struct vq_buf){virt_to_phys(small_buf), 1, false};
	} else if (h->id == VIRTIO_ID_NET) {
		/* virtio_net_hdr_v1 (zero), then a broadcast ARP request from 52:54:00:12:34:56 */
		static const uint8_t frame[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52,
						0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06};
		memset(small_buf, 0, 12 + 60);
		memcpy(small_buf + 12, frame, sizeof(frame));
		b = (struct vq_buf){virt_to_phys(small_buf), 12 + 60, false};
	} else if (h->id == VIRTIO_ID_VSOCK) {
		b = vsock_request(h);
	}
	return vq_add(&h->vq[h->reqq], &b, 1, small_buf, 0) == 0;
}

bool hdev_add_good(struct hdev *h)
{
	if (h->id == VIRTIO_ID_BLOCK)
		return blk_add(&h->vq[0], &early_req, VIRTIO_BLK_T_IN, 0, early_buf, BLK_SECTOR, 1,
			       0) == 0;
	return add_simple(h);
}

bool hdev_good_request(struct hdev *h, const char **why)
{
	struct vq *vq = &h->vq[h->reqq];
	uint32_t len = 0;
	*why = "";
	if (h->id == VIRTIO_ID_BLOCK)
		return blk_good(h, why);
	if (h->id == VIRTIO_ID_VSOCK)
		return vsock_good(h, why);
	if (!add_simple(h)) {
		*why = "ring full";
		return false;
	}
	vq_kick(vq);
	if (!wait_token(h, vq, small_buf, WAIT_MS, &len)) {
		*why = "no completion";
		return false;
	}
	if (h->id == VIRTIO_ID_RNG && (len == 0 || len > 64)) {
		*why = "bad rng length";
		return false;
	}
	return true;
}

/* ---- checks ---- */

static void others_work(const struct hdev *h, const char *after)
{
	for (unsigned i = 0; i < hostile_ndevs; i++) {
		const char *why;
		if (&hostile_devs[i] == h)
			continue;
		TEST_ASSERT_MSG(hdev_good_request(&hostile_devs[i], &why),
				"%s stopped working (%s) after '%s' on %s", hostile_devs[i].name,
				why, after, h->name);
	}
}

/* Brings every device back to a healthy running state (after random rounds). */
static void heal_all(void)
{
	for (unsigned i = 0; i < hostile_ndevs; i++) {
		uint8_t s = vdev_status(hostile_devs[i].d);
		if ((s & VIRTIO_CONFIG_S_NEEDS_RESET) || !(s & VIRTIO_CONFIG_S_DRIVER_OK))
			revive(&hostile_devs[i]);
	}
}

static void abuse(struct hdev *h, const struct hostile_abuse *a, bool verbose)
{
	const char *why;
	heal_all();
	TEST_ASSERT_EQ(vdev_reset(h->d), 0);
	virtio_alloc_arena(h->arena, HOSTILE_ARENA); /* for the abuse's own queue set-ups */
	/* Abuses count on split rings of HOSTILE_QSIZE (a head of QN + 3 is out of range only
	 * then): the fuzz mode's sizes and packed rings stay out of them. */
	bool fuzz = hostile_fuzz;
	hostile_fuzz = false;
	enum hostile_expect e = a->run(h);
	hostile_fuzz = fuzz;
	virtio_alloc_arena(NULL, 0);
	TEST_ASSERT_MSG(answers(h), "%s does not answer after '%s'", h->name, a->name);
	bool nr = wait_needs_reset(h, e == EXPECT_NEEDS_RESET ? WAIT_MS : 5);
	TEST_ASSERT_MSG(nr || e != EXPECT_NEEDS_RESET,
			"%s: no DEVICE_NEEDS_RESET after '%s' (status 0x%x)", h->name, a->name,
			vdev_status(h->d));
	if (e == EXPECT_WORKING) {
		TEST_ASSERT_MSG(!nr, "%s: DEVICE_NEEDS_RESET after harmless '%s'", h->name,
				a->name);
		TEST_ASSERT_MSG(hdev_good_request(h, &why), "%s: request failed (%s) after '%s'",
				h->name, why, a->name);
	}
	nr ? n_needs_reset++ : n_ignored++;
	revive(h);
	TEST_ASSERT_MSG(hdev_good_request(h, &why), "%s: not revived by a reset after '%s' (%s)",
			h->name, a->name, why);
	others_work(h, a->name);
	if (verbose)
		printf("%-38s %-18s %s; revived; others ok\n", a->name, h->name,
		       nr ? "NEEDS_RESET" : "ignored    ");
}

/* ---- the random driver ---- */

/* A valid-looking chain: readable buffers, then writable ones (sometimes the other way round),
 * random lengths and split points in the scratch area, sometimes in an indirect table. A blk
 * header is spread over the readable bytes: IN, FLUSH, GET_ID, an unknown type, or OUT at a
 * scratch sector. */
static void random_chain(struct hdev *h)
{
	struct vq *vq = &h->vq[h->reqq];
	struct vq_buf b[4];
	unsigned n = 1 + below(4), nw = below(n + 1);
	struct virtio_blk_outhdr hdr = {0};
	static const uint32_t types[] = {VIRTIO_BLK_T_IN, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID,
					 0x55, VIRTIO_BLK_T_OUT};
	hdr.type = types[below(5)];
	hdr.sector = hdr.type == VIRTIO_BLK_T_OUT ? SCRATCH_DISK + below(4096) : below(16384);
	uint32_t hoff = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t off = 0x8000 + below(56) * 512, len = below(4) ? below(600) : below(8);
		bool w = below(8) ? i >= n - nw : below(2);
		uint8_t *p = h->scratch + off;
		b[i] = (struct vq_buf){virt_to_phys(p), len, w};
		if (w)
			continue;
		memset(p, h->id == VIRTIO_ID_CONSOLE ? '\n' : 0, len);
		for (uint32_t k = 0; h->id == VIRTIO_ID_BLOCK && k < len && hoff < sizeof(hdr); k++)
			p[k] = ((uint8_t *)&hdr)[hoff++];
	}
	unsigned flags = vq->indirect && below(3) == 0 ? VQ_ADD_INDIRECT : 0;
	if (vq_add(vq, b, n, h, flags)) {
		revive(h); /* full of chains the device kept */
		return;
	}
	if (below(2))
		vq_kick(vq);
	else
		vq_notify(vq);
	uint32_t len;
	if (!wait_token(h, vq, h, 50, &len) && needs_reset(h))
		revive(h);
}

static void random_read(struct hdev *h)
{
	if (hdev_is_pci(h)) {
		uint32_t off = below(VIRTIO_PCI_COMMON_Q_USEDHI + 4);
		(void)mmio_read8(h->d->pci.common + off);
		(void)mmio_read16(h->d->pci.common + (off & ~1u));
		if (h->d->config)
			(void)mmio_read32(h->d->config + below(64) * 4);
		return;
	}
	(void)vdev_read(h->d, below((uint32_t)h->d->size / 4) * 4);
	(void)mmio_read8(h->d->base + 0x100 + below(0x100));
}

/* Writes a driver may make at any time without meaning harm: selectors, ACKs, notifies,
 * config, driver features after FEATURES_OK. */
static void random_write(struct hdev *h)
{
	uint32_t v = (uint32_t)hostile_rand();
	if (hdev_is_pci(h)) {
		static const uint16_t regs[] = {VIRTIO_PCI_COMMON_DFSELECT,
						VIRTIO_PCI_COMMON_GFSELECT, VIRTIO_PCI_COMMON_GF,
						VIRTIO_PCI_COMMON_Q_SELECT};
		uint16_t r = regs[below(4)];
		if (r == VIRTIO_PCI_COMMON_Q_SELECT)
			mmio_write16(h->d->pci.common + r, (uint16_t)v);
		else
			mmio_write32(h->d->pci.common + r, v);
		if (below(2))
			mmio_write16(h->d->pci.notify + below(h->d->pci.notify_len / 2) * 2,
				     (uint16_t)v);
		return;
	}
	static const uint16_t regs[] = {VIRTIO_MMIO_DEVICE_FEATURES_SEL,
					VIRTIO_MMIO_DRIVER_FEATURES_SEL,
					VIRTIO_MMIO_DRIVER_FEATURES,
					VIRTIO_MMIO_QUEUE_SEL,
					VIRTIO_MMIO_INTERRUPT_ACK,
					VIRTIO_MMIO_QUEUE_NOTIFY,
					0x100,
					0x104};
	uint16_t r = regs[below(8)];
	vdev_write(h->d, r, r == VIRTIO_MMIO_QUEUE_NOTIFY && below(2) ? v % 4 : v);
}

static void reset_mid_io(struct hdev *h)
{
	const char *why;
	if (hdev_add_good(h))
		vq_notify(&h->vq[h->reqq]);
	TEST_ASSERT_EQ(vdev_reset(h->d), 0);
	revive(h);
	TEST_ASSERT_MSG(hdev_good_request(h, &why), "%s: dead after a reset mid-I/O (%s)", h->name,
			why);
}

static void random_step(struct hdev *h)
{
	const char *why;
	switch (below(16)) {
	case 0:
	case 1:
	case 2:
		TEST_ASSERT_MSG(hdev_good_request(h, &why), "%s: request failed (%s)", h->name,
				why);
		break;
	case 3:
	case 4:
	case 5:
	case 6:
		random_chain(h);
		break;
	case 7:
	case 8:
		random_read(h);
		break;
	case 9:
	case 10:
		random_write(h);
		break;
	case 11:
		reset_mid_io(h);
		break;
	case 12: {
		uint8_t status = (uint8_t)hostile_rand();
		h->d->ops->set_status(h->d, status);
		if (status == 0)
			revive(h); /* that was a reset (2.4): a driver sets the device up again */
		break;
	}
	default:
		abuse(h, &hostile_abuses[below(hostile_nabuses)], false);
		break;
	}
	TEST_ASSERT_MSG(answers(h), "%s does not answer any more", h->name);
}

static void random_round(void)
{
	random_step(&hostile_devs[below(hostile_ndevs)]);
}

/* ---- discovery ---- */

static void add_dev(struct vdev *d, uint32_t id, const char *kind, unsigned nth)
{
	static char names[MAX_DEVS][24];
	struct hdev *h = &hostile_devs[hostile_ndevs];
	snprintf(names[hostile_ndevs], sizeof(names[0]), "%s%u", kind, nth);
	*h = (struct hdev){.name = names[hostile_ndevs], .d = d, .id = id, .nq = 1, .reqq = 0};
	if (id == VIRTIO_ID_CONSOLE || id == VIRTIO_ID_NET || id == VIRTIO_ID_VSOCK)
		h->nq = 2, h->reqq = 1;
	h->scratch = virtio_alloc(HOSTILE_SCRATCH, 4096);
	h->arena = virtio_alloc(HOSTILE_ARENA, 4096);
	TEST_ASSERT(h->scratch && h->arena);
	hostile_ndevs++;
	revive(h);
	h->ro = h->id == VIRTIO_ID_BLOCK && (d->offered & F(VIRTIO_BLK_F_RO));
	if (h->ro)
		snprintf(names[hostile_ndevs - 1], sizeof(names[0]), "%s%u(ro)", kind, nth);
}

static void discover(void)
{
	static const struct {
		uint32_t id;
		const char *kind;
	} kinds[] = {{VIRTIO_ID_BLOCK, "blk"},	     {VIRTIO_ID_RNG, "rng"},
		     {VIRTIO_ID_CONSOLE, "console"}, {VIRTIO_ID_NET, "net"},
		     {VIRTIO_ID_VSOCK, "vsock"},     {VIRTIO_ID_BALLOON, "balloon"}};
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct vdev *d;
		for (unsigned n = 0; hostile_ndevs < MAX_DEVS && (d = vdev_find(kinds[k].id, n));
		     n++)
			add_dev(d, kinds[k].id, kinds[k].kind, n);
	}
}

/* ---- fuzz mode ---- */

static uint64_t fuzz_seed, fuzz_round;
static const char *fuzz_dev = "-";

/* Every failure of fuzz mode (an assertion anywhere) also as the one line the host looks for. */
static void fuzz_fail_hook(const char *msg)
{
	printf("GUEST-FUZZ FAIL seed=%llu round=%llu device=%s: %s\n",
	       (unsigned long long)fuzz_seed, (unsigned long long)fuzz_round, fuzz_dev, msg);
}

/* Takes back every chain the round left on `h`'s request queue (a step may add a request
 * without waiting for it): each must complete within WAIT_MS. */
static bool drain(struct hdev *h)
{
	struct vq *vq = &h->vq[h->reqq];
	uint32_t len;
	for (unsigned i = 0; i < WAIT_MS * 10 && vq->num_free < vq->size; i++) {
		while (vq_get_used(vq, &len))
			;
		if (vq->num_free < vq->size)
			delay_us(100);
	}
	return vq->num_free == vq->size;
}

/* After a round on `h`: the bus as it was, `h` revived if the round broke it, then every
 * device (h too) must serve a known-good request within WAIT_MS. */
static void fuzz_check(struct hdev *h, const char *step)
{
	const char *why;
	hostile_fuzz_settle(h);
	uint8_t s = vdev_status(h->d);
	if (h->dirty || (s & VIRTIO_CONFIG_S_NEEDS_RESET) || !(s & VIRTIO_CONFIG_S_DRIVER_OK)) {
		revive(h);
		h->dirty = false;
	}
	for (unsigned i = 0; i < hostile_ndevs; i++) {
		struct hdev *o = &hostile_devs[i];
		fuzz_dev = o->name;
		TEST_ASSERT_MSG(drain(o), "a request never completed after '%s' on %s%s", step,
				h->name, o == h ? " (itself)" : "");
		TEST_ASSERT_MSG(hdev_good_request(o, &why),
				"stopped answering (%s) after '%s' on %s%s", why, step, h->name,
				o == h ? " (itself)" : "");
	}
}

static void fuzz_run(uint64_t rounds)
{
	unsigned packed = 0;
	bool trace = hostile_trace = cmdline_has("trace");
	test_fail_hook = fuzz_fail_hook;
	for (fuzz_round = 0; fuzz_round < rounds; fuzz_round++) {
		struct hdev *h = &hostile_devs[below(hostile_ndevs)];
		fuzz_dev = h->name;
		if (trace)
			printf("round %llu\n", (unsigned long long)fuzz_round);
		const char *step = hostile_fuzz_step(h);
		fuzz_dev = h->name;

		fuzz_check(h, step);
		packed += vdev_has(h->d, VIRTIO_F_RING_PACKED);
		if (fuzz_round % 100 == 99)
			printf("guest-fuzz: %llu rounds\n", (unsigned long long)fuzz_round + 1);
	}
	fuzz_dev = "-";
	printf("guest-fuzz: seed %llu, %llu rounds: ok (%u NEEDS_RESET, %u ignored, %u revivals, "
	       "%u rounds on packed rings)\n",
	       (unsigned long long)fuzz_seed, (unsigned long long)rounds, n_needs_reset, n_ignored,
	       n_revived, packed);
}

/* The fuzz mode's "classic" step: one round of the random driver above on `h`. */
void hostile_random_step(struct hdev *h)
{
	random_step(h);
}

int guest_main(void)
{
	uint64_t seed = 1, rounds = 120;
	cmdline_get_u64("seed", &seed);
	cmdline_get_u64("rounds", &rounds);
	hostile_fuzz = cmdline_has("fuzz");
	fuzz_seed = seed;
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	blk_buf = virtio_alloc(BLK_SECTOR, 512);
	early_buf = virtio_alloc(BLK_SECTOR, 512);
	small_buf = virtio_alloc(4096, 64);
	vsock_rx = virtio_alloc(64, 64);
	balloon_page = virtio_alloc(4096, 4096);
	TEST_ASSERT(blk_buf && early_buf && small_buf && vsock_rx && balloon_page);
	discover();
	TEST_ASSERT_MSG(hostile_ndevs > 0, "no virtio device over %s", vdev_transport_name());
	printf("%s: seed %llu, %llu rounds, %u devices over %s:",
	       hostile_fuzz ? "guest-fuzz" : "hostile", (unsigned long long)seed,
	       (unsigned long long)rounds, hostile_ndevs, vdev_transport_name());
	for (unsigned i = 0; i < hostile_ndevs; i++)
		printf(" %s", hostile_devs[i].name);
	printf("\n");
	others_work(&nobody, "bring-up"); /* every device, none excluded */
	if (hostile_fuzz) {
		fuzz_run(rounds);
		return 0;
	}

	for (unsigned i = 0; i < hostile_ndevs; i++) {
		for (unsigned a = 0; a < hostile_nabuses; a++)
			abuse(&hostile_devs[i], &hostile_abuses[a], true);
	}
	printf("checklist sweep: %u abuses x %u devices: ok\n", hostile_nabuses, hostile_ndevs);
	for (uint64_t r = 0; r < rounds; r++) {
		random_round();
		if (r % 16 == 15) {
			heal_all();
			others_work(&nobody, "random rounds");
		}
	}
	heal_all();
	others_work(&nobody, "random rounds");
	printf("random driver: %llu rounds: ok (%u NEEDS_RESET, %u ignored, %u revivals)\n",
	       (unsigned long long)rounds, n_needs_reset, n_ignored, n_revived);
	return 0;
}
