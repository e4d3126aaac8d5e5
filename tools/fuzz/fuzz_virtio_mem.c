/* libFuzzer target: virtio-mem (virtio/mem) behind virtio-mmio. guest-request gets whatever
 * the input builds (the seeds carry well-formed PLUG, UNPLUG, UNPLUG_ALL and STATE requests for
 * the region below). The VMM's backend is a checking stand-in that keeps its own map of plugged
 * blocks and aborts when the device asks for a range outside the region, not in whole blocks, a
 * plug of a plugged block or an unplug of an unplugged one; it fails on demand (BUSY answers).
 * The special operation sets requested_size, runs the device's eventfd (the config interrupt),
 * switches the backend's failures, walks the plugged blocks as the VMM's snapshot writer does
 * (virtio_mem_for_each_plugged: maximal runs in address order, exactly the backend's map), and
 * checks the device's numbers against the backend's map. Snapshots are taken by the harness:
 * the restore replugs through the same backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/mem/mem.h"

#define BASE	   0x100000000ull
#define REGION	   (256ull << 20)
#define MAX_BLOCKS (REGION / VIRTIO_MEM_MIN_BLOCK)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	uint64_t block;
	bool plugged[MAX_BLOCKS];
	uint64_t count;
	int fail; /* 0: never; n: every n-th call fails */
	unsigned calls;
} be;

static void check_range(uint64_t gpa, uint64_t len, uint64_t *first, uint64_t *n)
{
	FZ_ASSERT(gpa >= BASE && len && gpa - BASE <= REGION && len <= REGION - (gpa - BASE),
		  "virtio-mem asked for 0x%llx+0x%llx outside its region", (unsigned long long)gpa,
		  (unsigned long long)len);
	FZ_ASSERT((gpa - BASE) % be.block == 0 && len % be.block == 0,
		  "virtio-mem asked for 0x%llx+0x%llx: not whole blocks", (unsigned long long)gpa,
		  (unsigned long long)len);
	*first = (gpa - BASE) / be.block;
	*n = len / be.block;
}

static int change(uint64_t gpa, uint64_t len, bool plug)
{
	uint64_t first, n;

	check_range(gpa, len, &first, &n);
	if (be.fail && ++be.calls % (unsigned)be.fail == 0)
		return -12; /* -ENOMEM */
	for (uint64_t i = first; i < first + n; i++) {
		FZ_ASSERT(be.plugged[i] != plug, "virtio-mem %s block %llu twice",
			  plug ? "plugged" : "unplugged", (unsigned long long)i);
		be.plugged[i] = plug;
	}
	be.count = plug ? be.count + n : be.count - n;
	return 0;
}

static int fake_plug(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return change(gpa, len, true);
}

static int fake_unplug(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return change(gpa, len, false);
}

static int mem_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t cfg = fz_u8(in);
	struct virtio_mem_opts o = {.total = REGION,
				    .block_size = VIRTIO_MEM_MIN_BLOCK << (cfg % 3),
				    .slot_size = 128 << 20};
	struct virtio_mem_backend b = {fake_plug, fake_unplug, NULL};

	memset(&be, 0, sizeof(be));
	be.block = o.block_size;
	if (virtio_mem_create(out, &o, BASE, &b))
		return -1;
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void mem_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
}

/* The device's numbers agree with the backend's map and with 5.15.4's rules. */
static void check_info(struct virtio_dev *dev)
{
	struct virtio_mem_info i;

	virtio_mem_get_info(dev, &i);
	FZ_ASSERT(i.plugged_size == be.count * be.block, "plugged_size %llu, backend %llu blocks",
		  (unsigned long long)i.plugged_size, (unsigned long long)be.count);
	FZ_ASSERT(i.usable_size <= i.region_size && i.requested_size <= i.usable_size &&
		      i.usable_size % i.block_size == 0,
		  "usable %llu requested %llu", (unsigned long long)i.usable_size,
		  (unsigned long long)i.requested_size);
}

struct walk {
	uint64_t next;	 /* the first block after the previous run (0 at first) */
	uint64_t blocks; /* blocks seen */
};

static void on_run(void *opaque, uint64_t gpa, uint64_t len)
{
	struct walk *w = opaque;
	uint64_t first, n;
	check_range(gpa, len, &first, &n);
	FZ_ASSERT(w->blocks == 0 || first > w->next, "run at block %llu after one ending at %llu",
		  (unsigned long long)first, (unsigned long long)w->next);
	FZ_ASSERT(first == 0 || !be.plugged[first - 1], "run at block %llu not maximal",
		  (unsigned long long)first);
	for (uint64_t i = first; i < first + n; i++)
		FZ_ASSERT(be.plugged[i], "run over unplugged block %llu", (unsigned long long)i);
	FZ_ASSERT(first + n == MAX_BLOCKS || !be.plugged[first + n],
		  "run ending at block %llu not maximal", (unsigned long long)(first + n));
	w->next = first + n;
	w->blocks += n;
}

/* What the VMM's snapshot writer walks: every plugged block once, in maximal runs. */
static void walk_plugged(struct virtio_dev *dev)
{
	struct walk w = {0, 0};
	virtio_mem_for_each_plugged(dev, on_run, &w);
	FZ_ASSERT(w.blocks == be.count, "runs hold %llu blocks, the backend %llu",
		  (unsigned long long)w.blocks, (unsigned long long)be.count);
}

static void mem_special(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t op = fz_u8(in), arg = fz_u8(in);

	switch (op % 4) {
	case 0: /* whole blocks, or not (refused), or past the region (refused) */
		virtio_mem_set_requested(dev, arg & 0x80 ? (uint64_t)arg << 20 : arg * be.block);
		break;
	case 1:
		fz_dev_run_fds(dev);
		break;
	case 2:
		be.fail = arg % 4;
		be.calls = 0;
		break;
	default:
		walk_plugged(dev);
		break;
	}
	check_info(dev);
}

static const struct fz_dev_hooks mem_hooks = {
    .create = mem_create, .destroy = mem_destroy, .special = mem_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &mem_hooks);
}
