/* Live migration, the destination side (mig_recv.h). */
#include "vmm/migration/stream/mig_recv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "vmm/snapshot/format/snap_err.h"

/* What the stream may carry next. */
enum stage {
	ST_HELLO,  /* nothing yet */
	ST_MEMORY, /* MEM and ROUND (or MEMFD for a local migration), then STATE */
	ST_STATE,  /* more STATE, then END */
	ST_DONE,
};

static int check_shape(const struct mig_hello *h, const struct guest_mem *mem, char *err,
		       size_t errlen)
{
	bool same = mem->nregions == (int)h->nregions && mem->ram_size == h->ram_size;
	for (int i = 0; same && i < mem->nregions; i++)
		same = mem->regions[i].gpa == h->regions[i].gpa &&
		       mem->regions[i].size == h->regions[i].size;
	if (!same)
		return snap_err(err, errlen, -EINVAL,
				"the source's RAM (%llu bytes in %u regions) is not this VM's "
				"(%llu bytes in %d)",
				(unsigned long long)h->ram_size, h->nregions,
				(unsigned long long)mem->ram_size, mem->nregions);
	return 0;
}

static int on_hello(struct mig_receiver *r, char *err, size_t errlen)
{
	struct mig_hello h;
	int ret = mig_hello_decode(r->frame.buf, r->frame.len, &h, err, errlen);
	if (ret)
		return ret;
	r->config = malloc(h.config_len + 1);
	if (!r->config)
		return snap_err(err, errlen, -ENOMEM, "out of memory");
	memcpy(r->config, h.config, h.config_len);
	r->config[h.config_len] = 0;
	h.config = r->config;
	r->hello = h;
	ret = r->ops->hello(r->opaque, &r->hello, &r->mem, err, errlen);
	if (ret)
		return ret;
	bool local = h.flags & MIG_HELLO_LOCAL;
	if (!local && !r->mem)
		return snap_err(err, errlen, -EINVAL, "no guest memory to receive into");
	if (r->mem)
		ret = check_shape(&h, r->mem, err, errlen);
	r->stage = ST_MEMORY;
	return ret;
}

static int on_mem(struct mig_receiver *r, char *err, size_t errlen)
{
	struct mig_mem m;
	if (r->hello.flags & MIG_HELLO_LOCAL)
		return snap_err(err, errlen, -EINVAL, "MEM frame in a local migration");
	int ret = mig_mem_decode(r->frame.buf, r->frame.len, &r->hello, &m, err, errlen);
	if (ret)
		return ret;
	uint8_t *dst = r->mem->regions[m.region].host + m.offset;
	/* a page never written stays unallocated: a memfd's holes are not even read */
	struct guest_zero_scan zs = {.r = &r->mem->regions[m.region]};
	for (uint32_t i = 0; i < m.npages; i++) {
		uint8_t *page = dst + (size_t)i * MIG_PAGE;
		if (!(m.flags & MIG_MEM_ZERO))
			memcpy(page, r->frame.buf + MIG_MEM_HDR + (size_t)i * MIG_PAGE, MIG_PAGE);
		else if (!guest_zero_scan_page(&zs, m.offset + (uint64_t)i * MIG_PAGE,
					       m.npages - i))
			memset(page, 0, MIG_PAGE);
	}
	r->round_pages += m.npages;
	r->pages += m.npages;
	return 0;
}

static int on_round(struct mig_receiver *r, char *err, size_t errlen)
{
	struct mig_round m;
	int ret = mig_round_decode(r->frame.buf, r->frame.len, &m, err, errlen);
	if (ret)
		return ret;
	if (m.round != r->rounds + 1 || m.pages != r->round_pages)
		return snap_err(err, errlen, -EINVAL,
				"ROUND %u of %llu pages, expected round %u of %llu pages", m.round,
				(unsigned long long)m.pages, r->rounds + 1,
				(unsigned long long)r->round_pages);
	r->rounds++;
	r->round_pages = 0;
	return 0;
}

static void send_result(struct mig_receiver *r, int code, const char *msg)
{
	uint8_t buf[4 + MIG_MAX_MSG];
	size_t n = mig_status_encode((uint32_t)code, msg, buf, sizeof(buf));
	mig_frame_send(r->chan, MIG_F_RESULT, buf, n, NULL, 0, -1);
}

static int on_memfd(struct mig_receiver *r, char *err, size_t errlen)
{
	int fd = r->chan->rx_fd;
	r->chan->rx_fd = -1;
	if (!(r->hello.flags & MIG_HELLO_LOCAL) || r->mem || r->rounds) {
		if (fd >= 0)
			close(fd);
		return snap_err(err, errlen, -EINVAL, "MEMFD frame out of place");
	}
	if (fd < 0)
		return snap_err(err, errlen, -EINVAL, "MEMFD frame without a file descriptor");
	if (r->frame.len != 8 || mig_get_le(r->frame.buf, 8) != r->hello.ram_size) {
		close(fd);
		return snap_err(err, errlen, -EINVAL, "MEMFD frame does not match HELLO's RAM");
	}
	int ret = r->ops->memfd(r->opaque, fd, &r->hello, &r->mem, err, errlen);
	if (!ret && !r->mem)
		ret = snap_err(err, errlen, -EINVAL, "no guest memory from the memfd");
	if (!ret)
		ret = check_shape(&r->hello, r->mem, err, errlen);
	if (!ret && (r->hello.flags & MIG_HELLO_PREMAP)) {
		/* the source's guest runs on meanwhile: the page tables are filled outside its
		 * pause */
		mig_local_populate(r->mem, MIG_POPULATE_BUDGET_MS);
		send_result(r, 0, "memory mapped");
	}
	return ret;
}

/* A NIC's tap, handed over after the pause: kept by NIC index for the VM's build. */
static int on_tapfd(struct mig_receiver *r, char *err, size_t errlen)
{
	int fd = r->chan->rx_fd;
	r->chan->rx_fd = -1;
	uint32_t nic = r->frame.len == MIG_TAPFD_LEN ? (uint32_t)mig_get_le(r->frame.buf, 4) : 0;
	int ret = 0;
	if (!(r->hello.flags & MIG_HELLO_TAPFDS))
		ret = snap_err(err, errlen, -EINVAL, "TAPFD frame without HELLO's TAPFDS flag");
	else if (r->frame.len != MIG_TAPFD_LEN || mig_get_le(r->frame.buf + 4, 4))
		ret = snap_err(err, errlen, -EINVAL, "TAPFD frame of %u bytes (%u)", r->frame.len,
			       MIG_TAPFD_LEN);
	else if (nic >= MIG_MAX_TAPFDS)
		ret = snap_err(err, errlen, -EINVAL, "TAPFD for NIC %u (0..%u)", nic,
			       MIG_MAX_TAPFDS - 1);
	else if (r->taps & (1u << nic))
		ret = snap_err(err, errlen, -EINVAL, "a second TAPFD for NIC %u", nic);
	else if (fd < 0)
		ret = snap_err(err, errlen, -EINVAL, "TAPFD frame without a file descriptor");
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	r->tapfd[nic] = fd;
	r->taps |= 1u << nic;
	return 0;
}

static int on_state(struct mig_receiver *r, char *err, size_t errlen)
{
	if (r->stage == ST_MEMORY && !(r->hello.flags & MIG_HELLO_LOCAL) &&
	    (!r->rounds || r->round_pages))
		return snap_err(err, errlen, -EINVAL, "STATE before the memory's last round ended");
	if (r->stage == ST_MEMORY && !r->mem)
		return snap_err(err, errlen, -EINVAL, "STATE before the local memory arrived");
	r->stage = ST_STATE;
	size_t len = r->frame.len;
	if (!len) /* nothing to keep (and r->state may still be NULL) */
		return 0;
	if (len > SNAP_MAX_FILE - r->state_len)
		return snap_err(err, errlen, -EINVAL, "state larger than %u bytes",
				(unsigned)SNAP_MAX_FILE);
	if (r->state_len + len > r->state_cap) {
		size_t cap = r->state_cap ? r->state_cap : 65536;
		while (cap < r->state_len + len)
			cap *= 2;
		uint8_t *p = realloc(r->state, cap);
		if (!p)
			return snap_err(err, errlen, -ENOMEM, "out of memory for the state");
		r->state = p;
		r->state_cap = cap;
	}
	memcpy(r->state + r->state_len, r->frame.buf, len);
	r->state_len += len;
	return 0;
}

static int on_end(struct mig_receiver *r, char *err, size_t errlen)
{
	struct mig_end e;
	int ret = mig_end_decode(r->frame.buf, r->frame.len, &e, err, errlen);
	if (ret)
		return ret;
	if (r->stage != ST_STATE)
		return snap_err(err, errlen, -EINVAL, "END before the state");
	if (e.frames != r->frame.frames || e.bytes != r->frame.bytes)
		return snap_err(err, errlen, -EINVAL,
				"END counts %llu frames of %llu bytes, received %llu of %llu",
				(unsigned long long)e.frames, (unsigned long long)e.bytes,
				(unsigned long long)r->frame.frames,
				(unsigned long long)r->frame.bytes);
	char why[200];
	ret = snap_parse(&r->reader, r->state, r->state_len, why, sizeof(why));
	if (ret)
		return snap_err(err, errlen, ret, "the VM state: %s", why);
	r->stage = ST_DONE;
	return 0;
}

static int on_error(struct mig_receiver *r, char *err, size_t errlen)
{
	struct mig_status s;
	int ret = mig_status_decode(r->frame.buf, r->frame.len, &s, err, errlen);
	if (ret)
		return ret;
	return snap_err(err, errlen, s.code == ECANCELED ? -ECANCELED : -EPIPE,
			"the source gave up: %.*s", (int)s.msg_len, s.msg);
}

/* The frame types allowed at each stage. */
static bool allowed(int stage, uint32_t type)
{
	switch (type) {
	case MIG_F_HELLO:
		return stage == ST_HELLO;
	case MIG_F_MEM:
	case MIG_F_ROUND:
	case MIG_F_MEMFD:
	case MIG_F_TAPFD:
		return stage == ST_MEMORY;
	case MIG_F_STATE:
		return stage == ST_MEMORY || stage == ST_STATE;
	case MIG_F_END:
		return stage == ST_STATE;
	case MIG_F_ERROR:
		return stage != ST_DONE;
	default:
		return false;
	}
}

static int dispatch(struct mig_receiver *r, char *err, size_t errlen)
{
	uint32_t type = r->frame.type;
	if (!allowed(r->stage, type))
		return snap_err(err, errlen, -EINVAL, "unexpected %s frame (type %u) at frame %llu",
				mig_frame_name(type), type, (unsigned long long)r->frame.frames);
	switch (type) {
	case MIG_F_HELLO:
		return on_hello(r, err, errlen);
	case MIG_F_MEM:
		return on_mem(r, err, errlen);
	case MIG_F_ROUND:
		return on_round(r, err, errlen);
	case MIG_F_MEMFD:
		return on_memfd(r, err, errlen);
	case MIG_F_TAPFD:
		return on_tapfd(r, err, errlen);
	case MIG_F_STATE:
		return on_state(r, err, errlen);
	case MIG_F_END:
		return on_end(r, err, errlen);
	default:
		return on_error(r, err, errlen);
	}
}

int mig_recv(struct mig_receiver *r, char *err, size_t errlen)
{
	int ret = mig_frame_init(&r->frame);
	if (ret)
		return snap_err(err, errlen, ret, "out of memory");
	r->stage = ST_HELLO;
	while (r->stage != ST_DONE) {
		ret = mig_frame_recv(r->chan, &r->frame, err, errlen);
		if (!ret)
			ret = dispatch(r, err, errlen);
		if (ret)
			break;
		/* after a round the source may pause and send the final one at once */
		r->chan->spin_us = r->frame.type == MIG_F_ROUND ? MIG_CHAN_SPIN_US : 0;
		r->frame.frames++;
		r->frame.bytes += r->frame.len;
	}
	/* the frame buffer (up to MIG_MAX_PAYLOAD) stays until mig_recv_free(): unmapping it
	 * took ~0.1 ms of the guest's pause on the test host */
	return ret;
}

int mig_recv_ready(struct mig_receiver *r, char *err, size_t errlen)
{
	uint8_t hdr[MIG_FRAME_HDR];
	send_result(r, 0, "ready");
	r->chan->spin_us = MIG_CHAN_SPIN_US; /* COMMIT is due at once */
	int ret = mig_chan_read(r->chan, hdr, sizeof(hdr));
	r->chan->spin_us = 0;
	if (ret)
		return snap_err(err, errlen, ret,
				"no COMMIT from the source (%s): not running the VM",
				strerror(-ret));
	/* COMMIT has no payload: its header is fixed, checksum included. */
	uint8_t want[MIG_FRAME_HDR];
	struct mig_chan mem;
	mig_chan_init_mem(&mem, NULL, 0, sizeof(want));
	mig_frame_send(&mem, MIG_F_COMMIT, NULL, 0, NULL, 0, -1);
	memcpy(want, mem.out, sizeof(want));
	mig_chan_release(&mem);
	if (memcmp(hdr, want, sizeof(want)))
		return snap_err(err, errlen, -EINVAL,
				"the source answered %s instead of COMMIT: not running the VM",
				mig_frame_name((uint32_t)mig_get_le(hdr, 4)));
	return 0;
}

void mig_recv_refuse(struct mig_receiver *r, int code, const char *msg)
{
	int saved = r->chan->timeout_ms;
	r->chan->timeout_ms = 500;
	send_result(r, code > 0 ? code : EIO, msg);
	r->chan->timeout_ms = saved;
}

int mig_local_map(struct guest_mem *mem, int fd, const struct mig_hello *h, char *err,
		  size_t errlen)
{
	struct stat st;
	memset(mem, 0, sizeof(*mem));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != h->ram_size) {
		close(fd);
		return snap_err(err, errlen, -EINVAL,
				"the source's memory file is not a file of %llu bytes",
				(unsigned long long)h->ram_size);
	}
	mem->owned = true;
	mem->shared = true;
	uint64_t off = 0;
	for (uint32_t i = 0; i < h->nregions; i++) {
		void *p = mmap(NULL, h->regions[i].size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_NORESERVE, fd, (off_t)off);
		int ret = p == MAP_FAILED ? -errno : 0;
		if (!ret)
			ret = guest_mem_add_shared_region(mem, h->regions[i].gpa, p,
							  h->regions[i].size, fd, off);
		if (ret) {
			if (p != MAP_FAILED)
				munmap(p, h->regions[i].size);
			if (!mem->nregions)
				close(fd);
			guest_mem_free(mem); /* closes fd when a region holds it */
			return snap_err(err, errlen, ret, "mapping the source's memory: %s",
					strerror(-ret));
		}
		off += h->regions[i].size;
	}
	return 0;
}

/* Pages of one mincore() call (its vector is on the stack). */
#define POPULATE_CHUNK 4096u

/* Populates one chunk's runs of resident pages; false when populating failed. */
static bool populate_resident(uint8_t *host, size_t npages, uint64_t *done)
{
	unsigned char vec[POPULATE_CHUNK];
	if (mincore(host, npages * MIG_PAGE, vec))
		return false;
	for (size_t i = 0; i < npages;) {
		size_t run = 0;
		while (i + run < npages && (vec[i + run] & 1))
			run++;
		if (run && madvise(host + i * MIG_PAGE, run * MIG_PAGE, MADV_POPULATE_WRITE))
			return false;
		*done += run;
		i += run ? run : 1;
	}
	return true;
}

uint64_t mig_local_populate(const struct guest_mem *mem, unsigned budget_ms)
{
	uint64_t done = 0, end = mono_ns() / 1000000u + budget_ms;
	for (int ri = 0; ri < mem->nregions; ri++) {
		const struct guest_region *g = &mem->regions[ri];
		size_t pages = g->size / MIG_PAGE;
		for (size_t p = 0; p < pages; p += POPULATE_CHUNK) {
			size_t n = pages - p < POPULATE_CHUNK ? pages - p : POPULATE_CHUNK;
			if (!populate_resident((uint8_t *)g->host + p * MIG_PAGE, n, &done) ||
			    mono_ns() / 1000000u >= end)
				return done;
		}
	}
	return done;
}

void mig_recv_free(struct mig_receiver *r)
{
	for (uint32_t i = 0; i < MIG_MAX_TAPFDS; i++)
		if (r->taps & (1u << i))
			close(r->tapfd[i]);
	r->taps = 0;
	snap_close(&r->reader);
	free(r->state);
	free(r->config);
	mig_frame_free(&r->frame);
	r->state = NULL;
	r->config = NULL;
	r->state_len = r->state_cap = 0;
}
