/* Chain reader / writer: a chain's readable and writable buffers as two byte streams, whatever
 * way the driver split a request across descriptors; the used length never over-claims. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/queue/virtqueue.h"

static struct mock_env env;
static struct vq_chain chain;

static void setup(void)
{
	cr_assert_eq(mock_env_init(&env, 64, false, 0), 0);
}

static void teardown(void)
{
	mock_env_free(&env);
}

TestSuite(chain_io, .init = setup, .fini = teardown);

static void add_and_pop(const struct mock_buf *bufs, int n)
{
	cr_assert_geq(mock_split_add(&env.mv, bufs, n), 0);
	cr_assert_eq(vq_pop(&env.vq, env.mem, &chain), 1);
}

static const uint8_t *host(uint64_t gpa)
{
	return mock_ram_host(&env.ram, gpa);
}

/* A virtio-blk-like 16-byte header split 5 + 11 over two buffers, then 4 data bytes sharing the
 * second buffer: read back as one stream. */
Test(chain_io, header_split_across_two_buffers)
{
	const uint8_t msg[20] = "HEADER-0123456789abc";
	struct mock_buf bufs[2] = {{mock_fill(&env.mv, msg, 5), 5, false},
				   {mock_fill(&env.mv, msg + 5, 15), 15, false}};
	add_and_pop(bufs, 2);
	uint8_t hdr[16], data[4];
	cr_assert_eq(vq_chain_readable(&chain), 20);
	cr_assert_eq(vq_chain_read(&chain, env.mem, hdr, sizeof(hdr)), 0);
	cr_expect_eq(memcmp(hdr, msg, 16), 0);
	cr_expect_eq(vq_chain_readable(&chain), 4);
	cr_assert_eq(vq_chain_read(&chain, env.mem, data, sizeof(data)), 0);
	cr_expect_eq(memcmp(data, msg + 16, 4), 0);
	cr_expect_eq(vq_chain_readable(&chain), 0);
}

Test(chain_io, twenty_one_byte_buffers)
{
	struct mock_buf bufs[20];
	for (int i = 0; i < 20; i++) {
		uint8_t b = (uint8_t)('a' + i);
		bufs[i] = (struct mock_buf){mock_fill(&env.mv, &b, 1), 1, false};
	}
	add_and_pop(bufs, 20);
	char got[21] = {0};
	cr_assert_eq(vq_chain_read(&chain, env.mem, got, 3), 0);
	cr_assert_eq(vq_chain_read(&chain, env.mem, got + 3, 17), 0);
	cr_expect_str_eq(got, "abcdefghijklmnopqrst");
}

Test(chain_io, short_read_consumes_nothing)
{
	struct mock_buf bufs[2] = {{mock_fill(&env.mv, "abcd", 4), 4, false},
				   {mock_alloc(&env.mv, 64), 64, true}};
	add_and_pop(bufs, 2);
	char got[8] = {0};
	cr_expect_eq(vq_chain_read(&chain, env.mem, got, 5), -VQ_E_SHORT); /* writable not read */
	cr_expect_eq(vq_chain_readable(&chain), 4);
	cr_assert_eq(vq_chain_read(&chain, env.mem, got, 4), 0);
	cr_expect_str_eq(got, "abcd");
	cr_expect_eq(vq_chain_read(&chain, env.mem, got, 1), -VQ_E_SHORT);
	cr_expect_eq(vq_chain_read(&chain, env.mem, got, 0), 0);
}

Test(chain_io, write_spans_buffers_and_counts)
{
	struct mock_buf bufs[3] = {{mock_fill(&env.mv, "req", 3), 3, false},
				   {mock_alloc(&env.mv, 3), 3, true},
				   {mock_alloc(&env.mv, 5), 5, true}};
	add_and_pop(bufs, 3);
	cr_expect_eq(vq_chain_writable(&chain), 8);
	cr_assert_eq(vq_chain_write(&chain, env.mem, "ABCDEF", 6), 0);
	cr_expect_eq(chain.written, 6);
	cr_expect_eq(vq_chain_writable(&chain), 2);
	cr_expect_eq(memcmp(host(bufs[1].addr), "ABC", 3), 0);
	cr_expect_eq(memcmp(host(bufs[2].addr), "DEF", 3), 0);
	cr_expect_eq(memcmp(host(bufs[0].addr), "req", 3), 0); /* readable buffer untouched */

	cr_expect_eq(vq_chain_write(&chain, env.mem, "xyz", 3), -VQ_E_SHORT);
	cr_expect_eq(chain.written, 6);
	cr_expect_eq(host(bufs[2].addr)[3], 0); /* all or nothing */

	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&env.mv, &id, &len), 1);
	cr_expect_eq(len, 6); /* exactly what was written, not the 8 bytes offered */
}

Test(chain_io, nothing_written_means_used_len_zero)
{
	struct mock_buf b = {mock_alloc(&env.mv, 100), 100, true};
	add_and_pop(&b, 1);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&env.mv, &id, &len), 1);
	cr_expect_eq(len, 0);
}

/* A blk-style reply: skip the data area, write the status in the last writable byte. */
Test(chain_io, skipped_bytes_are_not_claimed)
{
	struct mock_buf bufs[3] = {{mock_fill(&env.mv, "hdr", 3), 3, false},
				   {mock_alloc(&env.mv, 512), 512, true},
				   {mock_alloc(&env.mv, 1), 1, true}};
	add_and_pop(bufs, 3);
	cr_assert_eq(vq_chain_skip_read(&chain, 3), 0);
	cr_expect_eq(vq_chain_readable(&chain), 0);
	cr_expect_eq(vq_chain_skip_read(&chain, 1), -VQ_E_SHORT);
	cr_assert_eq(vq_chain_skip_write(&chain, vq_chain_writable(&chain) - 1), 0);
	uint8_t status = 1;
	cr_assert_eq(vq_chain_write(&chain, env.mem, &status, 1), 0);
	cr_expect_eq(host(bufs[2].addr)[0], 1);
	cr_expect_eq(chain.written, 1);
	cr_expect_eq(vq_chain_skip_write(&chain, 1), -VQ_E_SHORT);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&env.mv, &id, &len), 1);
	cr_expect_eq(len, 1);
}

Test(chain_io, iov_mapping)
{
	struct mock_buf bufs[4] = {{mock_fill(&env.mv, "0123", 4), 4, false},
				   {mock_fill(&env.mv, "4567", 4), 4, false},
				   {mock_alloc(&env.mv, 6), 6, true},
				   {mock_alloc(&env.mv, 6), 6, true}};
	add_and_pop(bufs, 4);
	struct iovec iov[4];
	cr_assert_eq(vq_chain_skip_read(&chain, 1), 0);
	cr_expect_eq(vq_chain_read_iov(&chain, env.mem, 6, iov, 1), -ENOBUFS);
	cr_expect_eq(vq_chain_readable(&chain), 7); /* unchanged */
	cr_assert_eq(vq_chain_read_iov(&chain, env.mem, 6, iov, 4), 2);
	cr_expect_eq(iov[0].iov_base, host(bufs[0].addr) + 1);
	cr_expect_eq(iov[0].iov_len, 3);
	cr_expect_eq(iov[1].iov_base, host(bufs[1].addr));
	cr_expect_eq(iov[1].iov_len, 3);
	cr_expect_eq(vq_chain_readable(&chain), 1);

	cr_assert_eq(vq_chain_write_iov(&chain, env.mem, 10, iov, 4), 2);
	cr_expect_eq(iov[0].iov_base, host(bufs[2].addr));
	cr_expect_eq(iov[0].iov_len, 6);
	cr_expect_eq(iov[1].iov_len, 4);
	cr_expect_eq(chain.written, 0); /* mapped, not yet written */
	cr_expect_eq(vq_chain_write_iov(&chain, env.mem, 3, iov, 4), -VQ_E_SHORT);
	memcpy(iov[0].iov_base, "abcdef", 6);
	cr_expect_eq(vq_chain_add_written(&chain, 11), -EINVAL); /* more than mapped */
	cr_assert_eq(vq_chain_add_written(&chain, 6), 0);	 /* a short pread */
	cr_expect_eq(chain.written, 6);
	cr_assert_eq(vq_chain_add_written(&chain, 4), 0);
	cr_expect_eq(vq_chain_add_written(&chain, 1), -EINVAL);
	cr_expect_eq(vq_chain_used(&chain).len, 10);
}

/* vq_iov_from_buf(): a header put into the iovecs mapped for it (net and vsock rx), across a
 * buffer boundary and past a zero-length entry; iovecs holding less take only what fits. */
Test(chain_io, iov_from_buf_fills_a_mapping_in_order)
{
	struct mock_buf bufs[2] = {{mock_alloc(&env.mv, 5), 5, true},
				   {mock_alloc(&env.mv, 16), 16, true}};
	add_and_pop(bufs, 2);
	struct iovec iov[2];
	cr_assert_eq(vq_chain_write_iov(&chain, env.mem, 12, iov, 2), 2);
	struct iovec with_empty[3] = {iov[0], {NULL, 0}, iov[1]};
	cr_expect_eq(vq_iov_from_buf(with_empty, 3, "HEADER-12byt", 12), 12);
	cr_expect_eq(memcmp(host(bufs[0].addr), "HEADE", 5), 0);
	cr_expect_eq(memcmp(host(bufs[1].addr), "R-12byt", 7), 0);
	cr_expect_eq(chain.written, 0, "copying is not counting");

	uint8_t small[4] = {0};
	struct iovec one = {small, 3};
	cr_expect_eq(vq_iov_from_buf(&one, 1, "abcdef", 6), 3, "only what the iovecs hold");
	cr_expect_eq(memcmp(small, "abc\0", 4), 0);
	cr_expect_eq(vq_iov_from_buf(&one, 1, "xyz", 0), 0);
	cr_expect_eq(vq_iov_from_buf(NULL, 0, "xyz", 3), 0);
}

Test(chain_io, readable_only_chain_has_no_room)
{
	struct mock_buf b = {mock_fill(&env.mv, "data", 4), 4, false};
	add_and_pop(&b, 1);
	cr_expect_eq(vq_chain_writable(&chain), 0);
	cr_expect_eq(vq_chain_write(&chain, env.mem, "x", 1), -VQ_E_SHORT);
	cr_expect_eq(memcmp(host(b.addr), "data", 4), 0);
}

Test(chain_io, packed_chain_streams_the_same_way)
{
	mock_env_free(&env);
	cr_assert_eq(mock_env_init(&env, 5, true, 0), 0);
	struct mock_buf bufs[3] = {{mock_fill(&env.mv, "ab", 2), 2, false},
				   {mock_fill(&env.mv, "cdef", 4), 4, false},
				   {mock_alloc(&env.mv, 8), 8, true}};
	cr_assert_eq(mock_packed_add(&env.mv, bufs, 3, 77), 77);
	cr_assert_eq(vq_pop(&env.vq, env.mem, &chain), 1);
	char got[7] = {0};
	cr_assert_eq(vq_chain_read(&chain, env.mem, got, 6), 0);
	cr_expect_str_eq(got, "abcdef");
	cr_assert_eq(vq_chain_write(&chain, env.mem, "XY", 2), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	uint16_t id, flags;
	uint32_t len;
	cr_assert_eq(mock_packed_get_used(&env.mv, &id, &len, &flags), 1);
	cr_expect_eq(id, 77);
	cr_expect_eq(len, 2);
}

/* Diff snapshots: every page the device writes (a buffer through the writer or a writable
 * iovec, the used ring) is marked dirty in guest_mem, since KVM's log sees only the guest. */
static bool page_dirty(const uint64_t *bitmap, uint64_t gpa)
{
	uint64_t page = (gpa - MOCK_RAM_GPA) >> 12;
	return bitmap[page / 64] & (1ull << (page % 64));
}

Test(chain_io, device_writes_are_marked_dirty)
{
	struct guest_mem *mem = &env.ram.mem;
	uint64_t bitmap[(MOCK_RAM_SIZE >> 12) / 64];
	uint64_t a = mock_alloc(&env.mv, 8192), b = mock_alloc(&env.mv, 8192);
	uint64_t c = mock_alloc(&env.mv, 8192); /* never used: the page of c + 4096 is inside it */
	struct mock_buf bufs[2] = {{a + 4096, 16, true}, {b, 4096, true}};
	struct iovec iov[4];

	cr_assert_eq(guest_mem_dirty_start(mem), 0);
	memset(bitmap, 0, sizeof(bitmap));
	guest_mem_dirty_take(mem, bitmap); /* the driver's setup writes do not count */
	memset(bitmap, 0, sizeof(bitmap));
	add_and_pop(bufs, 1);
	cr_assert_eq(vq_chain_write(&chain, env.mem, "0123456789abcdef", 16), 0);
	cr_assert_eq(vq_push(&env.vq, env.mem, &chain), 0);
	add_and_pop(bufs + 1, 1);
	cr_assert_eq(vq_chain_write_iov(&chain, env.mem, 4096, iov, 4), 1);
	guest_mem_dirty_take(mem, bitmap);
	cr_assert(page_dirty(bitmap, a + 4096), "a buffer written through the chain writer");
	cr_assert(page_dirty(bitmap, b), "a buffer handed out as a writable iovec");
	cr_assert(page_dirty(bitmap, env.mv.device), "the used ring");
	cr_assert_not(page_dirty(bitmap, c + 4096), "a page nobody wrote");
	free(mem->dirty); /* mock RAM is not freed with guest_mem_free() */
	mem->dirty = NULL;
}

/* A mapping that wrote nothing (an empty socket read) is taken back: the cursor returns to the
 * mark, so the same bytes can be mapped again; a mark behind bytes counted as written is
 * refused. */
Test(chain_io, write_rewind_takes_back_a_mapping)
{
	struct mock_buf bufs[2] = {{mock_alloc(&env.mv, 8), 8, true},
				   {mock_alloc(&env.mv, 8), 8, true}};
	struct iovec iov[4];
	add_and_pop(bufs, 2);
	struct vq_cursor start = vq_chain_write_mark(&chain);
	cr_assert_eq(vq_chain_write_iov(&chain, env.mem, 12, iov, 4), 2);
	cr_expect_eq(vq_chain_writable(&chain), 4);
	cr_assert_eq(vq_chain_write_rewind(&chain, start), 0);
	cr_expect_eq(vq_chain_writable(&chain), 16, "the mapped bytes are writable again");
	cr_assert_eq(vq_chain_write_iov(&chain, env.mem, 12, iov, 4), 2);
	cr_assert_eq(vq_chain_add_written(&chain, 12), 0);
	cr_expect_eq(vq_chain_write_rewind(&chain, start), -EINVAL, "behind what was written");
	cr_expect_eq(chain.written, 12);
	cr_expect_eq(vq_chain_writable(&chain), 4);
}
