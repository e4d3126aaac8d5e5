/* libFuzzer target: the vhost-user front-end (virtio/vhost_user/) against a hostile back-end.
 * The input is a few bytes of parameters (the ring the "driver" programmed, the features to ack,
 * a config window) and then everything the back-end answers, written up front into the back-end
 end of a socketpair, which stays open (a hang-up is final even with bytes unread, see
 * vu_conn_alive(), so a shut stream would end most sequences at the first health check): the
 * front-end runs its whole sequence (handshake, features, memory table, a ring started and
 * stopped, config read and write, reset) against those bytes with a zero timeout, so a missing
 * answer is an immediate -ETIMEDOUT and no input can block; test_vhost_user covers hang-ups. The
 same bytes also go straight into the reply parser.
 * Invariants: every failure leaves a sentence in `error`; once broken the front-end sends
 * nothing more (-ENOTCONN); a ring is never sent unless the whole of it lies in the memory
 * table; a config reply never gives more bytes than asked for. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/vhost_user/vu_frontend.h"
#include "virtio/vhost_user/vu_frontend_test.h"
#include "virtio/vhost_user/vu_mem_test.h"
#include "virtio/vhost_user/vu_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARAM_BYTES 20
#define RAM_SIZE    0x100000ull

static int evfd = -1;

/* The reply parser alone, with each kind of expectation. */
static void parse_directly(const uint8_t *data, size_t size)
{
	struct vu_reply_want w[] = {
	    {.request = VU_GET_FEATURES, .kind = VU_REPLY_U64},
	    {.request = VU_GET_VRING_BASE, .kind = VU_REPLY_STATE, .index = 0},
	    {.request = VU_GET_CONFIG, .kind = VU_REPLY_CONFIG, .config_size = 8},
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct vu_reply r;
		const char *why = NULL;
		int err = vu_msg_parse_reply(data, size, &w[i], &r, &why);
		FZ_ASSERT(err == 0 || err == -EPROTO || err == -EIO, "parse: %d", err);
		FZ_ASSERT(err == 0 || why, "a refusal without a reason");
		if (!err && w[i].kind == VU_REPLY_CONFIG)
			FZ_ASSERT(r.config + w[i].config_size <= data + size,
				  "config past the reply");
		if (!err && w[i].kind == VU_REPLY_STATE)
			FZ_ASSERT(r.state_num <= 0xffff, "base %u", r.state_num);
	}
}

static void check(struct vu_frontend *f, int err)
{
	FZ_ASSERT(err <= 0, "positive %d", err);
	FZ_ASSERT(err == 0 || f->error[0], "failure %d without a message", err);
	if (!vu_frontend_alive(f))
		FZ_ASSERT(vu_frontend_set_features(f, 0) == -ENOTCONN, "broken but still sending");
}

static void run_sequence(struct vu_frontend *f, struct fz_in *p)
{
	struct vu_mem_table t = {0};
	struct vu_region r = {.gpa = 0, .size = RAM_SIZE, .uaddr = 0x7f0000000000, .fd = evfd};
	vu_mem_table_add(&t, &r);

	check(f, vu_frontend_set_features(f, fz_uint(p, 8) & f->features));
	check(f, vu_frontend_set_mem_table(f, &t));
	struct vu_vring_cfg v = {.ring = {.num = 1u << (fz_uint(p, 1) % 17),
					  .desc = fz_uint(p, 2) << 4,
					  .avail = fz_uint(p, 2) << 4,
					  .used = fz_uint(p, 2) << 4},
				 .base = (uint16_t)fz_uint(p, 1),
				 .kick_fd = evfd,
				 .call_fd = evfd,
				 .err_fd = -1};
	unsigned index = (unsigned)fz_uint(p, 1) % 4;
	uint64_t d, a, u;
	bool inside = vu_ring_translate(&t, &v.ring, &d, &a, &u) == 0;
	int err = vu_frontend_start_vring(f, index, &v);
	check(f, err);
	FZ_ASSERT(inside || err, "a ring outside the table was started");
	uint16_t base;
	check(f, vu_frontend_stop_vring(f, index, &base));
	check(f, vu_frontend_start_vring(f, index, &v));
	uint8_t cfg[VU_MAX_CONFIG_SIZE + 16];
	uint32_t off = (uint32_t)fz_uint(p, 1), len = (uint32_t)fz_uint(p, 1) % 65;
	memset(cfg, 0xa5, sizeof(cfg));
	check(f, vu_frontend_get_config(f, off, cfg, len));
	for (size_t i = len; i < sizeof(cfg); i++)
		FZ_ASSERT(cfg[i] == 0xa5, "config wrote past %u bytes", len);
	check(f, vu_frontend_set_config(f, off, cfg, len));
	check(f, vu_frontend_reset(f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (evfd < 0)
		evfd = eventfd(0, EFD_CLOEXEC);
	parse_directly(data, size);
	struct fz_in params = fz_in_make(data, size < PARAM_BYTES ? size : PARAM_BYTES);
	const uint8_t *replies = data + params.len;
	size_t nreplies = size - params.len;
	if (nreplies > 65536)
		nreplies =
		    65536; /* what the socket buffer surely holds: the write must not block */

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* all the back-end will ever say; its end stays open (see the top) */
	int bufsize = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	if (nreplies && write(sv[1], replies, nreplies) != (ssize_t)nreplies)
		abort();

	struct vu_frontend f;
	vu_frontend_init(&f);
	int err = vu_frontend_attach(&f, sv[0], 0);
	check(&f, err);
	if (!err)
		run_sequence(&f, &params);
	vu_frontend_close(&f);
	close(sv[1]);
	return 0;
}
