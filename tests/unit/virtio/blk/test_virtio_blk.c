/* Tests of the virtio-blk device (virtio/blk/blk.c, disk.c, io.c) driven by the mock driver
 * over fake guest RAM, with a temporary file as the disk. Every request test runs on both I/O
 * engines (suites blk_sync and blk_uring); kicks run inline, and io_uring completions are
 * delivered by calling the device's registered eventfd handler, as the I/O thread would. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/sandbox/sandbox.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/blk_test.h"
#include "virtio/blk/disk.h"
#include "virtio/transport/virtio_mmio.h"
#include "virtio/transport/virtio_mmio_test.h"
#include "vmm/vm/vcpu.h"

#define QSIZE	     256
#define DISK_SECTORS 64u /* 32 KiB */
#define RAM_SIZE     (8ull << 20)
#define UNTOUCHED    0xee /* status bytes and spare guest bytes start as this */

#define ALL_FEATURES                                                                               \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_DISCARD |  \
	 1ull << VIRTIO_BLK_F_WRITE_ZEROES | 1ull << VIRTIO_BLK_F_RO |                             \
	 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_SEG_MAX |                            \
	 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_RING_F_INDIRECT_DESC |                     \
	 1ull << VIRTIO_RING_F_EVENT_IDX)

struct fx {
	struct mock_ram ram;
	struct mock_vq mv;
	bool mv_ready;
	struct virtio_dev *dev;
	char path[64];
	int fd; /* the test's own descriptor on the disk file */
	bool packed;
	uint16_t next_id;
};

static struct fx F;

/* Initial content of byte `off` of the disk: differs between neighbouring bytes and sectors. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512 + 1);
}

static void make_disk(uint64_t bytes)
{
	strcpy(F.path, "/tmp/test_vblk.XXXXXX");
	F.fd = mkstemp(F.path);
	cr_assert_geq(F.fd, 0);
	uint8_t *buf = malloc(bytes);
	for (uint64_t i = 0; i < bytes; i++)
		buf[i] = pattern(i);
	cr_assert_eq(pwrite(F.fd, buf, bytes, 0), (ssize_t)bytes);
	free(buf);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	cr_assert_eq(pread(F.fd, buf, len, (off_t)off), (ssize_t)len);
}

/* True when the file still holds the initial pattern over [off, off+len). */
static bool file_is_pattern(uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	file_read(off, buf, len);
	bool same = true;
	for (size_t i = 0; i < len; i++)
		same &= buf[i] == pattern(off + i);
	free(buf);
	return same;
}

static bool file_is_zero(uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	file_read(off, buf, len);
	bool zero = true;
	for (size_t i = 0; i < len; i++)
		zero &= buf[i] == 0;
	free(buf);
	return zero;
}

/* The driver side of 3.1.1: features (those offered among `want`), one queue, DRIVER_OK. */
static void handshake(uint64_t want)
{
	struct virtio_dev *d = F.dev;
	uint64_t offered =
	    (uint64_t)virtio_dev_get_features(d, 1) << 32 | virtio_dev_get_features(d, 0);
	uint64_t f = offered & want;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	virtio_dev_set_status(d, s);
	virtio_dev_set_features(d, 0, (uint32_t)f);
	virtio_dev_set_features(d, 1, (uint32_t)(f >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_dev_set_status(d, s);
	cr_assert(d->status & VIRTIO_CONFIG_S_FEATURES_OK);
	if (F.mv_ready)
		mock_vq_free(&F.mv);
	cr_assert_eq(mock_vq_init(&F.mv, &F.ram, QSIZE, F.packed, MOCK_RAM_GPA), 0);
	F.mv_ready = true;
	F.next_id = 0;
	d->vqs[0].num = QSIZE;
	d->vqs[0].desc_addr = F.mv.desc;
	d->vqs[0].driver_addr = F.mv.driver;
	d->vqs[0].device_addr = F.mv.device;
	virtio_dev_set_queue_ready(d, 0, true);
	virtio_dev_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(d), "status 0x%x", d->status);
}

static int open_dev(const char *aio, const char *extra)
{
	char spec[256];
	char err[128];
	struct virtio_blk_opts opts;
	snprintf(spec, sizeof(spec), "%s,aio=%s%s%s", F.path, aio, extra ? "," : "",
		 extra ? extra : "");
	cr_assert_eq(virtio_blk_opts_parse(spec, &opts, err, sizeof(err)), 0, "%s", err);
	int r = virtio_blk_create(&F.dev, &opts, &F.ram.mem);
	virtio_blk_opts_free(&opts);
	return r;
}

/* A disk of `sectors` sectors (+ `tail` bytes) with options `extra`, negotiated with `want`. */
static void setup_full(const char *aio, const char *extra, bool packed, uint64_t sectors,
		       uint64_t tail, uint64_t want)
{
	memset(&F, 0, sizeof(F));
	F.packed = packed;
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(sectors * 512 + tail);
	cr_assert_eq(open_dev(aio, extra), 0);
	/* the io_uring engine registers its completion eventfd (first); the sync engine has none;
	 * then the rate limiter's timer */
	cr_assert_eq(F.dev->nfds, strcmp(aio, "sync") ? 2 : 1);
	handshake(want | (packed ? 1ull << VIRTIO_F_RING_PACKED : 0));
}

static void setup(const char *aio, const char *extra)
{
	setup_full(aio, extra, false, DISK_SECTORS, 0, ALL_FEATURES);
}

/* Idempotent: tests may call it and still have it as .fini (which also runs on failure). */
static void teardown(void)
{
	virtio_blk_destroy(F.dev);
	F.dev = NULL;
	if (F.mv_ready)
		mock_vq_free(&F.mv);
	F.mv_ready = false;
	mock_ram_free(&F.ram);
	if (F.fd > 0) {
		close(F.fd);
		unlink(F.path);
	}
	F.fd = -1;
}

/* ---- driver helpers ---- */

static uint8_t *host(uint64_t gpa)
{
	return mock_ram_host(&F.ram, gpa);
}

/* A guest buffer of len bytes filled with `byte`. */
static uint64_t gbuf(uint32_t len, uint8_t byte)
{
	uint64_t gpa = mock_alloc(&F.mv, len);
	cr_assert_neq(gpa, 0);
	memset(host(gpa), byte, len);
	return gpa;
}

static uint64_t ghdr(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {htole32(type), 0, htole64(sector)};
	return mock_fill(&F.mv, &h, sizeof(h));
}

static int add(const struct mock_buf *bufs, int n)
{
	if (F.packed)
		return mock_packed_add(&F.mv, bufs, n, F.next_id++);
	return mock_split_add(&F.mv, bufs, n);
}

/* Delivers pending io_uring completions, waiting up to ms. False when nothing came. */
static bool pump(int ms)
{
	if (F.dev->nfds < 2)
		return false; /* sync engine (only the timer): everything completed in the kick */
	struct pollfd p = {F.dev->fds[0].fd, POLLIN, 0};
	if (poll(&p, 1, ms) != 1)
		return false;
	F.dev->fds[0].ready(F.dev, p.fd, EPOLLIN);
	return true;
}

static int get_used(uint32_t *id, uint32_t *len)
{
	if (!F.packed)
		return mock_split_get_used(&F.mv, id, len);
	uint16_t pid, flags;
	int r = mock_packed_get_used(&F.mv, &pid, len, &flags);
	*id = pid;
	return r;
}

/* Collects up to n used elements, running completions; returns how many arrived. */
static int collect(int n, uint32_t *ids, uint32_t *lens)
{
	int got = 0, idle = 0;
	while (got < n && idle < 200) {
		if (get_used(&ids[got], &lens[got]) == 1) {
			got++;
			continue;
		}
		idle += pump(10) ? 0 : 1;
	}
	return got;
}

/* Adds one chain, kicks, waits for its completion. Returns the status byte; *used_len the
 * used length. The status buffer must be `status_gpa`. */
static uint8_t submit(const struct mock_buf *bufs, int n, uint64_t status_gpa, uint32_t *used_len)
{
	int id = add(bufs, n);
	cr_assert_geq(id, 0);
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	uint32_t uid, ulen;
	cr_assert_eq(collect(1, &uid, &ulen), 1, "no completion");
	cr_assert_eq(uid, (uint32_t)id);
	if (used_len)
		*used_len = ulen;
	return *host(status_gpa);
}

/* hdr | data (one buffer, device-writable for IN) | status */
static uint8_t rw(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, uint32_t *used)
{
	uint64_t st = gbuf(1, UNTOUCHED);
	bool w = type == VIRTIO_BLK_T_IN;
	struct mock_buf b[3] = {{ghdr(type, sector), 16, false}, {data, len, w}, {st, 1, true}};
	if (len == 0) {
		b[1] = b[2];
		return submit(b, 2, st, used);
	}
	return submit(b, 3, st, used);
}

/* A request with no data: hdr | status. */
static uint8_t simple(uint32_t type, uint64_t sector, uint32_t *used)
{
	return rw(type, sector, 0, 0, used);
}

/* DISCARD / WRITE_ZEROES with n segments. */
static uint8_t dwz(uint32_t type, const struct virtio_blk_discard_write_zeroes *segs, int n,
		   uint32_t *used)
{
	struct virtio_blk_discard_write_zeroes le[16];
	for (int i = 0; i < n; i++) {
		le[i].sector = htole64(segs[i].sector);
		le[i].num_sectors = htole32(segs[i].num_sectors);
		le[i].flags = htole32(segs[i].flags);
	}
	uint64_t st = gbuf(1, UNTOUCHED);
	struct mock_buf b[3] = {{ghdr(type, 0), 16, false},
				{mock_fill(&F.mv, le, (uint32_t)(n * sizeof(le[0]))),
				 (uint32_t)(n * sizeof(le[0])), false},
				{st, 1, true}};
	return submit(b, 3, st, used);
}

/* Checks a guest buffer holds the disk pattern for byte offset off. */
static void assert_guest_pattern(uint64_t gpa, uint64_t off, uint32_t len)
{
	const uint8_t *p = host(gpa);
	for (uint32_t i = 0; i < len; i++)
		cr_assert_eq(p[i], pattern(off + i), "byte %u", i);
}

/* Runs body for both engines. */
#define BOTH(name)                                                                                 \
	static void name(const char *aio);                                                         \
	Test(blk_sync, name, .fini = teardown)                                                     \
	{                                                                                          \
		name("sync");                                                                      \
	}                                                                                          \
	Test(blk_uring, name, .fini = teardown)                                                    \
	{                                                                                          \
		name("io_uring");                                                                  \
	}                                                                                          \
	static void name(const char *aio)

/* ---- read / write ---- */

BOTH(read_returns_file_data_and_exact_used_len)
{
	setup(aio, NULL);
	uint64_t data = gbuf(2048, UNTOUCHED);
	uint32_t used;
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 5, data, 2048, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 2049);
	assert_guest_pattern(data, 5 * 512, 2048);
}

/* The device counters (virtio/core/device.h) move the same on both engines: a request per
 * completed chain, its data bytes, an error per non-OK status; the async completion path
 * counts like the synchronous one. */
BOTH(counters_count_requests_bytes_and_errors)
{
	setup(aio, NULL);
	struct virtio_dev_counters_snapshot c;
	uint64_t data = gbuf(2048, UNTOUCHED);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 0, data, 1024, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 4, data, 512, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, DISK_SECTORS, data, 512, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(simple(0x7777, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	virtio_dev_counters_read(F.dev, &c);
	cr_assert_eq(c.kicks, 4);
	cr_assert_eq(c.requests, 4);
	cr_assert_eq(c.bytes, 1536, "data read plus data written, none for failed requests");
	cr_assert_eq(c.errors, 2);
	cr_assert_geq(c.interrupts, 1);
}

BOTH(write_reaches_file_then_reads_back)
{
	setup(aio, NULL);
	uint64_t data = gbuf(1536, 0);
	for (int i = 0; i < 1536; i++)
		host(data)[i] = (uint8_t)(i * 13 + 5);
	uint32_t used;
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 3, data, 1536, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1);
	uint8_t file[1536];
	file_read(3 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, host(data), sizeof(file));
	cr_assert(file_is_pattern(0, 3 * 512), "bytes before the write changed");
	cr_assert(file_is_pattern(6 * 512, 512), "bytes after the write changed");

	uint64_t back = gbuf(1536, UNTOUCHED);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 3, back, 1536, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1537);
	cr_assert_arr_eq(host(back), host(data), 1536);
}

BOTH(header_split_in_two_and_data_in_many_pieces)
{
	setup(aio, NULL);
	struct virtio_blk_outhdr h = {htole32(VIRTIO_BLK_T_IN), 0, htole64(2)};
	uint64_t hdr = mock_fill(&F.mv, &h, sizeof(h));
	uint64_t data = gbuf(1024, UNTOUCHED);
	uint64_t st = gbuf(1, UNTOUCHED);
	/* header 5 + 11 bytes; 1024 data bytes as 1, 100, 411, 512 (crossing sector lines) */
	struct mock_buf b[] = {
	    {hdr, 5, false},	   {hdr + 5, 11, false},    {data, 1, true},
	    {data + 1, 100, true}, {data + 101, 411, true}, {data + 512, 512, true},
	    {st, 1, true}};
	uint32_t used;
	cr_assert_eq(submit(b, 7, st, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1025);
	assert_guest_pattern(data, 2 * 512, 1024);
}

BOTH(write_with_header_sharing_a_buffer_with_data)
{
	setup(aio, NULL);
	/* One readable buffer holding the header and 512 data bytes, as some drivers do. */
	uint64_t buf = gbuf(16 + 512, 0x5a);
	struct virtio_blk_outhdr h = {htole32(VIRTIO_BLK_T_OUT), 0, htole64(7)};
	memcpy(host(buf), &h, sizeof(h));
	uint64_t st = gbuf(1, UNTOUCHED);
	struct mock_buf b[] = {{buf, 16 + 512, false}, {st, 1, true}};
	cr_assert_eq(submit(b, 2, st, NULL), VIRTIO_BLK_S_OK);
	uint8_t file[512], want[512];
	memset(want, 0x5a, sizeof(want));
	file_read(7 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, want, sizeof(file));
}

BOTH(status_is_the_last_byte_of_a_shared_buffer)
{
	setup(aio, NULL);
	/* data and status in one writable buffer of 513 bytes */
	uint64_t buf = gbuf(513, UNTOUCHED);
	struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_IN, 1), 16, false}, {buf, 513, true}};
	uint32_t used;
	cr_assert_eq(submit(b, 2, buf + 512, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 513);
	assert_guest_pattern(buf, 512, 512);
}

BOTH(status_is_the_last_writable_byte_for_flush)
{
	setup(aio, NULL);
	/* a FLUSH with 8 writable bytes: status in the 8th, the 7 before it untouched */
	uint64_t buf = gbuf(8, UNTOUCHED);
	struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_FLUSH, 0), 16, false}, {buf, 8, true}};
	uint32_t used;
	cr_assert_eq(submit(b, 2, buf + 7, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(host(buf)[i], UNTOUCHED);
}

BOTH(flush_succeeds)
{
	setup(aio, NULL);
	uint64_t data = gbuf(512, 0x11);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, data, 512, NULL), VIRTIO_BLK_S_OK);
	uint32_t used;
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1);
}

BOTH(zero_length_read_inside_the_disk_is_ok)
{
	setup(aio, NULL);
	uint32_t used;
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, DISK_SECTORS, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1);
}

/* ---- range checks ---- */

BOTH(read_past_the_end_is_ioerr_and_writes_nothing)
{
	setup(aio, NULL);
	uint64_t data = gbuf(1024, UNTOUCHED);
	uint32_t used;
	/* last sector plus one more */
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, data, 1024, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1);
	for (int i = 0; i < 1024; i++)
		cr_assert_eq(host(data)[i], UNTOUCHED);
	/* first sector past the end */
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, DISK_SECTORS, data, 512, &used), VIRTIO_BLK_S_IOERR);
	/* the very last sector is fine */
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, data, 512, &used), VIRTIO_BLK_S_OK);
	assert_guest_pattern(data, (DISK_SECTORS - 1) * 512, 512);
}

BOTH(sector_near_uint64_max_is_ioerr)
{
	setup(aio, NULL);
	uint64_t data = gbuf(512, 0x33);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, UINT64_MAX, data, 512, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, UINT64_MAX - 1, data, 512, NULL), VIRTIO_BLK_S_IOERR);
	/* sector + count wraps to a small number */
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, UINT64_MAX, data, 1024, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, data, 512, NULL),
		     VIRTIO_BLK_S_IOERR);
	cr_assert(file_is_pattern(0, DISK_SECTORS * 512));
}

BOTH(length_not_a_multiple_of_512_is_ioerr)
{
	setup(aio, NULL);
	uint64_t data = gbuf(513, 0x44);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, data, 513, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 0, data, 100, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert(file_is_pattern(0, 1024));
}

/* A read of `nseg` data segments of 16 bytes each, in an indirect table. */
static uint8_t read_in_pieces(int nseg, uint64_t *data, uint32_t *used)
{
	struct mock_buf b[VQ_CHAIN_MAX_SEGS];
	uint64_t st = gbuf(1, UNTOUCHED);
	*data = gbuf((uint32_t)nseg * 16, UNTOUCHED);
	b[0] = (struct mock_buf){ghdr(VIRTIO_BLK_T_IN, 0), 16, false};
	for (int i = 0; i < nseg; i++)
		b[1 + i] = (struct mock_buf){*data + (uint64_t)i * 16, 16, true};
	b[nseg + 1] = (struct mock_buf){st, 1, true};
	int id = mock_split_add_indirect(&F.mv, b, nseg + 2);
	cr_assert_geq(id, 0);
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	uint32_t uid;
	cr_assert_eq(collect(1, &uid, used), 1);
	cr_assert_eq(uid, (uint32_t)id);
	return *host(st);
}

BOTH(more_data_segments_than_the_device_maps_is_ioerr)
{
	setup(aio, NULL);
	/* 256 segments (the device's iovec array) work: 4096 bytes in 16-byte pieces */
	uint64_t data;
	uint32_t used;
	cr_assert_eq(read_in_pieces(256, &data, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 4097);
	assert_guest_pattern(data, 0, 4096);
	/* 320 segments (an indirect table can be longer than seg_max = 254): IOERR, no data */
	cr_assert_eq(read_in_pieces(320, &data, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1);
	for (int i = 0; i < 320 * 16; i++)
		cr_assert_eq(host(data)[i], UNTOUCHED);
}

BOTH(file_shrunk_under_the_device_gives_ioerr)
{
	setup(aio, NULL);
	/* The image loses its end after the capacity was read: a read crossing the new end
	 * transfers a part (a short read), then nothing; it must not be reported as OK. */
	cr_assert_eq(ftruncate(F.fd, 16 * 512 + 256), 0);
	uint64_t data = gbuf(1536, UNTOUCHED);
	uint32_t used;
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 15, data, 1536, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1);
	/* what is still there reads fine */
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 15, data, 512, &used), VIRTIO_BLK_S_OK);
	assert_guest_pattern(data, 15 * 512, 512);
}

/* ---- other request types ---- */

BOTH(unknown_types_are_unsupp)
{
	setup(aio, NULL);
	uint32_t used;
	cr_assert_eq(simple(99, 0, &used), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(used, 1);
	cr_assert_eq(simple(VIRTIO_BLK_T_SCSI_CMD, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(simple(VIRTIO_BLK_T_SECURE_ERASE, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER, 0, NULL), VIRTIO_BLK_S_UNSUPP);
}

static void get_id(uint32_t room, uint64_t *buf, uint32_t *used, uint8_t *status)
{
	*buf = gbuf(room + 1, UNTOUCHED);
	struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_GET_ID, 0), 16, false}, {*buf, room + 1, true}};
	*status = submit(b, 2, *buf + room, used);
}

BOTH(get_id_short_serial_is_nul_padded_to_20_bytes)
{
	setup(aio, "serial=abc");
	uint64_t buf;
	uint32_t used;
	uint8_t st;
	get_id(32, &buf, &used, &st);
	cr_assert_eq(st, VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 21);
	uint8_t want[20] = "abc";
	cr_assert_arr_eq(host(buf), want, 20);
	for (int i = 20; i < 32; i++)
		cr_assert_eq(host(buf)[i], UNTOUCHED, "byte %d written past 20", i);
}

BOTH(get_id_20_byte_serial_has_no_terminator)
{
	setup(aio, "serial=ABCDEFGHIJKLMNOPQRST");
	uint64_t buf;
	uint32_t used;
	uint8_t st;
	get_id(20, &buf, &used, &st);
	cr_assert_eq(st, VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 21);
	cr_assert_arr_eq(host(buf), "ABCDEFGHIJKLMNOPQRST", 20);
}

BOTH(get_id_default_and_small_room)
{
	setup(aio, NULL);
	uint64_t buf;
	uint32_t used;
	uint8_t st;
	get_id(8, &buf, &used, &st);
	cr_assert_eq(st, VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 9);
	cr_assert_arr_eq(host(buf), "vmm", 3);
}

/* ---- discard and write zeroes ---- */

BOTH(discard_punches_the_range_and_leaves_the_rest)
{
	setup(aio, "discard=on");
	cr_assert(virtio_dev_has_feature(F.dev, VIRTIO_BLK_F_DISCARD));
	struct stat before, after;
	fstat(F.fd, &before);
	struct virtio_blk_discard_write_zeroes s[2] = {{8, 8, 0}, {32, 16, 0}};
	uint32_t used;
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, s, 2, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1);
	cr_assert(file_is_zero(8 * 512, 8 * 512));
	cr_assert(file_is_zero(32 * 512, 16 * 512));
	cr_assert(file_is_pattern(0, 8 * 512));
	cr_assert(file_is_pattern(16 * 512, 16 * 512));
	cr_assert(file_is_pattern(48 * 512, 16 * 512));
	fstat(F.fd, &after);
	cr_assert_eq(after.st_size, before.st_size, "discard changed the file size");
	cr_assert_lt(after.st_blocks, before.st_blocks, "no hole was punched");
}

BOTH(write_zeroes_with_and_without_unmap)
{
	setup(aio, "discard=on");
	struct virtio_blk_discard_write_zeroes a = {1, 3, 0};
	struct virtio_blk_discard_write_zeroes b = {20, 4, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP};
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &a, 1, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &b, 1, NULL), VIRTIO_BLK_S_OK);
	cr_assert(file_is_pattern(0, 512));
	cr_assert(file_is_zero(512, 3 * 512));
	cr_assert(file_is_pattern(4 * 512, 16 * 512));
	cr_assert(file_is_zero(20 * 512, 4 * 512));
	cr_assert(file_is_pattern(24 * 512, 512));
}

BOTH(dwz_segment_count_is_bounded)
{
	setup(aio, "discard=on");
	struct virtio_blk_discard_write_zeroes s[9];
	for (int i = 0; i < 9; i++)
		s[i] = (struct virtio_blk_discard_write_zeroes){(uint64_t)i * 2, 1, 0};
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, s, 9, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 9, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert(file_is_pattern(0, DISK_SECTORS * 512), "a refused request touched the file");
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 8, NULL), VIRTIO_BLK_S_OK);
	cr_assert(file_is_zero(14 * 512, 512));
	cr_assert(file_is_pattern(15 * 512, 512));
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, s, 0, NULL), VIRTIO_BLK_S_IOERR);
}

BOTH(dwz_bad_segments)
{
	setup(aio, "discard=on");
	/* a good first segment followed by one past the end: nothing is done */
	struct virtio_blk_discard_write_zeroes s[2] = {{0, 2, 0}, {DISK_SECTORS - 1, 2, 0}};
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 2, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert(file_is_pattern(0, 1024));
	struct virtio_blk_discard_write_zeroes wrap = {UINT64_MAX, 2, 0};
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &wrap, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* more sectors than max_write_zeroes_sectors */
	struct virtio_blk_discard_write_zeroes big = {0, VIRTIO_BLK_WZ_MAX_SECT + 1, 0};
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &big, 1, NULL), VIRTIO_BLK_S_IOERR);
	/* 5.2.6.2: unknown flags, and UNMAP on a discard, are UNSUPP */
	struct virtio_blk_discard_write_zeroes rsv = {0, 1, 2};
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &rsv, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	struct virtio_blk_discard_write_zeroes unmap = {0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP};
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &unmap, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert(file_is_pattern(0, DISK_SECTORS * 512));
	/* a payload that is not whole segments */
	uint64_t st = gbuf(1, UNTOUCHED);
	struct mock_buf b[] = {
	    {ghdr(VIRTIO_BLK_T_DISCARD, 0), 16, false}, {gbuf(24, 0), 24, false}, {st, 1, true}};
	cr_assert_eq(submit(b, 3, st, NULL), VIRTIO_BLK_S_IOERR);
}

BOTH(dwz_without_the_feature_is_unsupp)
{
	setup(aio, NULL);
	cr_assert_not(virtio_dev_has_feature(F.dev, VIRTIO_BLK_F_DISCARD));
	struct virtio_blk_discard_write_zeroes s = {0, 1, 0};
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert(file_is_pattern(0, 512));
}

/* ---- read-only ---- */

BOTH(read_only_disk_refuses_writes_and_keeps_the_file)
{
	setup(aio, "ro,discard=on");
	cr_assert(virtio_dev_has_feature(F.dev, VIRTIO_BLK_F_RO));
	cr_assert_not(F.dev->host_features & (1ull << VIRTIO_BLK_F_DISCARD));
	uint64_t data = gbuf(1024, 0x77);
	uint32_t used;
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, data, 1024, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1);
	struct virtio_blk_discard_write_zeroes s = {0, 2, 0};
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert(file_is_pattern(0, DISK_SECTORS * 512));
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 0, data, 1024, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1025);
	assert_guest_pattern(data, 0, 1024);
}

/* ---- many requests in flight ---- */

BOTH(eighty_requests_in_flight_then_drained)
{
	setup(aio, NULL);
	/* 80 one-sector writes added before one kick: more than the 64 request slots, so the
	 * device must resume popping as completions free slots */
	enum { N = 80 };
	uint64_t data[N], st[N];
	int ids[N];
	for (int i = 0; i < N; i++) {
		data[i] = gbuf(512, (uint8_t)(i + 1));
		st[i] = gbuf(1, UNTOUCHED);
		struct mock_buf b[] = {
		    {ghdr(VIRTIO_BLK_T_OUT, (uint64_t)(i % DISK_SECTORS)), 16, false},
		    {data[i], 512, false},
		    {st[i], 1, true}};
		/* sectors 0..15 are written twice, with the same bytes: completion order of
		 * overlapping writes is not defined */
		if (i >= (int)DISK_SECTORS)
			memset(host(data[i]), (uint8_t)(i - DISK_SECTORS + 1), 512);
		ids[i] = add(b, 3);
		cr_assert_geq(ids[i], 0);
	}
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	uint32_t uid[N], ulen[N];
	cr_assert_eq(collect(N, uid, ulen), N);
	bool seen[QSIZE] = {false};
	for (int i = 0; i < N; i++) {
		cr_assert_eq(ulen[i], 1);
		cr_assert_lt(uid[i], QSIZE);
		cr_assert_not(seen[uid[i]], "id %u completed twice", uid[i]);
		seen[uid[i]] = true;
	}
	for (int i = 0; i < N; i++) {
		cr_assert(seen[ids[i]]);
		cr_assert_eq(*host(st[i]), VIRTIO_BLK_S_OK);
	}
	for (unsigned s = 0; s < DISK_SECTORS; s++) {
		uint8_t buf[512];
		file_read(s * 512, buf, 512);
		for (int j = 0; j < 512; j++)
			cr_assert_eq(buf[j], (uint8_t)(s + 1), "sector %u", s);
	}
}

BOTH(packed_ring_with_indirect_round_trip)
{
	setup_full(aio, NULL, true, DISK_SECTORS, 0, ALL_FEATURES);
	cr_assert(F.dev->vqs[0].packed);
	uint64_t data = gbuf(1024, 0);
	for (int i = 0; i < 1024; i++)
		host(data)[i] = (uint8_t)(i ^ 0x5c);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 10, data, 1024, NULL), VIRTIO_BLK_S_OK);
	uint64_t back = gbuf(1024, UNTOUCHED), st = gbuf(1, UNTOUCHED);
	struct mock_buf b[] = {
	    {ghdr(VIRTIO_BLK_T_IN, 10), 16, false}, {back, 1024, true}, {st, 1, true}};
	int id = mock_packed_add_indirect(&F.mv, b, 3, F.next_id++);
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	uint32_t uid, ulen;
	cr_assert_eq(collect(1, &uid, &ulen), 1);
	cr_assert_eq(uid, (uint32_t)id);
	cr_assert_eq(ulen, 1025);
	cr_assert_eq(*host(st), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(host(back), host(data), 1024);
}

/* ---- broken drivers and reset ---- */

BOTH(chain_without_status_byte_fails_the_device)
{
	setup(aio, NULL);
	uint64_t data = gbuf(512, 0x99);
	struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_OUT, 0), 16, false}, {data, 512, false}};
	add(b, 2);
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	cr_assert(F.dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(file_is_pattern(0, 512));
	uint32_t id, len;
	cr_assert_eq(get_used(&id, &len), 0);
}

BOTH(short_header_fails_the_device)
{
	setup(aio, NULL);
	uint64_t st = gbuf(1, UNTOUCHED);
	struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_IN, 0), 10, false}, {st, 1, true}};
	add(b, 2);
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	cr_assert(F.dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(*host(st), UNTOUCHED);
}

BOTH(reset_with_requests_in_flight_then_reuse)
{
	setup(aio, NULL);
	enum { N = 32 };
	uint64_t st[N], data[N];
	for (int i = 0; i < N; i++) {
		data[i] = gbuf(512, UNTOUCHED);
		st[i] = gbuf(1, UNTOUCHED);
		struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_IN, (uint64_t)i), 16, false},
				       {data[i], 512, true},
				       {st[i], 1, true}};
		add(b, 3);
	}
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	/* io_uring: the first read may have completed at once (the inline page-cache path, with
	 * nothing else in flight); the others are in flight. */
	bool in_flight[N];
	for (int i = 0; i < N; i++)
		in_flight[i] = *host(st[i]) == UNTOUCHED;
	uint16_t used_before = mock_split_used_idx(&F.mv);
	virtio_dev_set_status(F.dev, 0); /* reset while (io_uring) requests are in flight */
	cr_assert_eq(F.dev->status, 0);
	pump(50); /* a late completion event must not write anything now */
	if (F.dev->nfds > 1) {
		for (int i = 0; i < N; i++)
			cr_assert(!in_flight[i] || *host(st[i]) == UNTOUCHED,
				  "status %d written after reset", i);
		cr_assert(used_before <= 1, "at most the inline read completed before the reset");
		cr_assert_eq(mock_split_used_idx(&F.mv), used_before);
	}
	/* the device works again after a new handshake */
	handshake(ALL_FEATURES);
	uint64_t buf = gbuf(512, UNTOUCHED);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 9, buf, 512, NULL), VIRTIO_BLK_S_OK);
	assert_guest_pattern(buf, 9 * 512, 512);
}

/* aio=auto (issue 68): a buffered write is done in the kick itself (at once, not through the
 * ring, whose kernel worker costs more than the write), its bytes in the file when the status
 * is seen; aio=io_uring leaves it to the ring, and so does auto for a write-through write
 * (the driver took no FLUSH: RWF_DSYNC waits for the disk). */
static void write_in_the_kick(const char *aio, uint64_t features, bool at_once)
{
	setup_full(aio, NULL, false, DISK_SECTORS, 0, features);
	uint64_t data = gbuf(1024, 0x5c), st = gbuf(1, UNTOUCHED);
	struct mock_buf b[3] = {
	    {ghdr(VIRTIO_BLK_T_OUT, 3), 16, false}, {data, 1024, false}, {st, 1, true}};
	add(b, 3);
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	cr_assert_eq(*host(st) != UNTOUCHED, at_once, "aio=%s: status 0x%x right after the kick",
		     aio, *host(st));
	uint32_t id, len;
	cr_assert_eq(collect(1, &id, &len), 1);
	cr_assert_eq(*host(st), VIRTIO_BLK_S_OK);
	uint8_t got[1024];
	file_read(3 * 512, got, sizeof(got));
	for (size_t i = 0; i < sizeof(got); i++)
		cr_assert_eq(got[i], 0x5c, "byte %zu", i);
}

Test(blk_auto, buffered_write_done_in_the_kick, .fini = teardown)
{
	write_in_the_kick("auto", ALL_FEATURES, true);
}

Test(blk_auto, write_through_goes_to_the_ring, .fini = teardown)
{
	write_in_the_kick("auto", ALL_FEATURES & ~(1ull << VIRTIO_BLK_F_FLUSH), false);
}

Test(blk_uring, buffered_write_goes_to_the_ring, .fini = teardown)
{
	write_in_the_kick("io_uring", ALL_FEATURES, false);
}

/* A guest's reset reaches blk_reset() on the vCPU thread that wrote the status, under that
 * thread's filter (vcpu.c): draining io_uring requests in flight must be allowed there, or
 * the reset kills the VMM by SIGSYS (found by tools/fuzz/guest-fuzz). */
static void *reset_on_a_vcpu(void *arg)
{
	const struct sandbox_list *lists[] = {&vcpu_sandbox};
	(void)arg;
	if (sandbox_enter("vcpu-test", lists, 1))
		return (void *)1;
	virtio_dev_set_status(F.dev, 0);
	return NULL;
}

Test(blk_uring, reset_with_requests_in_flight_on_a_sandboxed_vcpu, .fini = teardown)
{
	enum { N = 32 };
	void *ret = (void *)-1;
	pthread_t t;
	cr_assert_eq(sandbox_init(SANDBOX_ON), 0);
	setup("io_uring", NULL);
	cr_assert_eq(F.dev->nfds, 2, "no io_uring here");
	for (int i = 0; i < N; i++) {
		struct mock_buf b[] = {{ghdr(VIRTIO_BLK_T_IN, (uint64_t)i), 16, false},
				       {gbuf(512, UNTOUCHED), 512, true},
				       {gbuf(1, UNTOUCHED), 1, true}};
		add(b, 3);
	}
	virtio_dev_kick(F.dev, 0);
	virtio_dev_process_pending(F.dev);
	cr_assert_eq(pthread_create(&t, NULL, reset_on_a_vcpu, NULL), 0);
	cr_assert_eq(pthread_join(t, &ret), 0);
	cr_assert_null(ret, "the thread could not enter the vCPU's sandbox");
	cr_assert_eq(F.dev->status, 0);
}

BOTH(cache_none_aligned_and_unaligned_buffers)
{
	setup(aio, "cache=none");
	/* 4 KiB-aligned buffer: O_DIRECT path; odd buffer address: buffered fallback */
	uint64_t aligned = gbuf(8192, 0);
	aligned = (aligned + 4095) & ~4095ull;
	for (int i = 0; i < 4096; i++)
		host(aligned)[i] = (uint8_t)(i * 3);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 8, aligned, 4096, NULL), VIRTIO_BLK_S_OK);
	uint64_t odd = gbuf(4096 + 16, UNTOUCHED) + 1;
	uint32_t used;
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 8, odd, 4096, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 4097);
	cr_assert_arr_eq(host(odd), host(aligned), 4096);
	uint8_t file[4096];
	file_read(8 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, host(aligned), 4096);
}

BOTH(writes_without_flush_negotiated_are_write_through)
{
	/* 5.2.6.2: a driver without FLUSH cannot flush, so the device writes through (the
	 * RWF_DSYNC path); the write must still land and report OK */
	setup_full(aio, NULL, false, DISK_SECTORS, 0, ALL_FEATURES & ~(1ull << VIRTIO_BLK_F_FLUSH));
	cr_assert_not(virtio_dev_has_feature(F.dev, VIRTIO_BLK_F_FLUSH));
	uint64_t data = gbuf(512, 0x6b);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 4, data, 512, NULL), VIRTIO_BLK_S_OK);
	uint8_t file[512];
	file_read(4 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, host(data), 512);
}

BOTH(flush_off_offers_no_flush_and_writes_land)
{
	/* Firecracker's cache_type Unsafe: no FLUSH offered, writes go to the page cache */
	setup_full(aio, "flush=off", false, DISK_SECTORS, 0, ALL_FEATURES);
	cr_assert_not(F.dev->host_features & (1ull << VIRTIO_BLK_F_FLUSH));
	cr_assert_not(virtio_dev_has_feature(F.dev, VIRTIO_BLK_F_FLUSH));
	uint64_t data = gbuf(512, 0x3c);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 6, data, 512, NULL), VIRTIO_BLK_S_OK);
	uint8_t file[512];
	file_read(6 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, host(data), 512);
}

/* ---- configuration, features, disk geometry (engine-independent) ---- */

Test(blk_config, config_space_and_features, .fini = teardown)
{
	setup_full("sync", "discard=on", false, DISK_SECTORS, 100, ALL_FEATURES);
	struct virtio_blk_config c;
	virtio_dev_config_read(F.dev, 0, &c, sizeof(c));
	cr_assert_eq(le64toh(c.capacity), DISK_SECTORS, "a partial last sector is not counted");
	cr_assert_eq(le32toh(c.seg_max), QSIZE - 2);
	cr_assert_eq(le32toh(c.size_max), VIRTIO_BLK_SIZE_MAX);
	cr_assert_eq(le32toh(c.blk_size), 512);
	cr_assert_eq(le32toh(c.max_discard_sectors), VIRTIO_BLK_DISCARD_MAX_SECT);
	cr_assert_eq(le32toh(c.max_discard_seg), VIRTIO_BLK_DISCARD_MAX_SEG);
	cr_assert_eq(le32toh(c.discard_sector_alignment), 1);
	cr_assert_eq(le32toh(c.max_write_zeroes_sectors), VIRTIO_BLK_WZ_MAX_SECT);
	cr_assert_eq(le32toh(c.max_write_zeroes_seg), VIRTIO_BLK_WZ_MAX_SEG);
	cr_assert_eq(c.write_zeroes_may_unmap, 1);
	uint64_t f = F.dev->host_features;
	uint64_t want = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH |
			1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES |
			1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_SEG_MAX |
			1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
			1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_F_RING_PACKED;
	cr_assert_eq(f, want, "features 0x%llx", (unsigned long long)f);
	cr_assert_eq(F.dev->device_id, 2);
	cr_assert_eq(F.dev->queue_max_size, QSIZE);
	/* a read of the partial tail sector is out of range */
	uint64_t data = gbuf(512, UNTOUCHED);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, DISK_SECTORS, data, 512, NULL), VIRTIO_BLK_S_IOERR);
}

Test(blk_config, read_only_features, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(4096);
	cr_assert_eq(open_dev("sync", "ro"), 0);
	uint64_t f = F.dev->host_features;
	cr_assert(f & (1ull << VIRTIO_BLK_F_RO));
	cr_assert_not(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	teardown();
}

Test(blk_config, env_var_picks_the_engine_for_auto, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(4096);
	cr_assert_eq(setenv("VMM_BLK_AIO", "sync", 1), 0);
	cr_assert_eq(open_dev("auto", NULL), 0);
	cr_assert_eq(F.dev->nfds, 1, "VMM_BLK_AIO=sync ignored"); /* the timer only */
	virtio_blk_destroy(F.dev);
	cr_assert_eq(unsetenv("VMM_BLK_AIO"), 0);
	cr_assert_eq(open_dev("auto", NULL), 0);
	cr_assert_eq(F.dev->nfds, 2, "auto should pick io_uring here");
	teardown();
}

Test(blk_config, open_errors, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	strcpy(F.path, "/nonexistent/disk.img");
	cr_assert_eq(open_dev("sync", NULL), -ENOENT);
	strcpy(F.path, "/tmp");
	cr_assert_eq(open_dev("sync", NULL), -EISDIR);
	strcpy(F.path, "/dev/null");
	cr_assert_eq(open_dev("sync", NULL), -EINVAL, "a character device is not a disk");
	cr_assert_null(F.dev);
}

/* The queues are allocated for num_queues: a caller that skipped the option parser's 1..8 check
 * gets -EINVAL, not a device that indexes past its queues. */
Test(blk_config, more_queues_than_the_maximum_are_refused, .fini = teardown)
{
	char err[128];
	struct virtio_blk_opts opts;
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(8 * 512);
	cr_assert_eq(virtio_blk_opts_parse(F.path, &opts, err, sizeof(err)), 0, "%s", err);
	opts.num_queues = VIRTIO_BLK_MAX_QUEUES + 1;
	cr_assert_eq(virtio_blk_create(&F.dev, &opts, &F.ram.mem), -EINVAL);
	cr_assert_null(F.dev);
	opts.num_queues = VIRTIO_BLK_MAX_QUEUES;
	cr_assert_eq(virtio_blk_create(&F.dev, &opts, &F.ram.mem), 0);
	cr_assert_eq(F.dev->num_queues, VIRTIO_BLK_MAX_QUEUES);
	virtio_blk_opts_free(&opts);
}

Test(blk_config, second_writer_is_refused_by_the_lock, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(4096);
	cr_assert_eq(open_dev("sync", NULL), 0);
	struct virtio_dev *first = F.dev;
	cr_assert_eq(open_dev("sync", NULL), -EWOULDBLOCK);
	F.dev = first;
	teardown();
}

/* A migration's hand-over (vm_migrate.c): the paused source drops the lock, the destination
 * opens the same file; if the migration fails the source gets it back, unless someone holds it. */
Test(blk_config, the_lock_is_handed_over_and_taken_back, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(4096);
	cr_assert_eq(open_dev("sync", NULL), 0);
	struct virtio_dev *source = F.dev;
	cr_assert_eq(virtio_blk_hand_over(source), 0);
	cr_assert_eq(open_dev("sync", NULL), 0, "the destination opens the disk");
	struct virtio_dev *dest = F.dev;
	cr_assert_eq(virtio_blk_take_back(source), -EWOULDBLOCK, "held by the destination");
	virtio_blk_destroy(dest);
	cr_assert_eq(virtio_blk_take_back(source), 0, "the destination gave up: back here");
	cr_assert_eq(open_dev("sync", NULL), -EWOULDBLOCK, "and locked again");
	F.dev = source;
	struct virtio_dev other = {.device_id = VIRTIO_ID_BLOCK}; /* e.g. a vhost-user disk */
	cr_assert_eq(virtio_blk_hand_over(&other), -ENODEV);
	cr_assert_eq(virtio_blk_take_back(&other), -ENODEV);
}

/* PATCH /drives rate_limiter: the bucket named changes, the other stays. */
Test(blk_config, a_rate_limiter_patch_keeps_what_it_does_not_name, .fini = teardown)
{
	struct rate_limiter_patch p = {.cfg = {.ops = {50, 0, 10}}, .has_ops = true};
	struct rate_limiter_cfg now;

	setup("sync", "bw=2M:1000,ops=500:1000");
	cr_assert_eq(virtio_blk_patch_rate_limiter(F.dev, &p, &now), 0);
	cr_assert_eq(now.ops.size, 50);
	cr_assert_eq(now.bw.size, 2u << 20, "bandwidth not named: kept");
	p = (struct rate_limiter_patch){.has_bw = true}; /* size 0: bandwidth off */
	cr_assert_eq(virtio_blk_patch_rate_limiter(F.dev, &p, &now), 0);
	cr_assert_eq(now.bw.size, 0);
	cr_assert_eq(now.ops.size, 50);
	p = (struct rate_limiter_patch){.cfg = {.bw = {1, 0, 0}}, .has_bw = true};
	cr_assert_eq(virtio_blk_patch_rate_limiter(F.dev, &p, &now), -EINVAL);
	cr_assert_eq(now.ops.size, 50, "refused: nothing changed");
}

Test(blk_config, replacing_the_disk_of_a_paused_device_keeps_it_paused, .fini = teardown)
{
	setup("sync", NULL);
	char other[] = "/tmp/test_vblk2.XXXXXX";
	int fd = mkstemp(other);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, DISK_SECTORS * 512), 0);
	close(fd);
	virtio_dev_pause(F.dev); /* as vm_pause() does */
	cr_assert_eq(virtio_blk_replace_disk(F.dev, other), 0);
	unlink(other);
	cr_assert(atomic_load(&F.dev->paused), "the swap resumed a device of a paused VM");
	cr_assert_eq(virtio_blk_replace_disk(F.dev, F.path), 0);
	cr_assert(atomic_load(&F.dev->paused));
	virtio_dev_resume(F.dev);
	cr_assert_not(atomic_load(&F.dev->paused));
}

Test(blk_disk, direct_io_fd_choice, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	make_disk(8192);
	struct blk_disk d;
	cr_assert_eq(blk_disk_open(&d, F.path, false, true), 0);
	cr_assert_neq(d.fd, d.fd_buffered);
	cr_assert_eq(d.sectors, 16);
	static uint8_t buf[8192] __attribute__((aligned(4096)));
	struct iovec good = {buf, 4096}, odd_addr = {buf + 1, 4096}, odd_len = {buf, 100};
	cr_assert_eq(blk_disk_fd_for(&d, &good, 1, 4096), d.fd);
	cr_assert_eq(blk_disk_fd_for(&d, &odd_addr, 1, 4096), d.fd_buffered);
	cr_assert_eq(blk_disk_fd_for(&d, &odd_len, 1, 4096), d.fd_buffered);
	cr_assert_eq(blk_disk_fd_for(&d, &good, 1, 1), d.fd_buffered);
	blk_disk_close(&d);
	cr_assert_eq(blk_disk_open(&d, F.path, true, false), 0);
	cr_assert_eq(d.fd, d.fd_buffered);
	cr_assert_eq(blk_disk_fd_for(&d, &odd_addr, 1, 1), d.fd);
	struct iovec w = {buf, 512};
	cr_assert_eq(blk_disk_rw(d.fd, &w, 1, 0, true, 0), -EBADF, "ro fd must refuse writes");
	blk_disk_close(&d);
}

Test(blk_disk, iov_advance)
{
	uint8_t a[10], b[20], c[30];
	struct iovec v[3] = {{a, 10}, {b, 20}, {c, 30}};
	struct iovec *p = v;
	int n = 3;
	blk_iov_advance(&p, &n, 15);
	cr_assert_eq(n, 2);
	cr_assert_eq(p, &v[1]);
	cr_assert_eq(p->iov_base, b + 5);
	cr_assert_eq(p->iov_len, 15);
	blk_iov_advance(&p, &n, 15);
	cr_assert_eq(n, 1);
	cr_assert_eq(p->iov_base, c);
	blk_iov_advance(&p, &n, 30);
	cr_assert_eq(n, 0);
}

/* ---- over the virtio-mmio transport ---- */

static uint32_t mmio_rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;
	virtio_mmio_read(t, off, &v, 4);
	return v;
}

Test(blk_mmio, probes_like_a_driver, .fini = teardown)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(mock_ram_init(&F.ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(DISK_SECTORS * 512);
	cr_assert_eq(open_dev("sync", "serial=mmio-disk"), 0);
	struct virtio_mmio t;
	virtio_mmio_init(&t, F.dev);
	cr_assert_eq(mmio_rd(&t, 0x000), VIRTIO_MMIO_MAGIC);
	cr_assert_eq(mmio_rd(&t, 0x004), 2);
	cr_assert_eq(mmio_rd(&t, 0x008), 2, "DeviceID 2 = block device");
	uint32_t sel = 1;
	virtio_mmio_write(&t, 0x014, &sel, 4);
	cr_assert(mmio_rd(&t, 0x010) & 1u, "VERSION_1 (bit 32) offered");
	uint32_t qsel = 0;
	virtio_mmio_write(&t, 0x030, &qsel, 4);
	cr_assert_eq(mmio_rd(&t, 0x034), QSIZE);
	uint64_t cap;
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 0, &cap, 8);
	cr_assert_eq(le64toh(cap), DISK_SECTORS);
	uint32_t seg_max;
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 12, &seg_max, 4);
	cr_assert_eq(le32toh(seg_max), QSIZE - 2);
}

/* A disk probed as raw (no format= given) refuses a write that puts the qcow2 magic at byte 0:
 * the next open would take it for a qcow2 image whose header the guest wrote (a backing file on
 * the host). Elsewhere, or given format=raw, the same bytes are written. */
BOTH(a_probed_raw_disk_refuses_the_qcow2_magic_at_sector_0)
{
	static const uint8_t magic[4] = {'Q', 'F', 'I', 0xfb};
	uint8_t head[4];

	setup(aio, NULL);
	uint64_t data = gbuf(512, 0);
	memcpy(host(data), magic, sizeof(magic));
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, data, 512, NULL), VIRTIO_BLK_S_IOERR);
	file_read(0, head, sizeof(head));
	cr_assert(memcmp(head, magic, sizeof(magic)), "the magic did not reach the file");
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 1, data, 512, NULL), VIRTIO_BLK_S_OK, "sector 1: fine");
	teardown();

	setup(aio, "format=raw");
	data = gbuf(512, 0);
	memcpy(host(data), magic, sizeof(magic));
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, data, 512, NULL), VIRTIO_BLK_S_OK);
	file_read(0, head, sizeof(head));
	cr_assert_eq(memcmp(head, magic, sizeof(magic)), 0, "format=raw: the guest's to write");
}
