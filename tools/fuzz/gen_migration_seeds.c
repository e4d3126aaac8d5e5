/* Writes the seed corpus of fuzz_migration: streams made by the real sender (mig_send) over a
 * memory channel from small guest memories, each behind the target's mode byte (0: checksums as
 * written). Usage: fuzz_gen_migration_seeds DIR (creates DIR/migration/seed-*). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/migration/stream/mig_format.h"
#include "vmm/migration/stream/mig_frame.h"
#include "vmm/migration/stream/mig_send.h"

static char dir[512];

static void check(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "gen_migration_seeds: %s: %s\n", what, strerror(-ret));
		exit(1);
	}
}

static void save(const uint8_t *b, size_t len, const char *name, uint8_t mode)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(b, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "gen_migration_seeds: cannot write %s\n", path);
		exit(1);
	}
}

static int stop(void *o, char *e, size_t l)
{
	(void)o, (void)e, (void)l;
	return 0;
}
static void resume(void *o)
{
	(void)o;
}
static int state(void *o, struct snap_writer *w, char *e, size_t l)
{
	(void)o, (void)e, (void)l;
	int r = snap_put(w, 1, 0, "{\"vcpus\":2}", 11);
	return r ? r : snap_put(w, 16, 1, "regs", 4);
}
/* A guest that wrote pages 1 and 3 in every round. */
static int dirty_log(void *o, uint64_t *bitmap)
{
	(void)o;
	bitmap[0] |= 0xA;
	return 0;
}

/* The stream of a migration of `mem` (two rounds of dirty pages when `dirty`), with COMMIT. */
/* The CPU model HELLO carries in stream() when set (host/kvm/x86/cpu_model.h's encoding). */
static const uint8_t *cpu_model;
static size_t cpu_model_len;

static void stream(struct guest_mem *mem, bool dirty, const char *name)
{
	struct mig_chan reply, chan;
	uint8_t st[16];
	mig_chan_init_mem(&reply, NULL, 0, 4096);
	check(mig_frame_send(&reply, MIG_F_RESULT, st, mig_status_encode(0, "ok", st, sizeof(st)),
			     NULL, 0, -1),
	      "RESULT");
	struct mig_send_ops ops = {.stop_vm = stop, .resume_vm = resume, .save_state = state};
	if (dirty)
		ops.dirty_log = dirty_log;
	struct mig_sender s;
	mig_sender_init(&s);
	mig_chan_init_mem(&chan, reply.out, reply.out_len, 16 << 20);
	s.chan = &chan;
	s.mem = mem;
	s.ops = &ops;
	s.params = (struct mig_send_params){
	    .max_rounds = 2, .max_downtime_ms = 1, .nvcpus = 2, .config = "[]", .config_len = 2};
	s.params.cpu_model = cpu_model;
	s.params.cpu_model_len = cpu_model_len;
	char err[256];
	if (mig_send(&s, err, sizeof(err))) {
		fprintf(stderr, "gen_migration_seeds: %s\n", err);
		exit(1);
	}
	save(chan.out, chan.out_len, name, 0);
	mig_chan_release(&chan);
	mig_chan_release(&reply);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/migration", argv[1]);
	mkdir(dir, 0755);
	static uint8_t low[8 * 4096], high[2 * 4096];
	for (size_t i = 0; i < sizeof(low); i++)
		low[i] = (i / 4096) % 3 ? (uint8_t)(i * 5 + 1) : 0;
	memset(high, 0x5A, sizeof(high));
	struct guest_mem one = {0}, two = {0};
	check(guest_mem_add_region(&one, 0, low, sizeof(low)), "region");
	check(guest_mem_add_region(&two, 0, low, sizeof(low)), "region");
	check(guest_mem_add_region(&two, 0x100000, high, sizeof(high)), "region");
	stream(&one, false, "one-region");
	stream(&two, true, "two-regions-rounds");
	/* version 1, one entry (leaf 7.0, indexed, EBX with AVX-512F), no MSRs */
	static uint8_t model[16 + 32] = {1, 0, 0, 0, 1};
	model[16] = 7;
	model[16 + 8] = 1;
	model[16 + 16 + 2] = 1;
	cpu_model = model;
	cpu_model_len = sizeof(model);
	stream(&one, false, "cpu-model");
	cpu_model = NULL;
	cpu_model_len = 0;

	/* HELLO then ERROR (the source cancelled). */
	struct mig_chan c;
	uint8_t buf[256];
	struct mig_hello h = {0};
	mig_hello_from_mem(&h, &two);
	h.nvcpus = 1;
	mig_chan_init_mem(&c, NULL, 0, 1 << 16);
	check(mig_frame_send(&c, MIG_F_HELLO, buf, mig_hello_encode(&h, buf, sizeof(buf)), NULL, 0,
			     -1),
	      "HELLO");
	check(mig_frame_send(&c, MIG_F_ERROR, buf,
			     mig_status_encode(ECANCELED, "cancelled", buf, 64), NULL, 0, -1),
	      "ERROR");
	save(c.out, c.out_len, "cancelled", 1);
	mig_chan_release(&c);

	/* A local migration's HELLO and MEMFD, without the descriptor. */
	h.flags = MIG_HELLO_LOCAL;
	mig_chan_init_mem(&c, NULL, 0, 1 << 16);
	check(mig_frame_send(&c, MIG_F_HELLO, buf, mig_hello_encode(&h, buf, sizeof(buf)), NULL, 0,
			     -1),
	      "HELLO");
	mig_put_le(buf, h.ram_size, 8);
	check(mig_frame_send(&c, MIG_F_MEMFD, buf, 8, NULL, 0, -1), "MEMFD");
	save(c.out, c.out_len, "local-no-fd", 1);
	mig_chan_release(&c);

	/* A copying migration that hands a tap over (TAPFD), without the descriptor. */
	h.flags = MIG_HELLO_TAPFDS;
	mig_chan_init_mem(&c, NULL, 0, 1 << 16);
	check(mig_frame_send(&c, MIG_F_HELLO, buf, mig_hello_encode(&h, buf, sizeof(buf)), NULL, 0,
			     -1),
	      "HELLO");
	memset(buf, 0, MIG_TAPFD_LEN);
	mig_put_le(buf, 1, 4);
	check(mig_frame_send(&c, MIG_F_TAPFD, buf, MIG_TAPFD_LEN, NULL, 0, -1), "TAPFD");
	save(c.out, c.out_len, "tapfd-no-fd", 1);
	mig_chan_release(&c);
	guest_mem_free(&one); /* the dirty bitmaps mig_send() started; the blocks are static */
	guest_mem_free(&two);
	return 0;
}
