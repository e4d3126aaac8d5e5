/* libFuzzer target: the qcow2 image layer (virtio/blk/qcow2_*.c): header and extension parser,
 * table checks, L1/L2 lookup, refcounts, allocation, compressed and zero clusters, flush.
 * Input: one byte `n` (ops = n % 9, bit 7: open read-only), then `ops` operations of 7 bytes
 * (kind, a 32-bit offset in 512-byte units, a 16-bit length in 512-byte units), then the image
 * file, put in a memfd. Backing files are refused (no_backing): the fuzzer opens no host path.
 * Invariants: a refused image gives a negative errno and a message; on an accepted one every
 * request returns 0 or a negative errno, the first 72 header bytes are never written, and the
 * file grows by at most what the requests could allocate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_input.h"
#include "virtio/blk/qcow2.h"

#define MAX_LEN (64u * 1024)

static uint8_t buf[MAX_LEN];

#define INVARIANT(c)                                                                               \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "INVARIANT: %s (%s:%d)\n", #c, __FILE__, __LINE__);        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void one_op(struct qcow2 *q, struct fz_in *in)
{
	uint8_t kind = (uint8_t)fz_uint(in, 1);
	uint64_t size = qcow2_size(q);
	uint64_t off = fz_uint(in, 4) * 512, len = (fz_uint(in, 2) % (MAX_LEN / 512) + 1) * 512;
	if (size < len)
		return;
	off %= size - len + 1;
	struct iovec iov = {buf, (size_t)len};
	int r = 0;
	switch (kind % 6) {
	case 0:
		r = qcow2_readv(q, &iov, 1, off);
		break;
	case 1:
		memset(buf, kind, len);
		r = qcow2_writev(q, &iov, 1, off);
		break;
	case 2:
		r = qcow2_write_zeroes(q, off, len);
		break;
	case 3:
		r = qcow2_flush(q);
		break;
	case 4: /* DISCARD */
	case 5: /* WRITE_ZEROES with UNMAP */
		r = qcow2_discard(q, off, len, kind % 6 == 5);
		break;
	}
	INVARIANT(r <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	uint8_t n = (uint8_t)fz_uint(&in, 1), head[72], now[72];
	unsigned ops = n % 9;
	struct fz_in op_in =
	    fz_in_make(data + in.pos, fz_left(&in) < ops * 7 ? fz_left(&in) : ops * 7);
	in.pos += op_in.len;
	size_t got;
	const uint8_t *img = fz_take(&in, fz_left(&in), &got);

	int fd = memfd_create("qcow2", MFD_CLOEXEC);
	INVARIANT(fd >= 0);
	INVARIANT(write(fd, img, got) == (ssize_t)got);
	memset(head, 0, sizeof(head));
	memcpy(head, img, got < sizeof(head) ? got : sizeof(head));

	char err[512] = "";
	struct qcow2 *q;
	struct qcow2_open_opts o = {.ro = n & 0x80, .no_backing = true, .path = "fuzz.qcow2"};
	int r = qcow2_open(&q, fd, &o, err, sizeof(err));
	if (r) {
		INVARIANT(r < 0 && err[0]);
		close(fd);
		return 0;
	}
	for (unsigned i = 0; i < ops; i++)
		one_op(q, &op_in);
	qcow2_close(q);

	struct stat st;
	INVARIANT(fstat(fd, &st) == 0);
	/* each request allocates at most its clusters plus their tables (2 MiB clusters at most) */
	INVARIANT((uint64_t)st.st_size <=
		  got + (uint64_t)ops * 4 * ((MAX_LEN / 512 + 2) << 21) + (4u << 21));
	memset(now, 0, sizeof(now));
	INVARIANT(pread(fd, now, sizeof(now), 0) >= 0);
	INVARIANT(!memcmp(now, head, got < sizeof(now) ? got : sizeof(now)));
	close(fd);
	return 0;
}
