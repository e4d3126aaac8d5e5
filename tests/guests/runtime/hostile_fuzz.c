/* The fuzz mode's driver (hostile.h, hostile.c `fuzz`): one random step per round on one
 * device, over either transport. Section numbers: virtio 1.2; PCI: PCI Local Bus 3.0.
 *
 * Memory safety of the guest itself: a device writes only where a descriptor, a ring address
 * or an MSI-X message points. Every such address made here is (a) inside the device's scratch
 * (HOSTILE_SCRATCH bytes, with the whole buffer inside), (b) not RAM at all, or (c) the last
 * bytes of RAM, which the guest never uses; ring addresses in the scratch leave room for the
 * largest ring a device accepts (256 entries). Scratch layout: rings 0x0000-0x3fff, indirect
 * tables 0x4000-0x7fff, buffers 0x8000-0xffff. MSI-X messages always carry a fixed or
 * lowest-priority delivery mode and a vector >= 0x30, so no message can be an NMI, an INIT or
 * an exception vector (the guest runs with interrupts off: they only stay pending; on arm64
 * the ITS is off in this guest, so a message to it goes nowhere). BARs moved for a round are
 * put back by hostile_fuzz_settle(). Where BARs may go and where MSIs point is the platform's
 * (pci.h's pci_host()). */
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_vsock.h>

#include "boot.h"
#include "hostile.h"
#include "pci.h"
#include "platform.h"
#include "printf.h"
#include "string.h"
#include "test.h"
#include "virtio_mem.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"

#define F(bit)	       (1ULL << (bit))
#define RINGS_OFF      0x0000u
#define RINGS_SPAN     0x4000u
#define TABLES_OFF     0x4000u
#define TABLES_SPAN    0x4000u
#define BUFS_OFF       0x8000u
#define BUFS_SPAN      0x8000u
#define COMMON_ADDR_LO 0x20u /* struct virtio_pci_common_cfg: queue_desc .. queue_used_hi */
#define COMMON_ADDR_HI 0x38u
#define COMMON_ENABLE  0x1cu /* queue_enable */
#define MMIO_ADDR_LO   VIRTIO_MMIO_QUEUE_DESC_LOW
#define MMIO_ADDR_HI   (VIRTIO_MMIO_QUEUE_USED_HIGH + 4)
#define PCI_Q_RESET    0x3a /* common cfg queue_reset (4.1.4.3, VIRTIO_F_RING_RESET) */
#define MMIO_Q_RESET   0x0c0

static const uint64_t not_ram[] = {
    0xfffffffffffff000ULL, /* far away */
    0xfffffffffffffff8ULL, /* wraps the address space */
    0xd0000000ULL,	   /* the virtio-mmio windows */
    0xE0000000ULL,	   /* ECAM */
    0xfec00000ULL,	   /* IOAPIC */
    0x100000000ULL,	   /* just above 4 GiB (no high RAM with 256 MiB) */
    0x8000000000ULL,
};
#define NOT_RAM_N (sizeof(not_ram) / sizeof(not_ram[0]))

/* One of not_ram[] (the far one should a bigger guest have RAM there). */
static uint64_t not_ram_addr(void)
{
	uint64_t a = not_ram[hostile_below(NOT_RAM_N)];

	return boot_is_ram(a, 4096) ? not_ram[0] : a;
}

static uint32_t below(uint32_t n)
{
	return hostile_below(n);
}

static bool chance(uint32_t n) /* 1 in n */
{
	return below(n) == 0;
}

static uint64_t scratch(struct hdev *h, uint32_t off)
{
	return virt_to_phys(h->scratch + off);
}

/* ---- addresses and buffers a device may be given ---- */

static uint32_t any_len(void)
{
	static const uint32_t lens[] = {0, 1, 0x1000, 0x10000, 0x80000000u, 0xffffffffu};
	return chance(3) ? (uint32_t)hostile_rand() : lens[below(6)];
}

/* A buffer: usually inside the scratch's buffer area, else zero-length, not RAM, or across
 * the top of RAM. */
static struct vq_buf fz_buf(struct hdev *h, bool device_writes)
{
	static const uint32_t lens[] = {1, 15, 16, 17, 64, 511, 512, 513, 1024, 4096};
	struct vq_buf b = {0, 0, device_writes};
	switch (below(10)) {
	case 0:
		b.addr = not_ram_addr() + (chance(2) ? below(4096) : 0);
		b.len = any_len();
		return b;
	case 1:
		b.addr = boot_ram_top() - 1 - below(64);
		b.len = 64 + below(4096);
		return b;
	case 2:
		b.len = 0;
		break;
	default:
		b.len = chance(3) ? 1 + below(BUFS_SPAN - 1) : lens[below(10)];
		break;
	}
	b.addr = scratch(h, BUFS_OFF + below(BUFS_SPAN - b.len + 1));
	return b;
}

/* A ring address: inside the scratch's ring area (aligned or not: room for 256 entries after
 * it), or not RAM. */
static uint64_t fz_ring_addr(struct hdev *h, uint32_t align)
{
	if (chance(4))
		return chance(3) ? boot_ram_top() - 8 : not_ram_addr();
	uint32_t off = RINGS_OFF + below(RINGS_SPAN);
	if (!chance(4))
		off &= ~(align - 1);
	return scratch(h, off);
}

/* ---- transport-level register access ---- */

static uint64_t read_width(uint64_t a, unsigned w)
{
	switch (w) {
	case 1:
		return mmio_read8(a);
	case 2:
		return mmio_read16(a);
	case 4:
		return mmio_read32(a);
	default:
		return mmio_read64(a);
	}
}

static void write_width(uint64_t a, unsigned w, uint64_t v)
{
	switch (w) {
	case 1:
		mmio_write8(a, (uint8_t)v);
		break;
	case 2:
		mmio_write16(a, (uint16_t)v);
		break;
	case 4:
		mmio_write32(a, (uint32_t)v);
		break;
	default:
		mmio_write64(a, v);
		break;
	}
}

static unsigned any_width(void)
{
	return 1u << below(4);
}

static bool overlaps(uint32_t off, unsigned w, uint32_t lo, uint32_t hi)
{
	return off < hi && off + w > lo;
}

/* Writes the three ring addresses of the selected queue with safe values (both halves of
 * each, so no half of an old address survives). */
static void write_ring_addrs(struct hdev *h)
{
	uint64_t a[3] = {fz_ring_addr(h, 16), fz_ring_addr(h, 2), fz_ring_addr(h, 4)};
	for (unsigned i = 0; i < 3; i++) {
		if (hdev_is_pci(h)) {
			uint64_t r = h->d->pci.common + VIRTIO_PCI_COMMON_Q_DESCLO + 8 * i;
			mmio_write32(r, (uint32_t)a[i]);
			mmio_write32(r + 4, (uint32_t)(a[i] >> 32));
		} else {
			uint32_t r = VIRTIO_MMIO_QUEUE_DESC_LOW + 0x10 * i;
			vdev_write(h->d, r, (uint32_t)a[i]);
			vdev_write(h->d, r + 4, (uint32_t)(a[i] >> 32));
		}
	}
}

/* Reads of every width at any offset of the device's registers, in and out of range. */
static void regs_read(struct hdev *h)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned w = any_width();
		if (!hdev_is_pci(h)) {
			(void)read_width(h->d->base + below((uint32_t)h->d->size), w);
			continue;
		}
		switch (below(4)) {
		case 0:
			(void)read_width(h->d->base + below(VIRTIO_PCI_MAX_DEVS * 0x400), w);
			break;
		case 1:
			(void)read_width(h->d->pci.common + below(0x40), w);
			break;
		case 2:
			if (h->d->pci.msix_table)
				(void)read_width(h->d->pci.msix_table + below(0x1000 - 8), w);
			break;
		default:
			if (h->d->config)
				(void)read_width(h->d->config + below(0x1000 - 8), w);
			break;
		}
	}
}

/* Writes of every width at any offset inside the device's window / BAR 0, with random values;
 * ring addresses always get safe ones. */
static void regs_write(struct hdev *h)
{
	h->dirty = true;
	for (unsigned i = 0, n = 1 + below(8); i < n; i++) {
		unsigned w = any_width();
		uint64_t v = hostile_rand();
		uint32_t off;
		if (hdev_is_pci(h)) {
			off = chance(2) ? below(0x40) : below(0x4000 - 8);
			if (overlaps(off, w, COMMON_ADDR_LO, COMMON_ADDR_HI)) {
				write_ring_addrs(h);
				continue;
			}
			/* a queue enabled here uses safe rings, never the reset value 0 */
			if (overlaps(off, w, COMMON_ENABLE, COMMON_ENABLE + 2))
				write_ring_addrs(h);
			write_width(h->d->base + off, w, v);
		} else {
			off = chance(2) ? below(0x100) : below((uint32_t)h->d->size - 8);
			if (overlaps(off, w, MMIO_ADDR_LO, MMIO_ADDR_HI)) {
				write_ring_addrs(h);
				continue;
			}
			if (h->id == VIRTIO_ID_CONSOLE && overlaps(off, w, 0x108, 0x10c))
				continue; /* emerg_wr: characters on the host's console */
			if (overlaps(off, w, VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_READY + 4))
				write_ring_addrs(h);
			write_width(h->d->base + off, w, v);
		}
	}
}

/* Device configuration space: reads and writes of every width, in range and past the end.
 * Writes to configuration fields must not break a device (not dirty). */
static void config_rw(struct hdev *h)
{
	if (!h->d->config)
		return;
	for (unsigned i = 0; i < 12; i++) {
		unsigned w = any_width();
		uint32_t off = chance(2) ? below(0x40) : below(0x200);
		if (chance(2)) {
			(void)read_width(h->d->config + off, w);
			continue;
		}
		if (h->id == VIRTIO_ID_CONSOLE && overlaps(off, w, 8, 12))
			continue; /* emerg_wr */
		write_width(h->d->config + off, w, hostile_rand());
	}
	(void)vdev_config32(h->d, 0); /* the generation loop */
}

/* ---- queue set-up and resets at any moment (2.7, 4.1.5.1.3, 4.2.3.2) ---- */

static uint32_t any_queue_size(void)
{
	static const uint32_t sizes[] = {0,   1,   3,	8,   16,     32,     64,
					 255, 256, 257, 512, 0x8000, 0x10000};
	return chance(4) ? (uint32_t)hostile_rand() : sizes[below(13)];
}

static void queue_setup(struct hdev *h)
{
	uint16_t q = chance(4) ? (uint16_t)hostile_rand() : (uint16_t)below(h->nq + 1);
	uint32_t num = any_queue_size(), enable = chance(4) ? (uint32_t)hostile_rand() : 1;
	h->dirty = true;
	if (hdev_is_pci(h)) {
		uint64_t c = h->d->pci.common;
		mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, q);
		if (chance(2))
			mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, (uint16_t)num);
		write_ring_addrs(h);
		if (chance(3))
			mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, (uint16_t)hostile_rand());
		mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, (uint16_t)enable);
	} else {
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_SEL, q);
		if (chance(3))
			vdev_write(h->d, VIRTIO_MMIO_QUEUE_READY, 0);
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_NUM, num);
		write_ring_addrs(h);
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_READY, enable);
	}
	if (chance(2))
		vdev_add_status(h->d, VIRTIO_CONFIG_S_DRIVER_OK);
	if (hdev_is_pci(h))
		mmio_write16(h->d->pci.notify + 4 * (q % 8), q);
	else
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	delay_us(below(200));
}

/* I/O in flight, then a reset of the device or of one queue, or random status and feature
 * writes. */
static void reset_any_moment(struct hdev *h)
{
	struct vq *vq = &h->vq[h->reqq];
	h->dirty = true;
	for (unsigned i = 0, n = below(4); i < n && hdev_add_good(h); i++)
		;
	vq_notify(vq);
	delay_us(below(300));
	switch (below(6)) {
	case 0:
		h->d->ops->set_status(h->d, 0);
		break;
	case 1:
		if (hdev_is_pci(h)) {
			mmio_write16(h->d->pci.common + VIRTIO_PCI_COMMON_Q_SELECT, h->reqq);
			mmio_write16(h->d->pci.common + VIRTIO_PCI_COMMON_Q_ENABLE, 0);
		} else {
			vdev_write(h->d, VIRTIO_MMIO_QUEUE_SEL, h->reqq);
			vdev_write(h->d, VIRTIO_MMIO_QUEUE_READY, 0);
		}
		break;
	case 2: /* 2.6.1: queue reset (only meaningful with VIRTIO_F_RING_RESET) */
		if (hdev_is_pci(h)) {
			mmio_write16(h->d->pci.common + VIRTIO_PCI_COMMON_Q_SELECT, h->reqq);
			mmio_write16(h->d->pci.common + PCI_Q_RESET, 1);
		} else {
			vdev_write(h->d, VIRTIO_MMIO_QUEUE_SEL, h->reqq);
			vdev_write(h->d, MMIO_Q_RESET, 1);
		}
		break;
	case 3:
		h->d->ops->set_status(h->d, (uint8_t)hostile_rand());
		break;
	case 4: /* features after DRIVER_OK (3.1.1: not allowed) */
		h->d->ops->set_features(h->d, below(3), (uint32_t)hostile_rand());
		break;
	default:
		queue_setup(h);
		break;
	}
	vq_notify(vq);
	delay_us(below(300));
}

/* A fresh bring-up with a random feature dance: any bits, any word, status steps skipped or
 * repeated (3.1.1). */
static void features_dance(struct hdev *h)
{
	struct vdev *d = h->d;
	h->dirty = true;
	(void)vdev_reset(d);
	for (unsigned i = 0, n = 1 + below(6); i < n; i++) {
		switch (below(4)) {
		case 0:
			vdev_add_status(d, (uint8_t)(1u << below(8)));
			break;
		case 1:
			d->ops->set_features(d, below(4), (uint32_t)hostile_rand());
			break;
		case 2:
			(void)d->ops->get_features(d, below(4));
			break;
		default:
			vdev_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
			(void)vdev_status(d);
			break;
		}
	}
}

/* ---- descriptor chains (2.7.5, 2.8) ---- */

/* Random descriptor fields for `h`: flags NEXT / WRITE / INDIRECT in any mix; an indirect one
 * points at a table in the scratch (filled by fill_table, nested up to depth 2). */
static void fill_table(struct hdev *h, uint32_t off, unsigned n, bool packed, unsigned depth);

static void random_desc(struct hdev *h, bool packed, unsigned depth, uint64_t *addr, uint32_t *len,
			uint16_t *flags)
{
	*flags =
	    (uint16_t)((chance(2) ? VRING_DESC_F_NEXT : 0) | (chance(2) ? VRING_DESC_F_WRITE : 0));
	if (depth < 2 && chance(5)) {
		unsigned n = 1 + below(8);
		uint32_t off = TABLES_OFF + (below(TABLES_SPAN - 16 * 16) & ~15u);
		if (chance(6))
			off |= 1 + below(15); /* misaligned table */
		fill_table(h, off, n, packed, depth + 1);
		*addr = scratch(h, off);
		*len = chance(3) ? (uint32_t)(below(4) ? 16 * (1 + below(16)) : below(40)) : 16 * n;
		*flags |= VRING_DESC_F_INDIRECT;
		return;
	}
	struct vq_buf b = fz_buf(h, *flags & VRING_DESC_F_WRITE);
	*addr = b.addr;
	*len = b.len;
}

/* Tables stay inside the table area: a length past it is only ever claimed, and what lies
 * after a table in the scratch is other tables and buffers. */
static void fill_table(struct hdev *h, uint32_t off, unsigned n, bool packed, unsigned depth)
{
	for (unsigned k = 0; k < n; k++) {
		uint64_t a;
		uint32_t l;
		uint16_t fl;
		random_desc(h, packed, depth, &a, &l, &fl);
		if (packed) {
			struct vring_packed_desc *t = (void *)(h->scratch + off);
			t[k] = (struct vring_packed_desc){a, l, (uint16_t)below(4), fl};
		} else {
			struct vring_desc *t = (void *)(h->scratch + off);
			t[k] = (struct vring_desc){a, l, fl,
						   (uint16_t)(chance(4) ? below(20) : k + 1)};
		}
	}
}

static struct vq *pick_queue(struct hdev *h)
{
	return &h->vq[chance(4) ? below(h->nq) : h->reqq];
}

static void split_publish_raw(struct vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx % vq->size] = head;
	__atomic_store_n(&vq->avail->idx, ++vq->avail_idx, __ATOMIC_RELEASE);
}

/* Split ring: random descriptors anywhere in the table (loops, next out of range, wrong
 * direction order, indirect in indirect, out-of-RAM and zero-length buffers), random heads. */
static void hostile_split(struct hdev *h, struct vq *vq)
{
	uint16_t n = vq->size;
	for (unsigned k = 0, m = 1 + below(n); k < m; k++) {
		struct vring_desc *d = &vq->desc[below(n)];
		uint64_t a;
		uint32_t l;
		uint16_t fl;
		random_desc(h, false, 0, &a, &l, &fl);
		d->addr = a;
		d->len = l;
		d->flags = fl;
		d->next = (uint16_t)(chance(8) ? n + below(100) : below(n));
	}
	for (unsigned k = 0, heads = 1 + below(3); k < heads; k++)
		split_publish_raw(vq, (uint16_t)(chance(8) ? n + below(50) : below(n)));
	if (chance(10)) {
		vq->avail_idx = (uint16_t)(vq->avail_idx + below(3 * n));
		__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	}
}

static uint16_t packed_avail_flags(bool wrap)
{
	return (uint16_t)(wrap ? 1u << VRING_PACKED_DESC_F_AVAIL : 1u << VRING_PACKED_DESC_F_USED);
}

/* Packed ring: a chain from the driver's next slot, possibly longer than the ring (it wraps
 * over itself), random ids, sometimes wrong AVAIL/USED bits, the head's flags last (2.8.21). */
static void hostile_packed(struct hdev *h, struct vq *vq)
{
	uint16_t n = vq->size, pos = vq->next_avail, head = pos, head_flags = 0;
	bool wrap = vq->avail_wrap;
	for (unsigned k = 0, m = 1 + below(n + 2); k < m; k++) {
		struct vring_packed_desc d;
		uint64_t a;
		uint32_t l;
		uint16_t fl;
		random_desc(h, true, 0, &a, &l, &fl);
		d.addr = a;
		d.len = l;
		d.flags = fl;
		d.id = (uint16_t)(chance(6) ? hostile_rand() : below(n));
		d.flags = (uint16_t)((d.flags & ~VRING_DESC_F_NEXT) |
				     (k + 1 < m || chance(8) ? VRING_DESC_F_NEXT : 0));
		d.flags |= chance(10) ? (uint16_t)(below(4) << VRING_PACKED_DESC_F_AVAIL)
				      : packed_avail_flags(wrap);
		if (k == 0) {
			head_flags = d.flags;
			d.flags = vq->pdesc[pos].flags;
		}
		vq->pdesc[pos] = d;
		if (++pos == n) {
			pos = 0;
			wrap = !wrap;
		}
	}
	vq->next_avail = pos;
	vq->avail_wrap = wrap;
	__atomic_store_n(&vq->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
}

static void hostile_chain(struct hdev *h)
{
	struct vq *vq = pick_queue(h);
	h->dirty = true;
	if (vq->packed)
		hostile_packed(h, vq);
	else
		hostile_split(h, vq);
	vq_notify(vq);
	delay_us(below(500));
}

/* ---- nearly valid chains: a request the device would serve, one field off by one ---- */

#define MAX_NV 6

struct nv_chain {
	struct vq_buf b[MAX_NV];
	unsigned n;
	bool indirect;
};

/* The device's usual request, built in the scratch's buffer area. */
static void nv_request(struct hdev *h, struct nv_chain *c)
{
	uint8_t *p = h->scratch + BUFS_OFF;
	c->n = 1;
	c->indirect = h->vq[h->reqq].indirect && chance(3);
	if (h->id == VIRTIO_ID_BLOCK) {
		struct virtio_blk_outhdr *hdr = (void *)p;
		bool out = !h->ro && chance(2);
		unsigned nsec = 1 + below(2);
		hdr->type =
		    out ? VIRTIO_BLK_T_OUT : (chance(8) ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_IN);
		hdr->ioprio = 0;
		/* writes only at the scratch sectors (8192 on); the disk's last sectors too */
		hdr->sector = chance(4) ? 16384 - nsec : (out ? 8192 : 0) + below(4096);
		c->b[0] = (struct vq_buf){virt_to_phys(p), 16, false};
		c->b[1] = (struct vq_buf){scratch(h, BUFS_OFF + 0x1000), 512 * nsec, !out};
		c->b[2] = (struct vq_buf){scratch(h, BUFS_OFF + 0x3000), 1, true};
		c->n = 3;
		return;
	}
	if (h->id == VIRTIO_ID_RNG) {
		c->b[0] = (struct vq_buf){virt_to_phys(p), 64, true};
	} else if (h->id == VIRTIO_ID_CONSOLE) {
		p[0] = '\n';
		c->b[0] = (struct vq_buf){virt_to_phys(p), 1, false};
	} else if (h->id == VIRTIO_ID_VSOCK) {
		struct virtio_vsock_hdr *v = (void *)p;
		*v = (struct virtio_vsock_hdr){.src_cid = 3,
					       .dst_cid = 2,
					       .src_port = 778,
					       .dst_port = 4243,
					       .type = VIRTIO_VSOCK_TYPE_STREAM,
					       .op = VIRTIO_VSOCK_OP_REQUEST,
					       .buf_alloc = 4096};
		c->b[0] = (struct vq_buf){virt_to_phys(p), sizeof(*v), false};
	} else if (h->id == VIRTIO_ID_BALLOON) {
		/* a PFN of the scratch (the balloon of test_hostile_guest.py refuses every page) */
		uint32_t pfn = (uint32_t)(scratch(h, BUFS_OFF + 0x4000) >> 12);
		memcpy(p, &pfn, 4);
		c->b[0] = (struct vq_buf){virt_to_phys(p), 4, false};
	} else { /* net: virtio_net_hdr_v1, then a broadcast frame */
		memset(p, 0, 12 + 60);
		memset(p + 12, 0xff, 6);
		c->b[0] = (struct vq_buf){virt_to_phys(p), 12 + 60, false};
	}
}

/* One field off by one (or one flag wrong). *which: the buffer whose descriptor gets
 * *flags_xor, or -1 for the chain itself (next / head / buffer id / indirect length). */
static void nv_perturb(struct hdev *h, struct nv_chain *c, uint16_t *flags_xor, int *which)
{
	unsigned k = below(c->n);
	*which = (int)k;
	*flags_xor = 0;
	switch (below(6)) {
	case 0:
		c->b[k].len += chance(2) ? 1 : (uint32_t)-1;
		break;
	case 1:
		c->b[k].addr += chance(2) ? 1 : (uint64_t)-1;
		break;
	case 2:
		c->b[k].device_writes = !c->b[k].device_writes;
		break;
	case 3:
		*flags_xor = VRING_DESC_F_NEXT;
		break;
	case 4:
		if (h->id == VIRTIO_ID_BLOCK) {
			struct virtio_blk_outhdr *hdr = (void *)(h->scratch + BUFS_OFF);
			if (chance(2) && hdr->sector > 8192)
				hdr->sector += chance(2) ? 1 : (uint64_t)-1;
			else
				hdr->type += chance(2) ? 1 : (uint32_t)-1;
		}
		break;
	default:
		*which = -1; /* the chain: next / head / id / indirect length */
		break;
	}
}

static void nv_split(struct vq *vq, struct nv_chain *c, uint16_t fx, int which, bool chain_off,
		     struct hdev *h)
{
	uint16_t n = vq->size, base = (uint16_t)below(n), head = base;
	struct vring_desc *t = vq->desc;
	if (c->indirect)
		t = (void *)(h->scratch + TABLES_OFF);
	for (unsigned k = 0; k < c->n; k++) {
		uint16_t at = c->indirect ? (uint16_t)k : (uint16_t)((base + k) % n);
		uint16_t nx = c->indirect ? (uint16_t)(k + 1) : (uint16_t)((base + k + 1) % n);
		uint16_t fl = (uint16_t)((k + 1 < c->n ? VRING_DESC_F_NEXT : 0) |
					 (c->b[k].device_writes ? VRING_DESC_F_WRITE : 0));
		if ((int)k == which)
			fl ^= fx;
		if (chain_off && k == 0)
			nx = (uint16_t)(nx + 1);
		t[at] = (struct vring_desc){c->b[k].addr, c->b[k].len, fl, nx};
	}
	if (c->indirect) {
		vq->desc[head] =
		    (struct vring_desc){scratch(h, TABLES_OFF), 16 * c->n + (chain_off ? 16 : 0),
					VRING_DESC_F_INDIRECT, 0};
	}
	if (chain_off && !c->indirect && chance(2))
		head = (uint16_t)((head + 1) % n);
	split_publish_raw(vq, head);
}

static void nv_packed(struct vq *vq, struct nv_chain *c, uint16_t fx, int which, bool chain_off,
		      struct hdev *h)
{
	uint16_t n = vq->size, pos = vq->next_avail, head = pos, head_flags = 0;
	uint16_t id = (uint16_t)(chain_off ? n : below(n));
	bool wrap = vq->avail_wrap;
	if (c->indirect) {
		struct vring_packed_desc *t = (void *)(h->scratch + TABLES_OFF);
		for (unsigned k = 0; k < c->n; k++)
			t[k] = (struct vring_packed_desc){
			    c->b[k].addr, c->b[k].len, 0,
			    (uint16_t)((c->b[k].device_writes ? VRING_DESC_F_WRITE : 0) ^
				       ((int)k == which ? fx : 0))};
		head_flags = VRING_DESC_F_INDIRECT | packed_avail_flags(wrap);
		vq->pdesc[pos] = (struct vring_packed_desc){
		    scratch(h, TABLES_OFF), 16 * c->n + (chain_off ? 1 : 0), (uint16_t)below(n),
		    vq->pdesc[pos].flags};
		pos = (uint16_t)((pos + 1) % n);
		wrap = pos == 0 ? !wrap : wrap;
	} else {
		for (unsigned k = 0; k < c->n && k < n; k++) {
			uint16_t fl = (uint16_t)((k + 1 < c->n ? VRING_DESC_F_NEXT : 0) |
						 (c->b[k].device_writes ? VRING_DESC_F_WRITE : 0) |
						 packed_avail_flags(wrap));
			if ((int)k == which)
				fl ^= fx;
			if (k == 0) {
				head_flags = fl;
				fl = vq->pdesc[pos].flags;
			}
			vq->pdesc[pos] =
			    (struct vring_packed_desc){c->b[k].addr, c->b[k].len, id, fl};
			if (++pos == n) {
				pos = 0;
				wrap = !wrap;
			}
		}
	}
	vq->next_avail = pos;
	vq->avail_wrap = wrap;
	__atomic_store_n(&vq->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
}

static void nearly_valid(struct hdev *h)
{
	struct vq *vq = &h->vq[h->reqq];
	struct nv_chain c;
	uint16_t fx;
	int which;
	h->dirty = true; /* the driver's own ring bookkeeping is bypassed */
	nv_request(h, &c);
	nv_perturb(h, &c, &fx, &which);
	if (vq->packed)
		nv_packed(vq, &c, fx, which, which < 0, h);
	else
		nv_split(vq, &c, fx, which, which < 0, h);
	vq_notify(vq);
	delay_us(below(500));
}

/* ---- PCI configuration space, BARs, MSI-X ---- */

static uint32_t saved_cfg[64];
static struct hdev *saved_for;

static uint32_t cfg_rd32(struct hdev *h, uint16_t off)
{
	return pci_cfg_read32(0, h->d->pci.dev, h->d->pci.fn, off);
}

static void cfg_wr32(struct hdev *h, uint16_t off, uint32_t v)
{
	pci_cfg_write32(0, h->d->pci.dev, h->d->pci.fn, off, v);
}

static void cfg_wr16(struct hdev *h, uint16_t off, uint16_t v)
{
	pci_cfg_write16(0, h->d->pci.dev, h->d->pci.fn, off, v);
}

/* Saves the function's header and capabilities once per round (settle puts them back). */
static void cfg_save(struct hdev *h)
{
	if (saved_for == h)
		return;
	for (uint16_t i = 0; i < 64; i++)
		saved_cfg[i] = cfg_rd32(h, (uint16_t)(4 * i));
	saved_for = h;
}

/* The PCI configuration access capability (4.1.4.9): its data dword reaches the BARs, so it
 * gets no random writes. 0: none. */
static uint16_t cfg_access_cap(struct hdev *h)
{
	uint16_t cap = (uint16_t)(cfg_rd32(h, PCI_CAPABILITY_LIST) & 0xfc);
	for (int hops = 0; cap >= 0x40 && hops < 48; hops++) {
		uint32_t w0 = cfg_rd32(h, cap);
		if ((w0 & 0xff) == PCI_CAP_ID_VNDR && (w0 >> 24) == VIRTIO_PCI_CAP_PCI_CFG)
			return cap;
		cap = (uint16_t)((w0 >> 8) & 0xfc);
	}
	return 0;
}

static void cfg_reads(struct hdev *h)
{
	for (unsigned i = 0; i < 24; i++) {
		bool other = chance(4);
		uint8_t dev = other ? (uint8_t)below(32) : h->d->pci.dev;
		uint8_t fn = other ? (uint8_t)below(8) : h->d->pci.fn;
		pci_cfg_any(dev, fn, (uint16_t)below(pci_host()->cfg_span), 1u << below(3), false,
			    0);
	}
}

static void cfg_writes(struct hdev *h)
{
	uint16_t acc = cfg_access_cap(h);
	cfg_save(h);
	h->dirty = true;
	for (unsigned i = 0, n = 1 + below(6); i < n; i++) {
		uint16_t off = (uint16_t)below(256);
		unsigned w = 1u << below(3);
		if (acc && overlaps(off, w, acc + 16u, acc + 20u))
			continue;
		if (chance(6)) { /* an absent function (vendor all-ones): ignored */
			uint8_t dev = (uint8_t)below(32), fn = (uint8_t)below(8);
			if (pci_cfg_read16(0, dev, fn, PCI_VENDOR_ID) == 0xffff)
				pci_cfg_any(dev, fn, off, w, true, (uint32_t)hostile_rand());
			continue;
		}
		pci_cfg_any(h->d->pci.dev, h->d->pci.fn, off, w, true, (uint32_t)hostile_rand());
	}
}

/* The configuration access window (4.1.4.9) at safe places of BAR 0: never the ring
 * addresses; writes only to BAR 0 (BAR 2 holds the MSI-X messages). */
static void cfg_window(struct hdev *h)
{
	uint16_t acc = cfg_access_cap(h);
	if (!acc)
		return;
	h->dirty = true;
	for (unsigned i = 0; i < 4; i++) {
		uint8_t bar = (uint8_t)(chance(3) ? below(8) : 0);
		uint32_t off = below(0x4000),
			 len = chance(4) ? (uint32_t)hostile_rand() : 1u << below(3);
		bool write = bar == 0 && !overlaps(off, 8, COMMON_ENABLE, COMMON_ADDR_HI);
		pci_cfg_write8(0, h->d->pci.dev, h->d->pci.fn, acc + VIRTIO_PCI_CAP_BAR, bar);
		cfg_wr32(h, acc + VIRTIO_PCI_CAP_OFFSET, off);
		cfg_wr32(h, acc + VIRTIO_PCI_CAP_LENGTH, len);
		if (write && chance(2))
			cfg_wr32(h, acc + 16, (uint32_t)hostile_rand());
		else
			(void)cfg_rd32(h, acc + 16);
	}
}

/* Command register toggles (memory space, bus master, INTx disable), with accesses and a
 * request in between. */
static void cmd_toggle(struct hdev *h)
{
	uint16_t bits[] = {PCI_COMMAND_MEMORY, PCI_COMMAND_MASTER, PCI_COMMAND_INTX_DISABLE,
			   PCI_COMMAND_IO};
	cfg_save(h);
	h->dirty = true; /* a request made while bus mastering was off may never complete */
	uint16_t cmd = (uint16_t)saved_cfg[1];
	for (unsigned i = 0, n = 1 + below(4); i < n; i++) {
		cmd ^= bits[below(4)];
		cfg_wr16(h, PCI_COMMAND, cmd);
		(void)mmio_read8(h->d->pci.common + VIRTIO_PCI_COMMON_STATUS);
		if (chance(2) && hdev_add_good(h))
			vq_notify(&h->vq[h->reqq]);
		delay_us(below(200));
	}
}

/* Where a BAR may go for a round: a free place of the PCI hole, another device's BAR, RAM at
 * 0, ECAM, the boot timer page, above 4 GiB (64-bit BAR only). */
static uint64_t bar_target(struct hdev *h, bool is64, bool *free_place)
{
	*free_place = false;
	switch (below(7)) {
	case 0: {
		struct hdev *o = &hostile_devs[below(hostile_ndevs)];
		if (o != h && hdev_is_pci(o))
			return o->d->base;
		break;
	}
	case 1:
		return 0;
	case 2:
		return pci_host()->ecam;
	case 3:
		return pci_host()->platform;
	case 4:
		if (is64)
			return (uint64_t)(1 + below(0xff)) << 32 | (uint64_t)below(0x1000) << 16;
		break;
	default:
		break;
	}
	*free_place = true;
	return pci_host()->free + (uint64_t)below(0x100) * 0x10000;
}

/* Moves BAR 0 (64-bit) or BAR 2 (MSI-X) elsewhere, uses it there, sometimes sizes it on the
 * way (firmware's ~0 write), and moves it back (settle does, too). */
static void bar_move(struct hdev *h)
{
	bool bar0 = chance(2) || !h->d->pci.msix_table, free_place;
	uint16_t reg = bar0 ? PCI_BASE_ADDRESS_0 : PCI_BASE_ADDRESS_2;
	uint64_t to = bar_target(h, bar0, &free_place);
	uint16_t cmd;
	cfg_save(h);
	cmd = (uint16_t)saved_cfg[1];
	if (chance(2))
		cfg_wr16(h, PCI_COMMAND, cmd & (uint16_t)~PCI_COMMAND_MEMORY);
	if (chance(3)) {
		cfg_wr32(h, reg, 0xffffffffu);
		(void)cfg_rd32(h, reg);
	}
	cfg_wr32(h, reg, (uint32_t)to | (saved_cfg[reg / 4] & 0xf));
	if (bar0)
		cfg_wr32(h, reg + 4, (uint32_t)(to >> 32));
	cfg_wr16(h, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
	/* the old place decodes nothing now; the new one is the device (checked where nothing
	 * else is) */
	(void)mmio_read8((bar0 ? h->d->pci.common : h->d->pci.msix_table) + 4);
	if (bar0 && free_place) {
		uint64_t numq = to + (h->d->pci.common - h->d->base) + VIRTIO_PCI_COMMON_NUMQ;
		uint16_t got = mmio_read16(numq);
		TEST_ASSERT_MSG(got == h->d->pci.num_queues,
				"BAR 0 moved to 0x%llx: num_queues reads 0x%x there, not %u",
				(unsigned long long)to, got, h->d->pci.num_queues);
		if (chance(2)) /* a kick at the moved notification address */
			mmio_write16(to + (h->d->pci.notify - h->d->base) + 4 * h->reqq, h->reqq);
	}
	hostile_fuzz_settle(h);
}

/* Sizing writes (~0) to every BAR register and the expansion ROM, read back, restored. */
static void bar_size(struct hdev *h)
{
	static const uint16_t regs[] = {0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, PCI_ROM_ADDRESS};
	uint16_t reg = regs[below(7)];
	cfg_save(h);
	if (chance(2))
		cfg_wr16(h, PCI_COMMAND, (uint16_t)saved_cfg[1] & (uint16_t)~PCI_COMMAND_MEMORY);
	cfg_wr32(h, reg, chance(4) ? (uint32_t)hostile_rand() : 0xffffffffu);
	(void)cfg_rd32(h, reg);
	hostile_fuzz_settle(h);
}

/* A message data word that cannot hurt the guest: vector >= 0x30, delivery mode fixed or
 * lowest priority (Intel SDM 10.11.2), any trigger mode, reserved upper bits sometimes set. */
static uint32_t msi_data(void)
{
	uint32_t d = 0x30 + below(0xd0);
	d |= below(2) << 8;
	d |= below(4) << 14;
	if (chance(4))
		d |= (uint32_t)hostile_rand() & 0xffff0000u;
	return d;
}

/* Random, or the platform's MSI target with random bits where it allows them (x86: the
 * destination APIC ID and the mode bits, Intel SDM 10.11.1). */
static uint32_t msi_addr(void)
{
	const struct pci_host *p = pci_host();

	if (chance(4) || !p->msi_addr)
		return (uint32_t)hostile_rand();
	return (uint32_t)p->msi_addr | ((below(0x100) << 12 | below(16) << 2) & p->msi_addr_bits);
}

/* MSI-X: enable / function mask, table and PBA writes (masks, addresses, data; odd widths on
 * the address and control words), config and queue vectors valid and not, then a request so
 * the device sends what the table now says. Settle puts the control word back. */
static void msix_fuzz(struct hdev *h)
{
	struct vdev *d = h->d;
	uint16_t ctl_off = d->pci.msix_cap + PCI_MSIX_FLAGS, ctl;
	if (!d->pci.msix_table)
		return;
	cfg_save(h);
	ctl = (uint16_t)(cfg_rd32(h, d->pci.msix_cap) >> 16);
	ctl &= (uint16_t) ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	ctl |= (uint16_t)(below(4) << 14);
	cfg_wr16(h, ctl_off, ctl);
	for (unsigned i = 0, n = 1 + below(10); i < n; i++) {
		uint64_t e = d->pci.msix_table + 16 * (uint64_t)below(d->pci.msix_size + 2u);
		switch (below(6)) {
		case 0:
			mmio_write32(e + PCI_MSIX_ENTRY_LOWER_ADDR, msi_addr());
			break;
		case 1:
			write_width(e + PCI_MSIX_ENTRY_UPPER_ADDR, 1u << below(3),
				    chance(2) ? 0 : hostile_rand());
			break;
		case 2:
			mmio_write32(e + PCI_MSIX_ENTRY_DATA, msi_data());
			break;
		case 3:
			write_width(e + PCI_MSIX_ENTRY_VECTOR_CTRL, 1u << below(3),
				    chance(3) ? hostile_rand() : below(2));
			break;
		case 4: /* the PBA is read-only */
			write_width(d->pci.msix_table + 0x800 + 8 * below(2), 1u << below(4),
				    hostile_rand());
			break;
		default: {
			static const uint16_t vecs[] = {0, 1, 2, 0xfffe, VIRTIO_MSI_NO_VECTOR};
			uint16_t v =
			    chance(3) ? (uint16_t)below(d->pci.msix_size + 2u) : vecs[below(5)];
			uint64_t c = d->pci.common;
			if (chance(2)) {
				mmio_write16(c + VIRTIO_PCI_COMMON_MSIX, v);
			} else {
				mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT,
					     (uint16_t)(chance(4) ? hostile_rand() : below(h->nq)));
				mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, v);
			}
			(void)mmio_read16(c + VIRTIO_PCI_COMMON_Q_MSIX);
			break;
		}
		}
	}
	(void)mmio_read64(d->pci.msix_table + 0x800);
	if (hdev_add_good(h))
		vq_notify(&h->vq[h->reqq]);
	delay_us(below(300));
}

void hostile_fuzz_settle(struct hdev *h)
{
	if (saved_for != h || !hdev_is_pci(h))
		return;
	uint16_t cmd = (uint16_t)saved_cfg[1];
	cfg_wr16(h, PCI_COMMAND, cmd & (uint16_t)~PCI_COMMAND_MEMORY);
	for (uint16_t r = PCI_BASE_ADDRESS_0; r <= PCI_BASE_ADDRESS_5; r += 4)
		cfg_wr32(h, r, saved_cfg[r / 4]);
	cfg_wr32(h, PCI_ROM_ADDRESS, saved_cfg[PCI_ROM_ADDRESS / 4]);
	pci_cfg_write8(0, h->d->pci.dev, h->d->pci.fn, PCI_INTERRUPT_LINE,
		       (uint8_t)saved_cfg[PCI_INTERRUPT_LINE / 4]);
	if (h->d->pci.msix_cap)
		cfg_wr16(h, h->d->pci.msix_cap + PCI_MSIX_FLAGS,
			 (uint16_t)(saved_cfg[h->d->pci.msix_cap / 4] >> 16));
	cfg_wr16(h, PCI_COMMAND, cmd);
	saved_for = NULL;
}

static void pci_step(struct hdev *h)
{
	if (!hdev_is_pci(h)) {
		cfg_reads(h); /* the host bridge and absent functions: reads only */
		return;
	}
	unsigned what = below(8);
	static const char *const names[] = {"reads",	"writes",   "window",	"command",
					    "BAR move", "BAR move", "BAR size", "MSI-X"};
	if (hostile_trace)
		printf("    PCI %s\n", names[what]);
	switch (what) {
	case 0:
		cfg_reads(h);
		break;
	case 1:
		cfg_writes(h);
		break;
	case 2:
		cfg_window(h);
		break;
	case 3:
		cmd_toggle(h);
		break;
	case 4:
	case 5:
		bar_move(h);
		break;
	case 6:
		bar_size(h);
		break;
	default:
		msix_fuzz(h);
		break;
	}
}

/* ---- the step ---- */

struct fuzz_action {
	const char *name;
	void (*run)(struct hdev *h);
	unsigned weight;
};

static const struct fuzz_action actions[] = {
    {"plain random step", hostile_random_step, 4},
    {"hostile chain", hostile_chain, 4},
    {"nearly valid chain", nearly_valid, 4},
    {"register reads", regs_read, 2},
    {"register writes", regs_write, 2},
    {"device config accesses", config_rw, 2},
    {"queue set-up", queue_setup, 2},
    {"reset at any moment", reset_any_moment, 2},
    {"feature dance", features_dance, 1},
    {"PCI config / BAR / MSI-X", pci_step, 4},
};

const char *hostile_fuzz_step(struct hdev *h)
{
	unsigned total = 0, n = sizeof(actions) / sizeof(actions[0]);
	for (unsigned i = 0; i < n; i++)
		total += actions[i].weight;
	unsigned pick = below(total);
	for (unsigned i = 0; i < n; i++) {
		if (pick < actions[i].weight) {
			if (hostile_trace)
				printf("  %s: %s\n", h->name, actions[i].name);
			actions[i].run(h);
			return actions[i].name;
		}
		pick -= actions[i].weight;
	}
	return "none";
}
