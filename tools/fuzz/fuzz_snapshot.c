/* libFuzzer target: the snapshot container reader (vmm/snapshot/snap_format.c).
 * Input: one mode byte, then the file. Mode bit 0 rewrites the trailer's checksum and bit 1 the
 * header's total length to match the rest, so mutations reach the section walk instead of
 * stopping at the checksum. The file is copied into an exact-size heap block: ASan sees any read
 * past it.
 * Invariants: a refused file gives -EINVAL (or -ENOMEM) and a message; an accepted one has its
 * sections sorted by (tag, instance) without duplicates, inside the buffer, each found again by
 * snap_get() with the same bytes (all read), and snap_get_exact() copies exactly the section's
 * length and refuses any other with a message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_mem.h"
#include "vmm/snapshot/snap_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static volatile uint8_t sink;

static void check_section(struct snap_reader *r, const struct snap_section *s, const uint8_t *buf,
			  size_t size)
{
	FZ_ASSERT(s->data >= buf && s->len <= size && (size_t)(s->data - buf) <= size - s->len,
		  "section %u/%u outside the buffer", s->tag, s->instance);
	size_t len = 0;
	const uint8_t *p = snap_get(r, s->tag, s->instance, &len);
	FZ_ASSERT(p == s->data && len == s->len, "snap_get(%u/%u) differs from the index", s->tag,
		  s->instance);
	for (size_t i = 0; i < len; i++)
		sink += p[i]; /* every byte read: ASan checks the bounds */

	static uint8_t out[SNAP_MAX_FILE / 64];
	const size_t tries[] = {len, len + 1, len ? len - 1 : 0, 0, 8, 512};
	char err[128];
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		size_t want = tries[i];
		if (want > sizeof(out))
			continue;
		err[0] = 0;
		int ret = snap_get_exact(r, s->tag, s->instance, out, want, err, sizeof(err));
		FZ_ASSERT(want == len ? ret == 0 : ret == -EINVAL && err[0],
			  "snap_get_exact(%u/%u, %zu) of %zu bytes = %d", s->tag, s->instance, want,
			  len, ret);
		FZ_ASSERT(ret || !want || !memcmp(out, p, want),
			  "snap_get_exact copied other bytes");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size--;
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data + 1, size);
	if ((mode & 2) && size >= SNAP_HEADER_SIZE)
		put_le(buf + 16, size, 8);
	if ((mode & 1) && size >= SNAP_HEADER_SIZE + SNAP_TRAILER_SIZE)
		put_le(buf + size - SNAP_TRAILER_SIZE, snap_crc32(buf, size - SNAP_TRAILER_SIZE),
		       4);

	struct snap_reader r;
	char err[256] = "";
	int ret = snap_parse(&r, buf, size, err, sizeof(err));
	FZ_ASSERT(ret == 0 || ((ret == -EINVAL || ret == -ENOMEM) && err[0]),
		  "snap_parse = %d, message \"%s\"", ret, err);
	if (!ret) {
		FZ_ASSERT(r.nsecs <= SNAP_MAX_SECTIONS, "%zu sections", r.nsecs);
		for (size_t i = 0; i < r.nsecs; i++) {
			const struct snap_section *s = &r.secs[i];
			FZ_ASSERT(i == 0 || ((uint64_t)s[-1].tag << 32 | s[-1].instance) <
						((uint64_t)s->tag << 32 | s->instance),
				  "index not sorted or duplicate at %zu", i);
			check_section(&r, s, buf, size);
		}
		FZ_ASSERT(!snap_get(&r, 0xFFFFFFFFu, 0xFFFFFFFFu, NULL) || r.nsecs,
			  "a section found in an empty snapshot");
		snap_close(&r);
	}
	free(buf);
	return 0;
}
