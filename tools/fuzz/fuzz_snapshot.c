/* libFuzzer target: the snapshot container reader (vmm/snapshot/snap_format.c).
 * Input: one mode byte, then the file. Mode bit 0 rewrites the trailer's checksum and bit 1 the
 * header's total length to match the rest, so mutations reach the section walk instead of
 * stopping at the checksum; bit 2 writes an accepted file again with the writer and reads it back
 * from disk (round_trip()). The file is copied into an exact-size heap block: ASan sees any read
 * past it.
 * Invariants: a refused file gives -EINVAL (or -ENOMEM) and a message; an accepted one has its
 * sections sorted by (tag, instance) without duplicates, inside the buffer, each found again by
 * snap_get() with the same bytes (all read), and snap_get_exact() copies exactly the section's
 * length and refuses any other with a message.
 * Device sections: every SNAP_VIRTIO_DEV_PRIV section naming virtio-gpu or virtio-input in its
 * header is also handed to that device model's restore (ops->restore of a fresh gpu over fake
 * RAM, with a small resource cap, and of a keyboard), which must refuse or accept it without
 * reading outside it; an accepted gpu state is saved again and must fit its size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "tools/fuzz/fuzz_mem.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/gpu/gpu.h"
#include "virtio/input/input.h"
#include "vmm/base/snapshot_io.h"
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

#define RAM_GPA 0x100000ull /* as gen_snapshot_seeds.c's device sections expect */
#define RAM_LEN (64 * 1024ull)

static struct fz_mem ram;
static struct input_queue events;
static bool events_ready;

/* A fresh device of `id` (gpu or keyboard) restores the model bytes behind the header. */
static void restore_into(uint32_t id, const uint8_t *model, size_t len)
{
	struct virtio_dev *dev = NULL;

	if (!ram.mem.nregions && fz_mem_add(&ram, RAM_GPA, RAM_LEN, 0))
		abort();
	if (id == VIRTIO_ID_GPU && virtio_gpu_create(&dev, NULL, 1u << 20))
		return;
	if (id == VIRTIO_ID_INPUT && !events_ready) {
		if (input_queue_init(&events))
			abort();
		events_ready = true;
	}
	if (id == VIRTIO_ID_INPUT && virtio_input_create(&dev, INPUT_KEYBOARD, &events))
		return;
	if (!dev || virtio_dev_init(dev, &ram.mem))
		abort();
	pthread_mutex_lock(&dev->lock);
	int r = dev->ops->restore(dev, model, len);
	FZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM, "%s restore = %d", dev->name, r);
	if (!r) {
		size_t need = dev->ops->save_size(dev), got = 0;
		uint8_t *out = malloc(need ? need : 1);
		FZ_ASSERT(dev->ops->save(dev, out, need, &got) == 0 && got == need,
			  "%s: a restored state does not save again in its size", dev->name);
		free(out);
	}
	pthread_mutex_unlock(&dev->lock);
	virtio_dev_destroy(dev);
	free(dev);
}

static void check_device_section(const struct snap_section *s)
{
	struct virtio_dev_priv_hdr h;

	if (s->tag != SNAP_VIRTIO_DEV_PRIV || s->len < sizeof(h))
		return;
	memcpy(&h, s->data, sizeof(h));
	if (h.device_id == VIRTIO_ID_GPU || h.device_id == VIRTIO_ID_INPUT)
		restore_into(h.device_id, s->data + sizeof(h), s->len - sizeof(h));
}

/* Mode bit 2: an accepted file is written again section by section (snap_put, then
 * snap_writer_save into a directory of this process) and read back with snap_open(): the same
 * sections with the same bytes; a second put of a section is -EEXIST. */
static void round_trip(const struct snap_reader *r)
{
	static char dir[] = "/tmp/fuzz-snapshot-XXXXXX";
	static char path[sizeof(dir) + 8];
	struct snap_writer w;
	struct snap_reader back;
	char err[256];

	if (!path[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/snap", dir);
	}
	if (snap_writer_init(&w))
		abort();
	for (size_t i = 0; i < r->nsecs; i++) {
		const struct snap_section *s = &r->secs[i];
		int ret = snap_put(&w, s->tag, s->instance, s->data, s->len);
		FZ_ASSERT(ret == 0 || ret == -E2BIG, "snap_put(%u/%u) = %d", s->tag, s->instance,
			  ret);
		if (ret) {
			snap_writer_free(&w);
			return;
		}
	}
	if (r->nsecs) {
		const struct snap_section *s = &r->secs[0];
		FZ_ASSERT(snap_put(&w, s->tag, s->instance, NULL, 0) == -EEXIST, "a duplicate put");
	}
	FZ_ASSERT(snap_writer_save(&w, path, err, sizeof(err)) == 0, "save: %s", err);
	snap_writer_free(&w);
	FZ_ASSERT(snap_open(&back, path, err, sizeof(err)) == 0, "the written file: %s", err);
	FZ_ASSERT(back.nsecs == r->nsecs, "%zu sections read back, %zu written", back.nsecs,
		  r->nsecs);
	for (size_t i = 0; i < r->nsecs; i++) {
		size_t len = 0;
		const void *p = snap_get(&back, r->secs[i].tag, r->secs[i].instance, &len);
		FZ_ASSERT(p && len == r->secs[i].len && !memcmp(p, r->secs[i].data, len),
			  "section %u/%u differs after the round trip", r->secs[i].tag,
			  r->secs[i].instance);
	}
	snap_close(&back);
	unlink(path);
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
			check_device_section(s);
		}
		FZ_ASSERT(!snap_get(&r, 0xFFFFFFFFu, 0xFFFFFFFFu, NULL) || r.nsecs,
			  "a section found in an empty snapshot");
		if (mode & 4)
			round_trip(&r);
		snap_close(&r);
	}
	free(buf);
	return 0;
}
