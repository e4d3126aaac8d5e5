/* virtio device fuzz harness (see fuzz_virtio_dev.h). Register offsets: virtio 1.2 4.2.2. */
#include "tools/fuzz/fuzz_virtio_dev.h"

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_drv.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/transport/virtio_mmio.h"
#include "virtio/transport/virtio_mmio_test.h"

#define MAX_OPS	  256
#define RAM0_GPA  0x100000ull
#define RAM0_SIZE (64 * 1024ull)
#define RING_SPAN 2048ull /* one queue's rings (size <= 32) */
#define HEAP_OFF  (VIRTIO_DEV_MAX_QUEUES * RING_SPAN)

static const uint16_t known_regs[] = {
    0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
    0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0,
    0x0b4, 0x0b8, 0x0bc, 0x0c0, 0x0fc, 0x100, 0x104, 0x108, 0x10c, 0x110, 0x114,
};

struct dev_ctx {
	struct fz_in in;
	struct fz_in create_in; /* the input as the device was created: its configuration bytes */
	const struct fz_dev_hooks *hooks;
	/* one snapshot per input, taken one time in four the operation comes up: a new device is
	 * costly (blk: ~1 MiB of slots, net: its backends), and most inputs should fuzz the rest */
	bool snapshotted;
	struct fz_mem m;
	struct virtio_dev *dev;
	struct virtio_mmio t;
	struct fz_drv drv[VIRTIO_DEV_MAX_QUEUES];
	uint16_t qsize;
	unsigned irqs;
};

static struct dev_ctx *cur; /* the input being run, for fz_dev_submit() */

static void count_irq(void *opaque, uint16_t queue)
{
	struct dev_ctx *c = opaque;
	(void)queue;
	c->irqs++;
}

static void wr32(struct dev_ctx *c, uint64_t off, uint32_t v)
{
	virtio_mmio_write(&c->t, off, &v, 4);
	virtio_dev_process_pending(c->dev); /* what the I/O thread does after a kick */
}

static uint32_t rd32(struct dev_ctx *c, uint64_t off)
{
	uint32_t v;
	virtio_mmio_read(&c->t, off, &v, 4);
	return v;
}

static void layout_queues(struct dev_ctx *c, bool packed)
{
	for (uint16_t q = 0; q < c->dev->num_queues; q++) {
		struct fz_drv *d = &c->drv[q];
		fz_drv_layout(d, &c->m, packed, c->qsize, RAM0_GPA + q * RING_SPAN);
		d->heap_lo = RAM0_GPA + HEAP_OFF;
	}
}

static void program_queue(struct dev_ctx *c, uint16_t q)
{
	const struct fz_drv *d = &c->drv[q];
	wr32(c, 0x030, q);
	wr32(c, 0x038, d->size);
	wr32(c, 0x080, (uint32_t)d->desc);
	wr32(c, 0x084, (uint32_t)(d->desc >> 32));
	wr32(c, 0x090, (uint32_t)d->driver);
	wr32(c, 0x094, (uint32_t)(d->driver >> 32));
	wr32(c, 0x0a0, (uint32_t)d->device);
	wr32(c, 0x0a4, (uint32_t)(d->device >> 32));
	wr32(c, 0x044, 1);
}

/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features (a fuzzed subset of the offered ones), FEATURES_OK,
 * queues, DRIVER_OK. */
static void op_bring_up(struct dev_ctx *c)
{
	uint64_t offered = 0, mask = fz_u64(&c->in) | 1ull << VIRTIO_F_VERSION_1;
	wr32(c, 0x070, 0);
	FZ_ASSERT(rd32(c, 0x070) == 0 && rd32(c, 0x060) == 0, "reset left status or ISR");
	wr32(c, 0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr32(c, 0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr32(c, 0x014, sel);
		offered |= (uint64_t)rd32(c, 0x010) << (32 * sel);
	}
	uint64_t f = offered & mask;
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr32(c, 0x024, sel);
		wr32(c, 0x020, (uint32_t)(f >> (32 * sel)));
	}
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	wr32(c, 0x070, s | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(rd32(c, 0x070) & VIRTIO_CONFIG_S_FEATURES_OK))
		return; /* the device refused this subset: the driver gives up */
	layout_queues(c, f & 1ull << VIRTIO_F_RING_PACKED);
	uint16_t nq = c->dev->num_queues;
	uint8_t ready_mask = fz_u8(&c->in) | 1;
	for (uint16_t q = 0; q < nq; q++)
		if (ready_mask >> q & 1)
			program_queue(c, q);
	wr32(c, 0x070, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	FZ_ASSERT(virtio_dev_running(c->dev) || (rd32(c, 0x070) & VIRTIO_CONFIG_S_NEEDS_RESET),
		  "legal bring-up did not start the device");
}

static uint64_t pick_offset(struct dev_ctx *c)
{
	uint8_t mode = fz_u8(&c->in);
	if (mode % 4)
		return known_regs[fz_u8(&c->in) % (sizeof(known_regs) / sizeof(known_regs[0]))];
	return fz_u16(&c->in) % VIRTIO_MMIO_WINDOW;
}

static uint32_t pick_width(struct dev_ctx *c)
{
	static const uint32_t widths[] = {4, 4, 4, 1, 2, 8, 3, 4};
	return widths[fz_u8(&c->in) % 8];
}

static void op_reg_write(struct dev_ctx *c)
{
	uint64_t off = pick_offset(c);
	uint32_t len = pick_width(c);
	uint8_t val[8];
	if (fz_u8(&c->in) % 4 == 0) { /* a ring address of some queue: plausible queue setup */
		uint64_t a = c->drv[fz_u8(&c->in) % VIRTIO_DEV_MAX_QUEUES].desc;
		memcpy(val, &a, sizeof(a));
	} else {
		fz_bytes(&c->in, val, sizeof(val));
	}
	virtio_mmio_write(&c->t, off, val, len);
	virtio_dev_process_pending(c->dev);
}

static void op_reg_read(struct dev_ctx *c)
{
	uint64_t off = pick_offset(c);
	uint32_t len = pick_width(c);
	uint8_t val[8];
	virtio_mmio_read(&c->t, off, val, len);
	if (len == 4 && off == 0x000)
		FZ_ASSERT(!memcmp(val, "virt", 4), "MagicValue");
	if (len == 4 && off == 0x004)
		FZ_ASSERT(val[0] == 2, "Version");
}

static void op_notify(struct dev_ctx *c)
{
	uint32_t q = fz_u8(&c->in) % 4 ? fz_u8(&c->in) % c->dev->num_queues : fz_u32(&c->in);
	wr32(c, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static void op_status(struct dev_ctx *c)
{
	uint8_t s = fz_u8(&c->in);
	uint8_t old = (uint8_t)rd32(c, 0x070);
	s = fz_u8(&c->in) % 4 ? s : 0; /* resets often, also in the middle of I/O */
	wr32(c, 0x070, s);
	uint8_t now = (uint8_t)rd32(c, 0x070);
	if (s == 0) {
		FZ_ASSERT(now == 0 && virtio_dev_isr(c->dev) == 0, "reset left status %#x", now);
		return;
	}
	FZ_ASSERT(!(old & VIRTIO_CONFIG_S_NEEDS_RESET) || (now & VIRTIO_CONFIG_S_NEEDS_RESET),
		  "NEEDS_RESET cleared without a reset");
}

static void op_ring(struct dev_ctx *c, unsigned op)
{
	struct fz_drv *d = &c->drv[fz_u8(&c->in) % c->dev->num_queues];
	fz_drv_op(d, &c->in, op);
	if (fz_u8(&c->in) & 1) /* and kick it, as a driver does after adding */
		wr32(c, VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)(d - c->drv));
}

static void attach(struct dev_ctx *c, struct virtio_dev *dev)
{
	c->dev = dev;
	dev->irq = (struct virtio_irq){count_irq, c};
	virtio_mmio_init(&c->t, dev);
}

/* Up to 3 bytes of the saved state changed, in the transport-independent part or the model's: a
 * restore checks every value as a guest write. */
static void alter_state(struct dev_ctx *c, struct virtio_dev_state *st, uint8_t *priv, size_t len)
{
	unsigned n = fz_u8(&c->in) % 8 == 0 ? 1 + fz_u8(&c->in) % 3 : 0;
	while (n--) {
		uint32_t at = fz_u32(&c->in);
		uint8_t v = fz_u8(&c->in);
		if (at & 1 && len)
			priv[(at >> 1) % len] = v;
		else
			((uint8_t *)st)[(at >> 1) % sizeof(*st)] = v;
	}
}

/* What the VMM does for a snapshot and a restore in a new process: pause, save, the device gone,
 * a new one created from the same configuration and restored; the driver goes on with it. A
 * refused restore leaves a new device that no driver has touched. */
static void op_snapshot(struct dev_ctx *c)
{
	static uint8_t priv[1u << 20];
	struct virtio_dev_state st;
	struct virtio_mmio_state ms;
	struct virtio_dev *n;
	size_t len = 0;
	char err[256];

	virtio_dev_pause(c->dev);
	int r = virtio_dev_snapshot_save(c->dev, &st, priv, sizeof(priv), &len, err, sizeof(err));
	virtio_dev_resume(c->dev);
	if (r)
		return;
	alter_state(c, &st, priv, len);
	if (!virtio_dev_state_bools_ok(&st))
		return; /* the VMM refuses such a file before reading it (vm_snapshot_devices.c) */
	virtio_mmio_save(&c->t, &ms);
	c->hooks->destroy(c->dev);
	c->dev = NULL;
	struct fz_in cfg = c->create_in;
	FZ_ASSERT(!c->hooks->create(&n, &c->m.mem, &cfg), "the same configuration failed twice");
	attach(c, n);
	if (virtio_mmio_restore(&c->t, &ms) ||
	    virtio_dev_snapshot_restore(n, &st, priv, len, err, sizeof(err))) {
		c->hooks->destroy(n);
		cfg = c->create_in;
		FZ_ASSERT(!c->hooks->create(&n, &c->m.mem, &cfg), "the same configuration failed");
		attach(c, n);
	}
}

uint64_t fz_dev_submit(struct fz_in *in, uint16_t q, const void *req, uint32_t len, uint32_t bulk,
		       uint32_t wlen)
{
	enum { MAX = 12 };
	struct dev_ctx *c = cur;
	uint64_t addr[MAX];
	uint32_t lens[MAX];
	bool write[MAX] = {false};
	unsigned n = 0;

	if (!c || q >= c->dev->num_queues || !virtio_dev_running(c->dev) || !c->dev->queue_ready[q])
		return 0;
	struct fz_drv *d = &c->drv[q];
	uint64_t span = d->heap_hi - d->heap_lo, need = (uint64_t)len + wlen + 8;
	if (need > span)
		return 0;
	uint64_t at = d->heap_lo + fz_u16(in) % (span - need + 1);
	if (len) {
		uint32_t cut = len > 1 && fz_bool(in) ? 1 + fz_below(in, len - 1) : len;
		fz_mem_write(&c->m, at, req, len);
		addr[n] = at, lens[n++] = cut;
		if (cut < len)
			addr[n] = at + cut, lens[n++] = len - cut;
	}
	while (bulk && n < MAX - 1) {
		uint32_t piece = bulk < span ? bulk : (uint32_t)span;
		addr[n] = d->heap_lo + fz_u16(in) % (span - piece + 1);
		lens[n++] = piece;
		bulk -= piece;
	}
	uint64_t resp = (at + len + 7) & ~7ull;
	if (wlen) {
		write[n] = true;
		addr[n] = resp, lens[n++] = wlen;
	}
	if (!n)
		return 0;
	fz_drv_add(d, addr, lens, write, n);
	wr32(c, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	return wlen ? resp : 1;
}

static void check_state(struct dev_ctx *c)
{
	struct virtio_dev *dev = c->dev;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		const struct virtqueue *vq = &dev->vqs[q];
		FZ_ASSERT(!vq_is_active(vq) || vq->inflight <= vq->size, "queue %u: inflight %u", q,
			  vq->inflight);
		FZ_ASSERT(!virtio_dev_running(dev) || !dev->queue_ready[q] || vq_is_active(vq),
			  "running with ready queue %u inactive", q);
	}
	FZ_ASSERT(!(dev->isr & ~3u), "ISR bits %#x", dev->isr);
}

int fz_dev_run(const uint8_t *data, size_t size, const struct fz_dev_hooks *hooks)
{
	static struct dev_ctx c;
	memset(&c, 0, sizeof(c));
	cur = &c;
	c.m.no_shadow = true; /* device targets check invariants, not every byte written */
	c.in = fz_in_make(data, size);
	uint8_t cfg = fz_u8(&c.in);
	c.qsize = (uint16_t)(1u << ((cfg & 7) % 6)); /* 1..32 */
	if (fz_mem_add(&c.m, RAM0_GPA, RAM0_SIZE, 0) ||
	    (cfg & 0x80 && fz_mem_add(&c.m, RAM0_GPA + RAM0_SIZE, 4096, 0)))
		goto out;
	c.hooks = hooks;
	c.create_in = c.in;
	struct virtio_dev *dev;
	if (hooks->create(&dev, &c.m.mem, &c.in))
		goto out;
	attach(&c, dev);
	layout_queues(&c, false);
	if (cfg & 0x40)
		op_bring_up(&c);

	bool trace = getenv("FUZZ_TRACE");
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&c.in); ops++) {
		unsigned op = fz_u8(&c.in) % (FZ_DRV_NOPS + 7);
		if (trace)
			fprintf(stderr, "fuzz: op %u at byte %zu, status %#x\n", op, c.in.pos,
				c.dev->status);
		if (op < FZ_DRV_NOPS)
			op_ring(&c, op);
		else if (op == FZ_DRV_NOPS)
			op_bring_up(&c);
		else if (op == FZ_DRV_NOPS + 1)
			op_reg_write(&c);
		else if (op == FZ_DRV_NOPS + 2)
			op_reg_read(&c);
		else if (op == FZ_DRV_NOPS + 3)
			op_notify(&c);
		else if (op == FZ_DRV_NOPS + 4)
			op_status(&c);
		else if (op == FZ_DRV_NOPS + 5 && hooks->special)
			hooks->special(c.dev, &c.in);
		else if (op == FZ_DRV_NOPS + 6 && hooks->snapshot && !c.snapshotted &&
			 fz_u8(&c.in) % 4 == 0) {
			c.snapshotted = true;
			op_snapshot(&c);
		} else
			op_notify(&c);
		check_state(&c);
	}
	hooks->destroy(c.dev);
out:
	fz_mem_free(&c.m);
	cur = NULL;
	return 0;
}
