/* Writes the seed corpora: small legal inputs for every target, encoded exactly as the targets
 * decode them (fuzz_ring.c, fuzz_virtio_dev.c + fuzz_drv.c, fuzz_loaders.c, fuzz_cli.c,
 * fuzz_uart8250.c, fuzz_fw_cfg.c, fuzz_virtio_net.c, fuzz_virtio_pci.c, fuzz_pci_config.c), so
 * fuzzing starts from working queues, requests, images and command lines. Usage: fuzz_gen_seeds DIR
 * (creates DIR/<target>/seed-*) */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct seed {
	uint8_t b[8192];
	size_t n;
};

static const char *root;

static void u8(struct seed *s, uint8_t v)
{
	s->b[s->n++] = v;
}

static void le(struct seed *s, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		u8(s, (uint8_t)(v >> (8 * i)));
}

static void raw(struct seed *s, const void *p, size_t len)
{
	memcpy(s->b + s->n, p, len);
	s->n += len;
}

static void save(const char *target, const char *name, const struct seed *s)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_drv.c encodings ---- */

static void heap_addr(struct seed *s, uint16_t off)
{
	u8(s, 0); /* pick_addr: heap */
	le(s, off, 2);
}

static void small_len(struct seed *s, uint8_t len_minus_1)
{
	u8(s, 0); /* pick_len: 1 + u8 */
	u8(s, len_minus_1);
}

/* FZ_DRV_ADD_CHAIN (op 0): n buffers of 64 bytes, `writes` bitmask. */
static void add_chain(struct seed *s, unsigned n, uint8_t writes)
{
	u8(s, 0);
	u8(s, (uint8_t)(n - 1));
	u8(s, writes);
	for (unsigned k = 0; k < n; k++) {
		heap_addr(s, (uint16_t)(256 * k));
		small_len(s, 63);
	}
}

/* FZ_DRV_ADD_INDIRECT (op 1): a table of n 32-byte buffers, the last writable. */
static void add_indirect(struct seed *s, unsigned n)
{
	u8(s, 1);
	u8(s, (uint8_t)(n - 1));
	heap_addr(s, 0x2000);
	u8(s, 1); /* aligned */
	u8(s, 1); /* table length 16 * n */
	le(s, 1u << (n - 1), 2);
	for (unsigned k = 0; k < n; k++) {
		heap_addr(s, (uint16_t)(0x100 + 64 * k));
		small_len(s, 31);
	}
	u8(s, 1); /* no NEXT */
}

/* FZ_DRV_ADD_REQUEST (op 2): payload in one readable buffer, `bulk_sectors` of heap data, then
 * writable buffers of the given lengths. */
static void add_request(struct seed *s, const void *payload, uint8_t len, uint8_t bulk_sectors,
			const uint16_t *wlen, unsigned nw)
{
	u8(s, 2);
	u8(s, 0); /* one readable piece */
	u8(s, (uint8_t)nw);
	u8(s, len);
	raw(s, payload, len);
	le(s, 0x400, 2); /* its heap offset */
	u8(s, bulk_sectors ? (uint8_t)(bulk_sectors << 1 | 1) : 0);
	if (bulk_sectors)
		le(s, 0x1000, 2);
	for (unsigned k = 0; k < nw; k++) {
		heap_addr(s, (uint16_t)(0x3000 + 0x1000 * k));
		u8(s, 1);
		le(s, wlen[k] - 1, 2);
	}
}

/* ---- virtqueue targets (fuzz_ring.c) ---- */

enum { OP_POP = 8, OP_HELD, OP_NOTIFY, OP_POP2, OP_RAW_USED, OP_RESET, OP_LONG_CHAIN };

/* Pop, read everything, write everything, then push (0), unpop (2) or hold (3). */
static void pop(struct seed *s, uint8_t disposition)
{
	u8(s, OP_POP);
	u8(s, 2);			 /* two steps */
	u8(s, 0), u8(s, 0);		 /* read all */
	u8(s, 1), u8(s, 0), u8(s, 0x41); /* write all, pattern */
	u8(s, disposition);
}

static void ring_header(struct seed *s, bool packed, uint8_t cfg, unsigned size)
{
	unsigned sel = 0;
	if (packed)
		sel = size - 1;
	else
		while ((1u << sel) < size)
			sel++;
	u8(s, cfg);
	u8(s, (uint8_t)sel);
	u8(s, 4); /* RAM: 8 KiB + 4 * 4 KiB */
	if (cfg & 4)
		u8(s, 1), u8(s, 1); /* second region right after the first, 8 KiB */
}

static void ring_seeds(const char *target, bool packed)
{
	struct seed s = {0};
	ring_header(&s, packed, 0, 8);
	add_chain(&s, 2, 2);
	pop(&s, 0);
	u8(&s, OP_NOTIFY), u8(&s, 0);
	save(target, "one-chain", &s);

	s.n = 0;
	ring_header(&s, packed, 3, 4); /* EVENT_IDX + INDIRECT */
	for (int i = 0; i < 6; i++) {  /* wraps the ring */
		add_chain(&s, 1 + i % 3, (uint8_t)(1u << (i % 3)));
		u8(&s, OP_NOTIFY), u8(&s, 1); /* enable notify */
		pop(&s, i % 2 ? 3 : 0);
		u8(&s, OP_HELD), u8(&s, 0), u8(&s, 0);
		u8(&s, OP_NOTIFY), u8(&s, 0); /* should notify */
	}
	add_indirect(&s, 3);
	pop(&s, 2);
	save(target, "event-idx-indirect-wrap", &s);

	s.n = 0;
	ring_header(&s, packed, 4, 16); /* two regions */
	add_chain(&s, 8, 0xf0);
	pop(&s, 3);
	add_chain(&s, 3, 4);
	pop(&s, 0);
	u8(&s, OP_HELD), u8(&s, 0), u8(&s, 2); /* add_used without publish */
	u8(&s, OP_NOTIFY), u8(&s, 3);	       /* publish */
	u8(&s, OP_RESET), u8(&s, 1);
	add_chain(&s, 1, 1);
	pop(&s, 0);
	save(target, "batch-reset", &s);

	/* Chains either side of VQ_CHAIN_MAX_SEGS (1024) buffers: 1026 (refused, the queue breaks),
	 * then after a reset 1020 (served). Split: 4 ring descriptors and an indirect table, on 16
	 * entries; packed: a ring of 1100 descriptors (a hostile size, max 2048). 36 KiB of RAM. */
	s.n = 0;
	if (packed) {
		u8(&s, 0x18), u8(&s, 0); /* hostile size: max, then a 16-bit size */
		le(&s, 2048, 2), u8(&s, 0), le(&s, 1100, 2);
	} else {
		u8(&s, 2), u8(&s, 4); /* INDIRECT_DESC, 16 entries */
	}
	u8(&s, 7); /* RAM: 8 KiB + 7 * 4 KiB */
	for (int legal = 0; legal < 2; legal++) {
		u8(&s, OP_LONG_CHAIN), u8(&s, legal ? 0 : 6); /* 1020 or 1026 buffers */
		u8(&s, 2), u8(&s, 0);			      /* the last 2 writable */
		if (!packed)
			u8(&s, 3),
			    le(&s, 0, 2); /* 4 ring descriptors, the table at the heap start */
		if (legal)
			pop(&s, 0);
		else /* the pop fails, nothing more is read; then a reset */
			u8(&s, OP_POP), u8(&s, OP_RESET), u8(&s, 1);
	}
	save(target, "long-chains", &s);
}

/* ---- device targets (fuzz_virtio_dev.c) ---- */

enum { OP_BRING_UP = 8, OP_REG_WRITE, OP_REG_READ, OP_KICK, OP_STATUS, OP_SPECIAL };

static void dev_header(struct seed *s, const void *create, size_t create_len, bool packed)
{
	u8(s, 0x40 | 4); /* bring up at once, queue size 16 */
	raw(s, create, create_len);
	/* device bits 0-23, INDIRECT_DESC, EVENT_IDX, VERSION_1 (+ RING_PACKED) */
	le(s, 0x30ffffffull | 1ull << 32 | (packed ? 1ull << 34 : 0), 8);
	u8(s, 0xff); /* every queue ready */
}

static void request(struct seed *s, uint8_t q, const void *payload, uint8_t len, uint8_t bulk,
		    const uint16_t *wlen, unsigned nw)
{
	struct seed tmp = {0};
	add_request(&tmp, payload, len, bulk, wlen, nw);
	u8(s, tmp.b[0]); /* op */
	u8(s, q);
	raw(s, tmp.b + 1, tmp.n - 1);
	u8(s, 1); /* kick */
}

static void chain_on(struct seed *s, uint8_t q, unsigned n, uint8_t writes)
{
	struct seed tmp = {0};
	add_chain(&tmp, n, writes);
	u8(s, tmp.b[0]);
	u8(s, q);
	raw(s, tmp.b + 1, tmp.n - 1);
	u8(s, 1);
}

static void mmio_seeds(void)
{
	for (int packed = 0; packed < 2; packed++) {
		struct seed s = {0};
		uint8_t nq = 1; /* echo: 2 queues */
		dev_header(&s, &nq, 1, packed);
		uint16_t w[] = {64};
		request(&s, 0, "ping-pong", 9, 0, w, 1);
		chain_on(&s, 1, 2, 2);
		u8(&s, OP_REG_READ), u8(&s, 1), u8(&s, 15), u8(&s, 0); /* Status */
		u8(&s, OP_STATUS), u8(&s, 0), u8(&s, 0);	       /* reset mid-I/O */
		u8(&s, OP_BRING_UP);
		le(&s, 1ull << 32, 8);
		u8(&s, 1);
		request(&s, 0, "again", 5, 0, w, 1);
		save("virtio_mmio", packed ? "packed" : "split", &s);
	}
	/* The echo's own behaviours (fuzz_virtio_mmio.c): three queues, one group each and a budget
	 * of one chain per wakeup, or one group and interrupts raised directly. Chains added
	 * without a kick, then kicks that only mark the queues and the I/O threads' pass (special
	 * 0), one chain changing the config space (first byte 0xcc) inside it, the counters read
	 * (special 1), a backend that cannot start at DRIVER_OK (special 2 | 4, then 2), a
	 * snapshot, a queue of a bad size at DRIVER_OK (special 2 | 8). */
	for (int groups = 0; groups < 2; groups++) {
		struct seed s = {0};
		uint8_t create = groups ? 0xc2 : 0x20; /* 3 queues; groups + budget 1, or direct */
		dev_header(&s, &create, 1, false);
		uint16_t w[] = {64};
		request(&s, 0, "one", 3, 0, w, 1);
		request(&s, 0, "two", 3, 0, w, 1);
		request(&s, 1, "\xcc-config", 8, 0, w, 1);
		s.b[s.n - 1] = 0; /* no kick */
		request(&s, 2, "three", 5, 0, w, 1);
		s.b[s.n - 1] = 0;
		u8(&s, OP_SPECIAL), u8(&s, 0), u8(&s, 7); /* kick all, the threads' pass */
		u8(&s, OP_SPECIAL), u8(&s, 3 | 4);	  /* group 1's pass alone */
		u8(&s, OP_SPECIAL), u8(&s, 1);		  /* counters */
		u8(&s, OP_SPECIAL), u8(&s, 2 | 4);	  /* the backend fails */
		u8(&s, OP_BRING_UP), le(&s, 1ull << 32, 8), u8(&s, 7);
		u8(&s, OP_SPECIAL), u8(&s, 2); /* and recovers */
		u8(&s, OP_BRING_UP), le(&s, 1ull << 32, 8), u8(&s, 7);
		request(&s, 2, "before", 6, 0, w, 1);
		u8(&s, OP_SPECIAL + 1), u8(&s, 0), u8(&s, 1); /* snapshot, state unchanged */
		request(&s, 2, "after", 5, 0, w, 1);
		u8(&s, OP_SPECIAL), u8(&s, 1);
		u8(&s, OP_SPECIAL), u8(&s, 2 | 8 | 0x10); /* queue 1 of size 3 made ready */
		u8(&s, OP_BRING_UP), le(&s, 1ull << 32, 8), u8(&s, 7);
		request(&s, 1, "again", 5, 0, w, 1);
		save("virtio_mmio", groups ? "groups-budget" : "direct-irqs", &s);
	}
}

static void blk_seeds(void)
{
	/* create: read-write, 64 KiB, sync I/O / auto (io_uring) */
	for (int aio = 0; aio < 2; aio++) {
		struct seed s = {0};
		uint8_t create[] = {(uint8_t)(aio ? 8 | 2 : 0), 127};
		dev_header(&s, create, sizeof(create), aio);
		uint8_t hdr[16] = {0};
		uint16_t w_read[] = {512, 1}, w_status[] = {1}, w_id[] = {20, 1};
		hdr[0] = 1; /* VIRTIO_BLK_T_OUT, sector 0 */
		request(&s, 0, hdr, 16, 1, w_status, 1);
		u8(&s, OP_SPECIAL), u8(&s, 7);
		hdr[0] = 0; /* IN */
		hdr[8] = 1; /* sector 1 */
		request(&s, 0, hdr, 16, 0, w_read, 2);
		u8(&s, OP_SPECIAL), u8(&s, 7);
		memset(hdr, 0, sizeof(hdr));
		hdr[0] = 4; /* FLUSH */
		request(&s, 0, hdr, 16, 0, w_status, 1);
		hdr[0] = 8; /* GET_ID */
		request(&s, 0, hdr, 16, 0, w_id, 2);
		u8(&s, OP_SPECIAL), u8(&s, 7);
		if (aio) {
			uint8_t d[32] = {11}; /* DISCARD: header + one 16-byte segment */
			d[16 + 8] = 1;	      /* num_sectors 1 */
			request(&s, 0, d, 32, 0, w_status, 1);
			u8(&s, OP_SPECIAL), u8(&s, 7);
		}
		save("virtio_blk", aio ? "rw-auto-discard" : "rw-sync", &s);
	}

	/* special: 0 the image resized, 1 the rate limiter patched, 2 other paths, 3 wake-ups */
	struct seed h = {0};
	uint8_t create[] = {2, 63}; /* read-write, discard, 64 sectors, synchronous */
	dev_header(&h, create, sizeof(create), false);
	uint8_t wz[32] = {13}; /* WRITE_ZEROES, one segment: sectors 0-3, UNMAP */
	wz[16 + 8] = 4, wz[16 + 12] = 1;
	uint16_t w_status[] = {1}, w_read[] = {512, 1};
	request(&h, 0, wz, 32, 0, w_status, 1);
	wz[16 + 12] = 0; /* without UNMAP */
	request(&h, 0, wz, 32, 0, w_status, 1);
	u8(&h, OP_SPECIAL), u8(&h, 0), u8(&h, 0), u8(&h, 2); /* the image: 2 sectors */
	uint8_t rd[16] = {0};
	rd[8] = 10; /* IN, sector 10: past the new end */
	request(&h, 0, rd, 16, 0, w_read, 2);
	u8(&h, OP_SPECIAL), u8(&h, 0), u8(&h, 0), u8(&h, 64); /* back to 64 sectors */
	u8(&h, OP_SPECIAL), u8(&h, 1), u8(&h, 1), u8(&h, 1);  /* both buckets: */
	u8(&h, 3), u8(&h, 1), u8(&h, 0);		      /* 513 bytes per 4 ms, */
	u8(&h, 1), u8(&h, 0);				      /* one request per 2 ms */
	for (int i = 0; i < 4; i++)
		request(&h, 0, rd, 16, 0, w_read, 2);
	u8(&h, OP_SPECIAL), u8(&h, 3); /* the limiter's timer, before it fired */
	u8(&h, OP_SPECIAL), u8(&h, 1), u8(&h, 1), u8(&h, 1), u8(&h, 0), u8(&h, 0); /* off */
	const uint8_t paths[] = {0, 1, 2, 3, 16, 8 | 1, 8 | 4, 8 | 4};
	for (unsigned i = 0; i < sizeof(paths); i++)
		u8(&h, OP_SPECIAL), u8(&h, 2), u8(&h, paths[i]);
	request(&h, 0, rd, 16, 0, w_read, 2);
	save("virtio_blk", "host-changes", &h);

	/* Host conditions (the byte after `more`, fuzz_virtio_blk.c): the real file through the
	 * page cache with io_uring: a write fills the cache, a read is served inline, then the
	 * image shrinks to 700 bytes and two reads of sector 0 in one batch (1024 bytes in 600 +
	 * 424) end short: the inline one and one through the ring. */
	struct seed p = {0};
	uint8_t cached[] = {0x40 | 8, 8, 4,
			    7}; /* auto aio; host: the real file, cached; 8 sectors */
	dev_header(&p, cached, sizeof(cached), false);
	uint8_t wr[16] = {1}; /* OUT, sector 0 */
	request(&p, 0, wr, 16, 2, w_status, 1);
	u8(&p, OP_SPECIAL), u8(&p, 7);
	request(&p, 0, rd, 16, 0, w_read, 2); /* IN, sector 10: IOERR; then sector 0 */
	rd[8] = 0;
	request(&p, 0, rd, 16, 0, w_read, 2);
	u8(&p, OP_SPECIAL), u8(&p, 7);
	u8(&p, OP_SPECIAL), u8(&p, 0), u8(&p, 1), le(&p, 700, 2);
	uint16_t w_split[] = {600, 424, 1};
	request(&p, 0, rd, 16, 0, w_split, 3);
	p.b[p.n - 1] = 0; /* no kick: the next one kicks both */
	request(&p, 0, rd, 16, 0, w_split, 3);
	u8(&p, OP_SPECIAL), u8(&p, 7);
	save("virtio_blk", "page-cache-short-reads", &p);

	/* The VMM_BLK_AIO override of the automatic choice: sync, io_uring, an unknown word. */
	for (uint8_t env = 1; env < 4; env++) {
		struct seed e = {0};
		uint8_t c[] = {0x40 | 8, 8, env, 7};
		dev_header(&e, c, sizeof(c), false);
		request(&e, 0, rd, 16, 0, w_read, 2);
		u8(&e, OP_SPECIAL), u8(&e, 7);
		char name[32];
		snprintf(name, sizeof(name), "aio-env-%u", env);
		save("virtio_blk", name, &e);
	}

	/* Creation with n - 1 more descriptors allowed (n = 1..15), automatic or forced io_uring:
	 * each open of the device may be the refused one. */
	for (uint8_t n = 1; n < 16; n++) {
		for (uint8_t env = 0; env < 3; env += 2) {
			struct seed f = {0};
			uint8_t c[] = {0x40 | 8, 8 | 1, (uint8_t)(n << 4 | env), 7}; /* 2 queues */
			dev_header(&f, c, sizeof(c), false);
			request(&f, 0, rd, 16, 0, w_read, 2);
			char name[32];
			snprintf(name, sizeof(name), "fd-limit-%u%s", n, env ? "-io-uring" : "");
			save("virtio_blk", name, &f);
		}
	}

	/* Migration hand-overs (special 4): without a destination, with a read-write one (taking
	 * back fails while it holds the image), and read-only on both sides (taking back works). */
	for (int ro = 0; ro < 2; ro++) {
		struct seed m = {0};
		uint8_t c[] = {(uint8_t)ro, 7};
		dev_header(&m, c, sizeof(c), false);
		request(&m, 0, rd, 16, 0, w_read, 2);
		u8(&m, OP_SPECIAL), u8(&m, 4), u8(&m, 0);
		u8(&m, OP_SPECIAL), u8(&m, 4), u8(&m, (uint8_t)(1 | 4 | (ro ? 2 : 0)));
		request(&m, 0, rd, 16, 0, w_read, 2);
		save("virtio_blk", ro ? "hand-over-ro" : "hand-over", &m);
	}
}

static void console_seeds(void)
{
	struct seed s = {0};
	dev_header(&s, NULL, 0, false);
	request(&s, 1, "hello, console\n", 15, 0, NULL, 0); /* transmitq */
	chain_on(&s, 0, 1, 1);				    /* a receive buffer */
	u8(&s, OP_SPECIAL), u8(&s, 2), u8(&s, 3), raw(&s, "ls\n", 3), u8(&s, 1), u8(&s, 0);
	u8(&s, OP_SPECIAL), u8(&s, 2), u8(&s, 0), u8(&s, 1), u8(&s, 1); /* winch */
	save("virtio_console", "tx-rx", &s);

	/* special 0: the host console stalls (1), drains some (0 + u16), all (2), all and is
	 * synchronous again (6); 1: a terminal size; 2: input, offered up to 32 times */
	struct seed f = {0};
	dev_header(&f, NULL, 0, false);
	u8(&f, OP_SPECIAL), u8(&f, 0), u8(&f, 1);
	for (int i = 0; i < 5; i++) /* 16 KiB each: the ring takes 4, the fifth is held */
		request(&f, 1, "x", 1, 32, NULL, 0);
	u8(&f, OP_REG_WRITE), u8(&f, 1), u8(&f, 31), u8(&f, 0), u8(&f, 1); /* emerg_wr: dropped */
	le(&f, 'A', 8);
	u8(&f, OP_SPECIAL), u8(&f, 0), u8(&f, 0), le(&f, 1000, 2);
	u8(&f, OP_KICK), u8(&f, 1), u8(&f, 1); /* still held */
	u8(&f, OP_SPECIAL), u8(&f, 0), u8(&f, 2);
	u8(&f, OP_KICK), u8(&f, 1), u8(&f, 1); /* finished */
	u8(&f, OP_SPECIAL), u8(&f, 0), u8(&f, 1);
	for (int i = 0; i < 5; i++)
		request(&f, 1, "x", 1, 32, NULL, 0);
	u8(&f, OP_SPECIAL), u8(&f, 0), u8(&f, 6);
	u8(&f, OP_SPECIAL), u8(&f, 1), u8(&f, 1), u8(&f, 100), u8(&f, 40);
	u8(&f, OP_SPECIAL), u8(&f, 2), u8(&f, 255);
	for (int i = 0; i < 255; i++)
		u8(&f, (uint8_t)('a' + i % 26));
	u8(&f, 0), u8(&f, 31), u8(&f, 0); /* 32 times: past the device's buffer */
	for (int i = 0; i < 3; i++)
		chain_on(&f, 0, 2, 3);
	u8(&f, OP_SPECIAL + 1), u8(&f, 0), u8(&f, 1); /* a snapshot with input held */
	chain_on(&f, 0, 2, 3);
	save("virtio_console", "full-console", &f);
}

static void rng_seeds(void)
{
	for (int limited = 0; limited < 2; limited++) {
		struct seed s = {0};
		uint8_t create[] = {(uint8_t)limited, 0, 1}; /* rate 257 B/s */
		dev_header(&s, create, limited ? 3 : 1, limited);
		for (int i = 0; i < 4; i++)
			chain_on(&s, 0, 2, 3);
		u8(&s, OP_SPECIAL), le(&s, 20000, 2), u8(&s, 0);
		u8(&s, OP_SPECIAL), le(&s, 1, 2), u8(&s, 3); /* EAGAIN */
		chain_on(&s, 0, 1, 1);
		save("virtio_rng", limited ? "rate-limited" : "unlimited", &s);
	}
}

/* virtio-vsock (fuzz_virtio_vsock.c): guest CID 3; queues rx 0, tx 1, event 2; the host listens
 * on ports 1 and 2. A packet: struct virtio_vsock_hdr (44 bytes, little endian) + payload. */
static void vsock_packet(struct seed *s, uint64_t src_cid, uint32_t src_port, uint32_t dst_port,
			 uint16_t op, uint32_t flags, const char *payload, uint32_t claimed)
{
	uint8_t p[44 + 32] = {0};
	size_t n = payload ? strlen(payload) : 0;
	uint64_t dst_cid = 2;
	uint32_t buf_alloc = 65536;
	uint16_t type = 1;

	memcpy(p, &src_cid, 8);
	memcpy(p + 8, &dst_cid, 8);
	memcpy(p + 16, &src_port, 4);
	memcpy(p + 20, &dst_port, 4);
	memcpy(p + 24, &claimed, 4);
	memcpy(p + 28, &type, 2);
	memcpy(p + 30, &op, 2);
	memcpy(p + 32, &flags, 4);
	memcpy(p + 36, &buf_alloc, 4);
	memcpy(p + 44, payload ? payload : "", n);
	request(s, 1, p, (uint8_t)(44 + n), 0, NULL, 0);
}

static void vsock_seeds(void)
{
	struct seed s = {0};
	dev_header(&s, NULL, 0, false);
	for (int i = 0; i < 4; i++)
		chain_on(&s, 0, 1, 1);		     /* rx buffers (64 bytes) */
	vsock_packet(&s, 3, 1000, 1, 1, 0, NULL, 0); /* REQUEST to host port 1 */
	u8(&s, OP_SPECIAL), u8(&s, 1);		     /* the host accepts */
	vsock_packet(&s, 3, 1000, 1, 5, 0, "hello", 5);
	u8(&s, OP_SPECIAL), u8(&s, 2), u8(&s, 0), u8(&s, 5), raw(&s, "world", 5), u8(&s, 0);
	u8(&s, OP_SPECIAL), u8(&s, 3), u8(&s, 0);    /* the host reads */
	vsock_packet(&s, 3, 1000, 1, 7, 0, NULL, 0); /* CREDIT_REQUEST */
	vsock_packet(&s, 3, 1000, 1, 4, 3, NULL, 0); /* SHUTDOWN both */
	save("virtio_vsock", "guest-connect", &s);

	struct seed h = {0};
	dev_header(&h, NULL, 0, false);
	for (int i = 0; i < 4; i++)
		chain_on(&h, 0, 1, 1);
	u8(&h, OP_SPECIAL), u8(&h, 0), u8(&h, 3), le(&h, 7000, 2); /* CONNECT 7000 */
	u8(&h, OP_SPECIAL), u8(&h, 5);
	vsock_packet(&h, 3, 7000, 0x40000000u, 2, 0, NULL, 0); /* RESPONSE */
	vsock_packet(&h, 3, 7000, 0x40000000u, 5, 0, "pong", 4);
	u8(&h, OP_SPECIAL), u8(&h, 4), u8(&h, 0);			   /* the host closes */
	u8(&h, OP_SPECIAL), u8(&h, 0), u8(&h, 8), raw(&h, "HELLO!!\n", 8); /* a bad handshake */
	save("virtio_vsock", "host-connect", &h);

	struct seed b = {0};
	dev_header(&b, NULL, 0, false);
	chain_on(&b, 0, 1, 1);
	vsock_packet(&b, 4, 1000, 1, 1, 0, NULL, 0);	   /* wrong source CID */
	vsock_packet(&b, 3, 1000, 9, 5, 0, "x", 1);	   /* RW, no such connection */
	vsock_packet(&b, 3, 1000, 1, 99, 0, NULL, 0);	   /* unknown op */
	vsock_packet(&b, 3, 1000, 1, 5, 0, "abc", 100000); /* length beyond the buffer */
	chain_on(&b, 2, 1, 1);				   /* an event buffer */
	save("virtio_vsock", "bad-input", &b);
}

/* Structured vsock operations (fuzz_virtio_vsock.c special operations 6 and 7): a packet from
 * guest port 1000 + gp to host port 1 + hp (or, `host`, from the port of CONNECT line gp to local
 * port 0x40000000 + hp); op an index of its ops[] (REQUEST, RESPONSE, RST, SHUTDOWN, RW, RW,
 * CREDIT_UPDATE, CREDIT_REQUEST), full credit; an RW carries `payload` or, when bulk_times is
 * set, bulk_times packets of 64 KiB of RAM (three buffers over the 30 KiB heap). */
enum { VS_REQUEST, VS_RESPONSE, VS_RST, VS_SHUTDOWN, VS_RW, VS_CREDIT_UPDATE = 6, VS_CREDIT_REQ };

static void vs_submit(struct seed *s, uint16_t at, unsigned bulk_pieces)
{
	le(s, at, 2), u8(s, 0); /* heap offset, not split */
	for (unsigned i = 0; i < bulk_pieces; i++)
		le(s, 0, 2);
}

static void vs_packet(struct seed *s, bool host, uint8_t gp, uint8_t hp, uint8_t op, uint8_t flags,
		      const char *payload, uint8_t bulk_times)
{
	uint8_t m = (uint8_t)(host | 2 | 4 | 8 | (bulk_times ? 16 : 0));
	u8(s, OP_SPECIAL), u8(s, 6), u8(s, m), u8(s, gp), u8(s, hp), u8(s, op);
	if (op == VS_SHUTDOWN)
		u8(s, flags - 1);
	if (op == VS_RW && bulk_times) {
		u8(s, 1), u8(s, bulk_times - 1); /* 64 KiB, repeated */
		for (unsigned i = 0; i < bulk_times; i++)
			vs_submit(s, 0x200, 3);
		return;
	}
	if (op == VS_RW) {
		u8(s, (uint8_t)strlen(payload));
		raw(s, payload, strlen(payload));
	}
	vs_submit(s, 0x100, 0);
}

/* n rx buffers of 4 KiB. */
static void vs_rx_buffers(struct seed *s, unsigned n)
{
	u8(s, OP_SPECIAL), u8(s, 7), u8(s, (uint8_t)(n - 1));
	for (unsigned i = 0; i < n; i++)
		u8(s, 2), le(s, (uint16_t)(0x1000 + 0x1000 * i), 2);
}

static void vsock_structured_seeds(void)
{
	struct seed g = {0};
	dev_header(&g, NULL, 0, false);
	vs_rx_buffers(&g, 4);
	vs_packet(&g, false, 0, 0, VS_REQUEST, 0, NULL, 0);
	u8(&g, OP_SPECIAL), u8(&g, 1); /* the host accepts */
	vs_packet(&g, false, 0, 0, VS_RW, 0, "hello", 0);
	vs_packet(&g, false, 0, 0, VS_RW, 0, NULL, 6); /* fills the host socket, then `out` */
	u8(&g, OP_SPECIAL), u8(&g, 3), u8(&g, 0);      /* the host drains: `out` is flushed */
	u8(&g, OP_SPECIAL), u8(&g, 5);
	vs_packet(&g, false, 0, 0, VS_RW, 0, NULL, 6); /* past our credit: reset */
	vs_packet(&g, false, 1, 1, VS_REQUEST, 0, NULL, 0);
	u8(&g, OP_SPECIAL), u8(&g, 1);
	vs_packet(&g, false, 1, 1, VS_CREDIT_UPDATE, 0, NULL, 0);
	vs_packet(&g, false, 1, 1, VS_SHUTDOWN, 1, NULL, 0);
	vs_packet(&g, false, 1, 1, VS_SHUTDOWN, 2, NULL, 0);
	vs_packet(&g, false, 2, 2, VS_REQUEST, 0, NULL, 0); /* port 3: nobody listens */
	vs_rx_buffers(&g, 4);
	save("virtio_vsock", "structured-guest", &g);

	struct seed h = {0};
	dev_header(&h, NULL, 0, false);
	u8(&h, OP_SPECIAL), u8(&h, 0), u8(&h, 1);	     /* CONNECT 7001 */
	u8(&h, OP_SPECIAL), u8(&h, 2), u8(&h, 0), u8(&h, 4); /* bytes before the OK */
	raw(&h, "early", 4), u8(&h, 0);
	vs_rx_buffers(&h, 2); /* the REQUEST */
	vs_packet(&h, true, 0, 0, VS_RESPONSE, 0, NULL, 0);
	vs_rx_buffers(&h, 2); /* the data */
	vs_packet(&h, true, 0, 0, VS_CREDIT_REQ, 0, NULL, 0);
	vs_packet(&h, true, 0, 0, VS_RW, 0, "pong", 0);
	u8(&h, OP_SPECIAL), u8(&h, 8), u8(&h, 4), u8(&h, 0); /* host SHUT_WR */
	u8(&h, OP_SPECIAL), u8(&h, 5);
	vs_rx_buffers(&h, 2); /* SHUTDOWN SEND to the guest */
	vs_packet(&h, true, 0, 0, VS_RST, 0, NULL, 0);
	save("virtio_vsock", "structured-host", &h);

	struct seed t = {0};
	dev_header(&t, NULL, 0, false);
	u8(&t, OP_SPECIAL), u8(&t, 8), u8(&t, 14); /* handshake timeout 0 */
	u8(&t, OP_SPECIAL), u8(&t, 0), u8(&t, 2);  /* a silent host connection: expires */
	u8(&t, OP_SPECIAL), u8(&t, 5);
	u8(&t, OP_SPECIAL), u8(&t, 5);
	u8(&t, OP_SPECIAL), u8(&t, 8), u8(&t, 0), u8(&t, 39); /* 40 silent ones: past the limit */
	u8(&t, OP_SPECIAL), u8(&t, 5);
	const uint8_t paths[] = {0, 1, 2, 3, 4, 28, 5, 6};
	for (unsigned k = 0; k < sizeof(paths); k++) /* socket paths, create */
		u8(&t, OP_SPECIAL), u8(&t, 9), u8(&t, paths[k]);
	u8(&t, 1);						/* the last one: CID 2 */
	u8(&t, OP_SPECIAL), u8(&t, 7), u8(&t, 8), le(&t, 0, 2); /* an event buffer */
	u8(&t, OP_SPECIAL + 1), u8(&t, 0), u8(&t, 1);		/* snapshot: TRANSPORT_RESET */
	u8(&t, OP_SPECIAL), u8(&t, 7), u8(&t, 8), le(&t, 0, 2);
	save("virtio_vsock", "handshakes-paths-snapshot", &t);
}

/* virtio-gpu (fuzz_virtio_gpu.c): a special operation of n structured commands (types[] indices
 * below), aimed at resource ids 1-4 with 32 x 16 images that fit the fake RAM. Each command goes
 * to the controlq or cursorq as a chain when the device runs (`dev`), otherwise straight to the
 * command state. */
enum {
	GPU_INFO,
	GPU_CREATE,
	GPU_UNREF = 3,
	GPU_SCANOUT,
	GPU_FLUSH,
	GPU_TRANSFER,
	GPU_ATTACH = 8,
	GPU_DETACH = 10,
	GPU_CURSOR,
	GPU_MOVE,
	GPU_EDID
};

static void gpu_special(struct seed *s, unsigned ncmds)
{
	u8(s, OP_SPECIAL), u8(s, 1), u8(s, (uint8_t)(ncmds - 1));
}

static void gpu_type(struct seed *s, uint8_t type)
{
	u8(s, 1), u8(s, type); /* an index of types[] */
}

static void gpu_id(struct seed *s, uint32_t id)
{
	u8(s, (uint8_t)(id + 3)); /* pick_id: 1 + m % 4 */
}

static void gpu_rect(struct seed *s, uint8_t x, uint8_t y, uint8_t w, uint8_t h)
{
	u8(s, x), u8(s, y), u8(s, w - 1), u8(s, h - 1), u8(s, 5); /* as given */
}

/* The end of a command: fenced or not, not cut, a response buffer; then fz_dev_submit()'s heap
 * offset and whether the request is split in two buffers (only when the device runs). */
static void gpu_end(struct seed *s, bool dev, uint16_t at, bool fence, uint8_t split)
{
	u8(s, fence);
	if (fence)
		le(s, 0x1234, 8);
	u8(s, 1), u8(s, 1);
	if (!dev)
		return;
	le(s, at, 2), u8(s, split != 0);
	if (split)
		u8(s, split - 1);
}

/* Creates id (format index f, 32 x 16), attaches backing in two entries, transfers it whole,
 * shows it and flushes a part: 5 commands. */
static void gpu_show(struct seed *s, bool dev, uint32_t id, uint8_t f)
{
	const uint8_t w = 32, h = 16;

	gpu_type(s, GPU_CREATE), gpu_id(s, id);
	u8(s, 1), u8(s, f), u8(s, 2), u8(s, w - 1), u8(s, h - 1);
	gpu_end(s, dev, 0x100, id & 1, 0);
	gpu_type(s, GPU_ATTACH), u8(s, 1), gpu_id(s, id); /* 2 entries */
	le(s, w * h * 2, 2);				  /* the first one's length: half */
	le(s, 0x9000 + 0x800 * id, 2);			  /* in RAM past the rings */
	le(s, 0xa000 + 0x800 * id, 2);
	u8(s, 4), u8(s, 1); /* no damage, nr_entries right */
	gpu_end(s, dev, 0x301, false, 8);
	gpu_type(s, GPU_TRANSFER), gpu_id(s, id);
	gpu_rect(s, 0, 0, w, h);
	u8(s, 1); /* the offset of the rect */
	gpu_end(s, dev, 0x400, false, 0);
	gpu_type(s, GPU_SCANOUT), u8(s, 1), gpu_id(s, id), u8(s, 1); /* scanout 0 */
	gpu_rect(s, 0, 0, w, h);
	gpu_end(s, dev, 0x500, false, 0);
	gpu_type(s, GPU_FLUSH), gpu_id(s, id);
	gpu_rect(s, 4, 2, 8, 8);
	gpu_end(s, dev, 0x600, false, 0);
}

static void gpu_seeds(void)
{
	for (int dev = 0; dev < 2; dev++) {
		struct seed s = {0};
		if (dev)
			dev_header(&s, NULL, 0, false);
		else
			u8(&s, 4); /* not brought up: the commands run straight */
		for (uint32_t id = 1; id <= 4; id++) {
			gpu_special(&s, 5);
			gpu_show(&s, dev, id, (uint8_t)(4 * dev + id - 1));
		}
		gpu_special(&s, 5);
		gpu_type(&s, GPU_CURSOR);
		u8(&s, 1), u8(&s, 2), u8(&s, 10), u8(&s, 2), u8(&s, 20); /* scanout 0 at 10, 20 */
		u8(&s, 1), gpu_id(&s, 1), u8(&s, 2), u8(&s, 1), u8(&s, 2), u8(&s, 1);
		gpu_end(&s, dev, 0x700, false, 0);
		gpu_type(&s, GPU_INFO), u8(&s, 0);
		gpu_end(&s, dev, 0x800, true, 0);
		gpu_type(&s, GPU_DETACH), gpu_id(&s, 2);
		gpu_end(&s, dev, 0x900, false, 0);
		gpu_type(&s, GPU_UNREF), gpu_id(&s, 1); /* the cursor's */
		gpu_end(&s, dev, 0xa00, false, 0);
		gpu_type(&s, GPU_UNREF), gpu_id(&s, 4); /* the scanout's */
		gpu_end(&s, dev, 0xb00, false, 0);
		if (dev) {
			gpu_special(&s, 1);
			gpu_type(&s, GPU_SCANOUT), u8(&s, 1), gpu_id(&s, 3), u8(&s, 1);
			gpu_rect(&s, 0, 0, 32, 16);
			gpu_end(&s, dev, 0x500, false, 0);
			u8(&s, OP_SPECIAL + 1), u8(&s, 0), u8(&s, 1); /* snapshot, state as saved */
			gpu_special(&s, 1);
			gpu_type(&s, GPU_FLUSH), gpu_id(&s, 3);
			gpu_rect(&s, 0, 0, 32, 16);
			gpu_end(&s, dev, 0xc00, false, 0);
		}
		u8(&s, OP_SPECIAL), u8(&s, 0), le(&s, 800, 2), le(&s, 600, 2); /* resize */
		save("virtio_gpu", dev ? "device" : "direct", &s);
	}
}

/* virtio-balloon (fuzz_virtio_balloon.c): create byte = target MiB (0-4) | 8 statistics | 16
 * deflate-on-oom | 32 free page reporting; queues inflate 0, deflate 1, then stats 2 and
 * reporting 3 (with every feature bit accepted). PFN chains carry page numbers of the fake RAM
 * (0x100000: pfn 0x100..0x10f) and some outside it. */
static void balloon_seeds(void)
{
	const uint32_t pfns[] = {0x100, 0x101, 0x10f, 0x101, 0, 0xd0000, 0xffffffff, 0x102};
	const uint8_t stats[] = {4, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0x40, 0, 0, 0, 0, 0, 0, 0};

	for (int all = 0; all < 2; all++) {
		struct seed s = {0};
		uint8_t create = all ? 1 | 8 | 16 | 32 : 1;
		dev_header(&s, &create, 1, all);
		request(&s, 0, pfns, sizeof(pfns), 0, NULL, 0); /* inflate */
		request(&s, 1, pfns, 8, 0, NULL, 0);		/* deflate two */
		if (all) {
			request(&s, 2, stats, sizeof(stats), 0, NULL, 0);
			chain_on(&s, 3, 2, 3); /* report two writable buffers */
		}
		u8(&s, OP_SPECIAL), u8(&s, 5), u8(&s, 0); /* the timer fired */
		u8(&s, OP_SPECIAL), u8(&s, 1), u8(&s, 2); /* target 2 MiB */
		u8(&s, OP_SPECIAL), u8(&s, 3), u8(&s, 4); /* actual */
		u8(&s, OP_SPECIAL), u8(&s, 4), u8(&s, 0); /* save and restore */
		request(&s, 0, pfns, sizeof(pfns), 0, NULL, 0);
		save("virtio_balloon", all ? "every-feature" : "inflate-deflate", &s);
	}
}

/* virtio-mem (fuzz_virtio_mem.c): create byte 0 = 2 MiB blocks; the region is 256 MiB at 4 GiB;
 * guest-request is queue 0; a request is struct virtio_mem_req (24 bytes), the response 10. Special
 * operations: 0 requested_size (arg blocks), 1 the eventfd, 2 backend failures (every arg-th), 3
 * the plugged runs walked. */
static void mem_request(struct seed *s, uint16_t type, uint64_t addr, uint16_t nb)
{
	uint8_t r[24] = {0};
	const uint16_t w[] = {10};

	r[0] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		r[8 + i] = (uint8_t)(addr >> (8 * i));
	r[16] = (uint8_t)nb, r[17] = (uint8_t)(nb >> 8);
	request(s, 0, r, sizeof(r), 0, w, 1);
}

static void mem_seeds(void)
{
	const uint64_t base = 0x100000000ull, mib = 1ull << 20;
	struct seed s = {0};
	uint8_t create = 0;

	dev_header(&s, &create, 1, false);
	u8(&s, OP_SPECIAL), u8(&s, 0), u8(&s, 8); /* requested: 8 blocks */
	u8(&s, OP_SPECIAL), u8(&s, 1), u8(&s, 0); /* the config interrupt */
	mem_request(&s, 0, base, 4);		  /* PLUG: ACK */
	mem_request(&s, 3, base, 8);		  /* STATE: MIXED */
	mem_request(&s, 1, base + 2 * mib, 1);	  /* UNPLUG: ACK */
	mem_request(&s, 0, base + 16 * mib, 6);	  /* PLUG: NACK */
	mem_request(&s, 0, base + 4096, 1);	  /* ERROR: unaligned */
	mem_request(&s, 0, base + 200 * mib, 1);  /* ERROR: outside the usable region */
	u8(&s, OP_SPECIAL), u8(&s, 2), u8(&s, 1); /* the backend fails */
	mem_request(&s, 2, 0, 0);		  /* UNPLUG_ALL: BUSY */
	u8(&s, OP_SPECIAL), u8(&s, 2), u8(&s, 0);
	mem_request(&s, 2, 0, 0); /* UNPLUG_ALL: ACK */
	mem_request(&s, 0, base + 8 * mib, 2);
	save("virtio_mem", "plug-unplug", &s);

	/* The snapshot writer's walk (special 3) over runs with holes: blocks 0-3 plugged, 1
	 * unplugged, 6-7 plugged; then none. */
	struct seed w = {0};
	dev_header(&w, &create, 1, false);
	u8(&w, OP_SPECIAL), u8(&w, 0), u8(&w, 8);
	mem_request(&w, 0, base, 4);
	mem_request(&w, 1, base + 2 * mib, 1);
	mem_request(&w, 0, base + 12 * mib, 2);
	u8(&w, OP_SPECIAL), u8(&w, 3), u8(&w, 0);
	mem_request(&w, 2, 0, 0);
	u8(&w, OP_SPECIAL), u8(&w, 3), u8(&w, 0);
	save("virtio_mem", "plugged-runs", &w);
}

/* virtio-pmem (fuzz_virtio_pmem.c): create byte bits 0-1 size (2 MiB << n), bit 2 read-only;
 * req_vq is queue 0: a le32 type (FLUSH 0) and a 4-byte response. Special operations: 0 wait and
 * answer, 1 a spurious wakeup, 2 fsync fails (0x80) or not, 3 pause, save and restore. */
static void pmem_seeds(void)
{
	const uint8_t flush[4] = {0}, other[4] = {9};
	const uint16_t w[] = {4};

	for (int ro = 0; ro < 2; ro++) {
		struct seed s = {0};
		uint8_t create = ro ? 4 : 1;

		dev_header(&s, &create, 1, ro);
		request(&s, 0, flush, 4, 0, w, 1);
		request(&s, 0, flush, 4, 0, w, 1);
		u8(&s, OP_SPECIAL), u8(&s, 0);
		request(&s, 0, other, 4, 0, w, 1);
		u8(&s, OP_SPECIAL), u8(&s, 2 | 0x80);
		request(&s, 0, flush, 4, 0, w, 1);
		u8(&s, OP_SPECIAL), u8(&s, 3);
		u8(&s, OP_SPECIAL), u8(&s, 2);
		request(&s, 0, flush, 4, 0, w, 1);
		u8(&s, OP_SPECIAL), u8(&s, 0);
		save("virtio_pmem", ro ? "read-only" : "flush", &s);
	}
}

/* virtio-net (fuzz_virtio_net.c): create byte (bit 0 vnet header, bits 1-3 offload caps); queues
 * rx 0, tx 1, ctrl 2; MRG_RXBUF is in the accepted features, so small rx buffers take frames. */
static void net_seeds(void)
{
	for (int hdr = 0; hdr < 2; hdr++) {
		struct seed s = {0};
		uint8_t create = hdr ? 1 | 1 << 1 : 0; /* vnet header + TUN_F_CSUM */
		dev_header(&s, &create, 1, hdr);
		uint8_t tx[12 + 60] = {0};
		memset(tx + 12, 0xff, 6); /* broadcast */
		memcpy(tx + 18, "\x52\x54\x00\x12\x34\x56\x08\x06", 8);
		request(&s, 1, tx, sizeof(tx), 0, NULL, 0);
		for (int i = 0; i < 4; i++)
			chain_on(&s, 0, 2, 3); /* rx: two writable 64-byte buffers */
		u8(&s, OP_SPECIAL), u8(&s, 1), u8(&s, 0), u8(&s, 42);
		for (int i = 0; i < 42; i++)
			u8(&s, (uint8_t)i);
		u8(&s, OP_SPECIAL), u8(&s, 1 | 8), u8(&s, 2), u8(&s, 0), u8(&s, 0x5a); /* 1514 */
		uint16_t ack[] = {1};
		static const uint8_t promisc[] = {0, 0, 1};
		static const uint8_t mac_set[] = {1, 1, 0x52, 0x54, 0, 1, 2, 3};
		static const uint8_t mac_table[] = {1, 0, 1,  0,  0, 0, 2, 4,
						    6, 8, 10, 12, 0, 0, 0, 0};
		request(&s, 2, promisc, sizeof(promisc), 0, ack, 1);
		request(&s, 2, mac_set, sizeof(mac_set), 0, ack, 1);
		request(&s, 2, mac_table, sizeof(mac_table), 0, ack, 1);
		u8(&s, OP_STATUS), u8(&s, 0), u8(&s, 0); /* reset with a frame pending */
		u8(&s, OP_SPECIAL), u8(&s, 1 | 2 | 4), u8(&s, 0), u8(&s, 20);
		for (int i = 0; i < 20; i++)
			u8(&s, 0xee);
		save("virtio_net", hdr ? "vnet-hdr-packed" : "plain-split", &s);
	}
}

/* virtio-pci (fuzz_virtio_pci.c): ops 8 bring-up, 9/10 BAR 0 read/write, 11 MSI-X BAR, 12 config
 * space, 13 status, 14 notify, 15 wild MMIO, 16 misc (MSI-X on/off, 6 mod 8: a queue's eventfd,
 * 7 mod 8: a snapshot). */
enum { PCI_BRING_UP = 8, PCI_BAR0_RD, PCI_BAR0_WR, PCI_MSIX, PCI_CFG, PCI_STATUS_OP };
enum { PCI_MISC = 16, PCI_IRQFD = 6, PCI_SNAPSHOT = 7 };

static void pci_bring_up(struct seed *s, uint8_t how)
{
	le(s, 0x30ffffffull | 1ull << 32 | (how & 4 ? 1ull << 34 : 0), 8);
	u8(s, how);
}

static void virtio_pci_seeds(void)
{
	for (int msix = 0; msix < 2; msix++) {
		struct seed s = {0};
		u8(&s, 0x40 | 4); /* bring up at once, queue size 16 */
		u8(&s, 1);	  /* two queues */
		pci_bring_up(&s, (uint8_t)(msix | 2));
		uint16_t w[] = {64};
		request(&s, 0, "ping", 4, 0, w, 1);
		chain_on(&s, 1, 2, 2);
		u8(&s, PCI_BAR0_RD), u8(&s, 1), u8(&s, 0), u8(&s, 0); /* ISR, 1 byte */
		/* move BAR 0 (ECAM path), then turn memory decoding off and on */
		u8(&s, PCI_CFG), u8(&s, 0x81), u8(&s, 0), u8(&s, 0), u8(&s, 0), le(&s, 0x100, 2);
		u8(&s, PCI_CFG), u8(&s, 0x80), u8(&s, 1), le(&s, 0, 2);
		u8(&s, PCI_CFG), u8(&s, 0x80), u8(&s, 0), le(&s, 2, 2);
		request(&s, 0, "pong", 4, 0, w, 1);
		/* MSI-X table entry 1 read, PBA read */
		u8(&s, PCI_MSIX), u8(&s, 0), le(&s, 16, 2), u8(&s, 2), le(&s, 0, 8);
		u8(&s, PCI_MSIX), u8(&s, 1), u8(&s, 0), u8(&s, 3), le(&s, 0, 8);
		/* the configuration access window: read the common config's num_queues */
		u8(&s, PCI_CFG), u8(&s, 3), u8(&s, 0), u8(&s, 1), u8(&s, 0), u8(&s, 0x12),
		    u8(&s, 1), u8(&s, 1), le(&s, 0, 4);
		u8(&s, PCI_STATUS_OP), u8(&s, 0), u8(&s, 0); /* reset mid-I/O */
		u8(&s, PCI_BRING_UP), pci_bring_up(&s, (uint8_t)(msix ? 0 : 1));
		request(&s, 1, "again", 5, 0, w, 1);
		save("virtio_pci", msix ? "msix" : "intx", &s);
	}
	/* A device served elsewhere (eventfds per vector) on three queues, a net device's ID: every
	 * queue's eventfd asked for, vector 1 masked and asked again, the routing refused once;
	 * then a snapshot restored into the same function (unaltered) or into a new one (with the
	 * config vector moved past the table: refused), and I/O after it. */
	for (int fresh = 0; fresh < 2; fresh++) {
		struct seed s = {0};
		u8(&s, 0x40 | 4);	 /* bring up at once, queue size 16 */
		u8(&s, 0x10 | 0x04 | 2); /* three queues, net, eventfds */
		pci_bring_up(&s, 1 | 2);
		uint16_t w[] = {64};
		request(&s, 0, "ping", 4, 0, w, 1);
		for (uint8_t q = 0; q < 4; q++)
			u8(&s, PCI_MISC), u8(&s, PCI_IRQFD), u8(&s, q);
		/* mask vector 1 (control word of entry 1), ask for queue 0's eventfd (vector 1) */
		u8(&s, PCI_MSIX), u8(&s, 2), le(&s, 16 + 12, 2), u8(&s, 2), le(&s, 1, 8);
		u8(&s, PCI_MISC), u8(&s, PCI_IRQFD), u8(&s, 0);
		u8(&s, PCI_MISC), u8(&s, PCI_IRQFD), u8(&s, 0x81); /* the VMM cannot route now */
		u8(&s, PCI_MISC), u8(&s, PCI_IRQFD), u8(&s, 1);
		u8(&s, PCI_MISC), u8(&s, PCI_SNAPSHOT), u8(&s, (uint8_t)fresh);
		if (fresh) /* one byte changed: config_vector's low byte = 0x7f */
			u8(&s, 0), u8(&s, 0), u8(&s, 0), u8(&s, 0x7f), le(&s, 0, 2);
		else
			u8(&s, 1); /* unchanged */
		request(&s, 1, "after", 5, 0, w, 1);
		u8(&s, PCI_MISC), u8(&s, PCI_IRQFD), u8(&s, 2);
		save("virtio_pci", fresh ? "irqfd-snapshot-new-function" : "irqfd-snapshot", &s);
	}
}

/* pci_config (fuzz_pci_config.c): the bus description, then ops 0 conf1, 1 ECAM, 2 direct,
 * 3 BAR sizing, 4-5 BAR accesses. */
static void pci_config_seeds(void)
{
	struct seed s = {0};
	u8(&s, 1); /* two functions */
	/* function 0: INTA, BAR 0 64-bit 4 KiB, BAR 2 4 KiB; one capability; MSI-X in BAR 0 */
	u8(&s, 1), u8(&s, 0x05), u8(&s, 0x40 | 8), u8(&s, 8);
	u8(&s, 1), u8(&s, 9), u8(&s, 14), u8(&s, 1);
	u8(&s, 1), u8(&s, 3);
	u8(&s, 3); /* device 3 */
	/* function 1: no pin, BAR 0 prefetchable 256 B, first free slot */
	u8(&s, 0), u8(&s, 0x01), u8(&s, 0x80 | 4), u8(&s, 0), u8(&s, 0), u8(&s, 0x80);
	/* conf1: latch 00:03.0 reg 0, read 4 bytes at 0xCFC */
	u8(&s, 0), u8(&s, 3), u8(&s, 0), u8(&s, 6), u8(&s, 0), u8(&s, 3), u8(&s, 2), u8(&s, 0),
	    le(&s, 0, 8);
	u8(&s, 3), u8(&s, 0), u8(&s, 0); /* size BAR 0 */
	/* ECAM: command = 0 then 2 (memory off, on), BAR 0 moved to 0xf0100000 */
	u8(&s, 1), u8(&s, 10), u8(&s, 1), u8(&s, 1), u8(&s, 3), u8(&s, 3), u8(&s, 1), le(&s, 0, 4);
	u8(&s, 1), u8(&s, 10), u8(&s, 1), u8(&s, 1), u8(&s, 3), u8(&s, 3), u8(&s, 1), le(&s, 2, 4);
	u8(&s, 1), u8(&s, 10), u8(&s, 0), u8(&s, 0), u8(&s, 3), u8(&s, 0), u8(&s, 0),
	    le(&s, 0x100, 2);
	u8(&s, 4), u8(&s, 0), u8(&s, 0), u8(&s, 3), le(&s, 0x10, 2), le(&s, 0x1234, 8), u8(&s, 0);
	/* direct read of an absent function */
	u8(&s, 2), u8(&s, 0), u8(&s, 0), u8(&s, 0xf8), u8(&s, 2), u8(&s, 0), u8(&s, 3), u8(&s, 1),
	    le(&s, 0, 4);
	save("pci_config", "two-functions", &s);
}

/* ---- loaders (fuzz_loaders.c) ---- */

static void loader_header(struct seed *s, uint8_t mode, const char *cmdline, uint32_t initrd,
			  uint8_t flags)
{
	u8(s, mode);
	u8(s, 0x7f); /* 2.5 MiB of low RAM */
	u8(s, (uint8_t)strlen(cmdline));
	u8(s, 1); /* 2 cpus */
	le(s, initrd, 4);
	u8(s, flags);
	raw(s, cmdline, strlen(cmdline));
}

/* A minimal ELF64 PVH kernel: one PT_LOAD at 1 MiB, a PT_NOTE with XEN_ELFNOTE_PHYS32_ENTRY. */
static void pvh_elf(struct seed *s)
{
	size_t base = s->n;
	uint8_t *e = s->b + base;
	memset(e, 0, 64 + 2 * 56 + 24 + 16);
	memcpy(e,
	       "\x7f"
	       "ELF\x02\x01\x01",
	       7);
	e[16] = 2;  /* ET_EXEC */
	e[18] = 62; /* EM_X86_64 */
	e[20] = 1;
	uint64_t entry = 0x100000, phoff = 64, notes = 64 + 2 * 56, code = notes + 24;
	memcpy(e + 24, &entry, 8);
	memcpy(e + 32, &phoff, 8);
	e[52] = 64, e[54] = 56, e[56] = 2; /* ehsize, phentsize, phnum */
	uint8_t *ph = e + 64;
	uint32_t type = 1, flags = 5;
	uint64_t size = 16, paddr = 0x100000;
	memcpy(ph, &type, 4), memcpy(ph + 4, &flags, 4), memcpy(ph + 8, &code, 8);
	memcpy(ph + 16, &paddr, 8), memcpy(ph + 24, &paddr, 8);
	memcpy(ph + 32, &size, 8), memcpy(ph + 40, &size, 8);
	ph += 56;
	type = 4, size = 24;
	memcpy(ph, &type, 4), memcpy(ph + 8, &notes, 8), memcpy(ph + 32, &size, 8);
	memcpy(ph + 40, &size, 8);
	uint32_t note[6] = {4, 4, 18, 0x006e6558 /* "Xen\0" */, 0x100000, 0};
	memcpy(e + notes, note, 20);
	e[code] = 0xf4; /* hlt */
	s->n += code + 16;
}

/* A minimal bzImage: protocol 2.15, 64-bit entry, one setup sector, a 1 KiB "kernel". */
static void bzimage(struct seed *s)
{
	uint8_t *b = s->b + s->n;
	size_t len = 2 * 512 + 1024;
	memset(b, 0, len);
	b[0x1f1] = 1;		      /* setup_sects */
	uint32_t syssize = 1024 / 16; /* paragraphs */
	memcpy(b + 0x1f4, &syssize, 4);
	b[0x1fe] = 0x55, b[0x1ff] = 0xaa; /* boot_flag */
	b[0x200] = 0xeb, b[0x201] = 0x6a; /* jump: header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	b[0x206] = 0x0f, b[0x207] = 0x02; /* version 2.15 */
	b[0x211] = 1;			  /* LOADED_HIGH */
	uint32_t v = 0x7fffffff;
	memcpy(b + 0x22c, &v, 4); /* initrd_addr_max */
	v = 0x200000;
	memcpy(b + 0x230, &v, 4); /* kernel_alignment */
	b[0x236] = 1;		  /* XLF_KERNEL_64 */
	v = 2048;
	memcpy(b + 0x238, &v, 4); /* cmdline_size */
	uint64_t pref = 0x100000;
	memcpy(b + 0x258, &pref, 8);
	v = 0x100000;
	memcpy(b + 0x260, &v, 4); /* init_size */
	s->n += len;
}

static void loader_seeds(void)
{
	struct seed s = {0};
	loader_header(&s, 0, "", 0, 0);
	pvh_elf(&s);
	save("loaders", "pvh-elf", &s);
	s.n = 0;
	loader_header(&s, 1, "", 0, 0);
	bzimage(&s);
	save("loaders", "bzimage", &s);
	s.n = 0;
	loader_header(&s, 2, "console=ttyS0 quiet", 4096, 8);
	pvh_elf(&s);
	save("loaders", "boot-pvh-initrd", &s);
	s.n = 0;
	loader_header(&s, 3, "console=ttyS0", 8192, 8 | 1);
	bzimage(&s);
	save("loaders", "boot-bzimage-initrd-high-ram", &s);
}

/* ---- cli, uart ---- */

static void cli_seed(const char *name, const char *args, size_t len)
{
	struct seed s = {0};
	u8(&s, 2);		  /* MiB */
	u8(&s, 1), u8(&s, 1);	  /* lo = 1 */
	u8(&s, 1), le(&s, 64, 2); /* hi = 64 */
	raw(&s, args, len);
	save("cli", name, &s);
}

#define CLI(name, lit) cli_seed(name, lit, sizeof(lit) - 1)

static void uart_seeds(void)
{
	static const uint8_t linux_init[] = {
	    1,	  5, 0x80,				  /* LCR: DLAB */
	    1,	  2, 0x01,				  /* DLL */
	    1,	  3, 0x00,				  /* DLM */
	    1,	  5, 0x03,				  /* LCR: 8N1 */
	    1,	  4, 0xc7,				  /* FCR: FIFO on, clear, trigger 14 */
	    1,	  6, 0x0b,				  /* MCR: DTR RTS OUT2 */
	    1,	  3, 0x0f,				  /* IER: all */
	    0,	  4,					  /* IIR */
	    1,	  2, 'h',				  /* THR */
	    0,	  4,					  /* IIR: THRE */
	    2,	  0, 5,	   'a', 'b', 'c', 'd', 'e',	  /* host input */
	    0,	  7,					  /* LSR */
	    0,	  4,					  /* IIR: data */
	    0,	  2, 0,	   2,	0,   2,	  0,   2,   0, 2, /* RBR x5 */
	    1,	  6, 0x1b,				  /* MCR: loopback */
	    1,	  2, 'x',  0,	2,			  /* echo through loopback */
	    0x41, 2, 2,	   0,	0,   0,	  0,		  /* 4-byte write across ports */
	};
	struct seed s = {0};
	raw(&s, linux_init, sizeof(linux_init));
	save("uart8250", "linux-init", &s);
}

/* fuzz_fw_cfg.c: op byte, port byte (0x50e + b), then the op's fields. */
static void fw_cfg_pio(struct seed *s, bool write, uint8_t port_off, uint8_t wlog, uint64_t v)
{
	u8(s, write ? 1 : 0);
	u8(s, port_off);
	u8(s, wlog);
	if (write)
		le(s, v, 1 << wlog);
}

/* A DMA op: descriptor and buffer both in low RAM (address kind 2: a u16). */
static void fw_cfg_dma(struct seed *s, uint16_t desc, uint32_t control, uint32_t len, uint16_t addr)
{
	u8(s, 2);
	u8(s, 0);
	u8(s, 2);
	le(s, desc, 2);
	le(s, control, 4);
	le(s, len, 4);
	u8(s, 0); /* started by the 4-byte write at 0x518 */
	u8(s, 2);
	le(s, addr, 2);
}

static void fw_cfg_seeds(void)
{
	struct seed s = {0};
	fw_cfg_pio(&s, true, 2, 1, 0x0000); /* select the signature */
	for (int i = 0; i < 4; i++)
		fw_cfg_pio(&s, false, 3, 0, 0);
	fw_cfg_pio(&s, true, 2, 1, 0x0001); /* FW_CFG_ID */
	for (int i = 0; i < 4; i++)
		fw_cfg_pio(&s, false, 3, 0, 0);
	fw_cfg_pio(&s, false, 6, 3, 0); /* the DMA signature */
	save("fw_cfg", "probe", &s);

	s.n = 0;
	fw_cfg_dma(&s, 0x1000, 0x0019000a, 0x200, 0x2000); /* select+read the directory */
	fw_cfg_dma(&s, 0x1000, 0x0020000a, 40, 0x3000);	   /* etc/e820 */
	fw_cfg_dma(&s, 0x1000, 0x00210004, 4, 0);	   /* select bootorder, skip 4 */
	fw_cfg_dma(&s, 0x1000, 0x00000002, 0x100, 0x3000); /* read the rest */
	save("fw_cfg", "dma-read", &s);

	s.n = 0;
	u8(&s, 3); /* RAM: "ABCD" at 0x2000 */
	u8(&s, 0);
	u8(&s, 2);
	le(&s, 0x2000, 2);
	u8(&s, 4);
	raw(&s, (const uint8_t *)"ABCD", 4);
	fw_cfg_dma(&s, 0x1000, 0x00220018, 4, 0x2000);	/* select etc/rw, write 4 */
	fw_cfg_dma(&s, 0x1000, 0x00000010, 16, 0x2000); /* past its end: error */
	fw_cfg_dma(&s, 0x1000, 0x00230018, 4, 0x2000);	/* read-only: error */
	fw_cfg_dma(&s, 0x1000, 0x0022000a, 16, 0xfff8); /* buffer past RAM: error */
	save("fw_cfg", "dma-write", &s);

	/* --firmware with --kernel: the option ROM's loads (select+read of the kernel data, 0x11,
	 * and the initrd, 0x12, to their addresses), then a read of the setup size item byte by
	 * byte and a DMA read of the command line past its end into the last bytes of RAM. */
	s.n = 0;
	fw_cfg_pio(&s, true, 2, 1, 0x0008); /* FW_CFG_KERNEL_SIZE */
	for (int i = 0; i < 4; i++)
		fw_cfg_pio(&s, false, 3, 0, 0);
	fw_cfg_dma(&s, 0x0800, 0x0011000a, 3000, 0x4000);
	fw_cfg_dma(&s, 0x0800, 0x0012000a, 700, 0x8000);
	fw_cfg_dma(&s, 0x0800, 0x0015000a, 0x100, 0xff80);
	save("fw_cfg", "direct-boot", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	ring_seeds("split_ring", false);
	fw_cfg_seeds();
	ring_seeds("packed_ring", true);
	mmio_seeds();
	blk_seeds();
	console_seeds();
	vsock_seeds();
	vsock_structured_seeds();
	gpu_seeds();
	rng_seeds();
	balloon_seeds();
	mem_seeds();
	pmem_seeds();
	net_seeds();
	virtio_pci_seeds();
	pci_config_seeds();
	loader_seeds();
	CLI("minimal", "--kernel\0/boot/vmlinuz");
	CLI("everything", "-k\0k\0--initrd\0i\0--append\0console=ttyS0\0--mem\0"
			  "2G\0--cpus\0004\0--console\0file:/tmp/out\0--debug-exit\0-v\0-v\0--kvm\0"
			  "/dev/kvm");
	CLI("help", "--help");
	CLI("balloon",
	    "-k\0k\0--balloon\0size=64,stats=5s,deflate-on-oom=on,free-page-reporting=on");
	CLI("sizes", "--mem\0004096K\0-m\0001GiB\0-k\0x\0--console\0none\0-q");
	/* ",," is a comma inside a path (base/options.h) */
	CLI("comma-paths",
	    "-k\0k\0--disk\0/tmp/a,,b.img,ro\0--pmem\0path=/tmp/p,,m,id=p\0--vsock\0"
	    "cid=3,uds=/tmp/v,,s\0--console\0file:/tmp/o,,t\0--fs\0tag=t,socket=/tmp/"
	    "f,,s\0--landlock-rules\0/tmp/l,,r:rw");
	uart_seeds();
	return 0;
}
