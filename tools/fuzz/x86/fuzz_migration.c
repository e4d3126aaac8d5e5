/* libFuzzer target: the live-migration receiver (vmm/migration/stream/mig_recv.c with mig_frame.c,
 * mig_format.c, mig_chan.c) reading a stream from memory, as a destination VMM reads a socket.
 * Input: one mode byte, then the stream. Mode bit 0 rewrites every frame's checksum to match
 * its contents (walking the frames by their lengths), so mutations reach the decoders instead of
 * stopping at the first checksum. The stream is copied into an exact-size heap block: ASan sees
 * any read past it.
 * The HELLO callback gives guest memory of the announced shape when it is small (at most 256 KiB,
 * heap blocks of exactly each region's size), so MEM frames are applied for real; larger shapes
 * are refused with a message, like a destination without the room. A HELLO's CPU model
 * (MIG_HELLO_CPU) goes to cpu_model_decode(), which refuses it with a message or accepts it.
 * Invariants: a refused stream gives a negative errno and a message; an accepted one ends with
 * a state image snap_parse() accepted and the memory the callback gave; the receiver then reads
 * COMMIT (mig_recv_ready) from what is left, and frees everything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/x86/cpu_model.h"
#include "vmm/migration/stream/mig_crc.h"
#include "vmm/migration/stream/mig_format.h"
#include "vmm/migration/stream/mig_recv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RAM (256u << 10)

struct dest {
	struct guest_mem mem;
	void *blocks[GUEST_MEM_MAX_REGIONS];
};

static void invariant(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "INVARIANT: %s\n", what);
		abort();
	}
}

static int give_mem(void *o, const struct mig_hello *h, struct guest_mem **mem, char *err,
		    size_t errlen)
{
	struct dest *d = o;
	if (h->flags & MIG_HELLO_CPU) {
		static struct cpu_model m;
		char why[128] = "";
		int r = cpu_model_decode(h->cpu_model, h->cpu_model_len, &m, why, sizeof(why));
		invariant(r == 0 || (r == -EINVAL && why[0]),
			  "cpu_model_decode refused without a message");
	}
	if (h->flags & MIG_HELLO_LOCAL) {
		*mem = NULL; /* memfd() follows; a memory stream carries no descriptor */
		return 0;
	}
	if (h->ram_size > MAX_RAM) {
		snprintf(err, errlen, "no room for %llu bytes", (unsigned long long)h->ram_size);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < h->nregions; i++) {
		d->blocks[i] = calloc(1, h->regions[i].size);
		invariant(d->blocks[i] != NULL, "calloc");
		invariant(!guest_mem_add_region(&d->mem, h->regions[i].gpa, d->blocks[i],
						h->regions[i].size),
			  "HELLO's checked regions are a valid guest_mem");
	}
	*mem = &d->mem;
	return 0;
}

static int no_memfd(void *o, int fd, const struct mig_hello *h, struct guest_mem **mem, char *err,
		    size_t errlen)
{
	(void)o, (void)fd, (void)h, (void)mem;
	invariant(false, "a memory channel never delivers a descriptor");
	snprintf(err, errlen, "unreachable");
	return -EINVAL;
}

static const struct mig_recv_ops ops = {.hello = give_mem, .memfd = no_memfd};

/* Recomputes each frame's checksum over its header and payload, up to the first frame that does
 * not fit in the buffer. */
static void fix_checksums(uint8_t *b, size_t len)
{
	size_t off = 0;
	while (len - off >= MIG_FRAME_HDR) {
		uint32_t plen = (uint32_t)mig_get_le(b + off + 4, 4);
		if (plen > len - off - MIG_FRAME_HDR)
			return;
		uint32_t crc = mig_crc32(0, b + off, 8);
		crc = mig_crc32(crc, b + off + MIG_FRAME_HDR, plen);
		mig_put_le(b + off + 8, crc, 4);
		off += MIG_FRAME_HDR + plen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1);
	memcpy(buf, data + 1, len);
	if (mode & 1)
		fix_checksums(buf, len);

	struct dest d;
	struct mig_chan c;
	struct mig_receiver r;
	char err[512] = "";
	memset(&d, 0, sizeof(d));
	memset(&r, 0, sizeof(r));
	mig_chan_init_mem(&c, buf, len, 1 << 16);
	r.chan = &c;
	r.ops = &ops;
	r.opaque = &d;
	int ret = mig_recv(&r, err, sizeof(err));
	if (ret) {
		invariant(ret < 0 && err[0], "a refused stream has an errno and a message");
	} else {
		invariant(r.mem == &d.mem, "the memory received into is the callback's");
		invariant(r.reader.nsecs <= SNAP_MAX_SECTIONS, "the state was parsed");
		ret = mig_recv_ready(&r, err, sizeof(err));
		invariant(ret == 0 || err[0], "a missing COMMIT has a message");
	}
	mig_recv_free(&r);
	mig_chan_release(&c);
	for (int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(d.blocks[i]);
	free(buf);
	return 0;
}
