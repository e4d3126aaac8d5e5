/* virtio-mem's requests on guest-request (virtio 1.2 section 5.15.6): PLUG, UNPLUG, UNPLUG_ALL
 * and STATE, each answered with the response types 5.15.6.1-5.15.6.4 define. See
 * virtio/mem/mem.h for the rules, decided once there. */
#include "virtio/mem/internal.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "virtio/core/serve.h"

/* The request's range as blocks [*first, *first + nb), or false when 5.15.6 says ERROR: addr not
 * aligned to block_size, nb_blocks 0, or any block outside the usable region. */
static bool range_ok(const struct vmem *m, uint64_t addr, uint16_t nb, uint64_t *first)
{
	uint64_t base = le64toh(m->config.addr), bs = m->opts.block_size;
	uint64_t usable = le64toh(m->config.usable_region_size), off;

	if (nb == 0 || addr < base || (addr - base) % bs)
		return false;
	off = addr - base;
	/* nb * bs < 2^16 * 2^40: no overflow; usable <= region, so off < usable keeps it inside */
	if (off >= usable || (uint64_t)nb * bs > usable - off)
		return false;
	*first = off / bs;
	return true;
}

static uint64_t block_gpa(const struct vmem *m, uint64_t i)
{
	return le64toh(m->config.addr) + i * m->opts.block_size;
}

static uint16_t req_plug(struct vmem *m, uint64_t addr, uint16_t nb)
{
	uint64_t first, len = (uint64_t)nb * m->opts.block_size;
	int err;

	if (!range_ok(m, addr, nb, &first) || vmem_count_plugged(m, first, nb) != 0)
		return VIRTIO_MEM_RESP_ERROR;
	if (le64toh(m->config.plugged_size) + len > le64toh(m->config.requested_size))
		return VIRTIO_MEM_RESP_NACK; /* more than the host asked for */
	err = m->backend.plug(m->backend.opaque, block_gpa(m, first), len);
	if (err < 0) {
		log_warn("virtio-mem: cannot plug 0x%llx+0x%llx: %s", (unsigned long long)addr,
			 (unsigned long long)len, strerror(-err));
		return VIRTIO_MEM_RESP_BUSY;
	}
	vmem_mark(m, first, nb, true);
	vmem_sync_plugged(m);
	return VIRTIO_MEM_RESP_ACK;
}

static uint16_t req_unplug(struct vmem *m, uint64_t addr, uint16_t nb)
{
	uint64_t first, len = (uint64_t)nb * m->opts.block_size;
	int err;

	if (!range_ok(m, addr, nb, &first) || vmem_count_plugged(m, first, nb) != nb)
		return VIRTIO_MEM_RESP_ERROR;
	err = m->backend.unplug(m->backend.opaque, block_gpa(m, first), len);
	if (err < 0) {
		log_warn("virtio-mem: cannot unplug 0x%llx+0x%llx: %s", (unsigned long long)addr,
			 (unsigned long long)len, strerror(-err));
		return VIRTIO_MEM_RESP_BUSY;
	}
	vmem_mark(m, first, nb, false);
	vmem_sync_plugged(m);
	return VIRTIO_MEM_RESP_ACK;
}

/* Unplugs every plugged block (UNPLUG_ALL's work). Returns 0, or the first backend error (the
 * runs done so far stay unplugged). */
static int vmem_unplug_all(struct vmem *m)
{
	uint64_t from = 0, n;

	while ((n = vmem_next_run(m, &from)) != 0) {
		int err = m->backend.unplug(m->backend.opaque, block_gpa(m, from),
					    n * m->opts.block_size);

		if (err < 0) {
			vmem_sync_plugged(m);
			return err;
		}
		vmem_mark(m, from, n, false);
		from += n;
	}
	vmem_sync_plugged(m);
	return 0;
}

/* 5.15.6.3: plugged_size 0 on ACK; the usable region may shrink to fit requested_size, without
 * a config notification. */
static uint16_t req_unplug_all(struct vmem *m)
{
	int err = vmem_unplug_all(m);

	if (err < 0) {
		log_warn("virtio-mem: cannot unplug all: %s", strerror(-err));
		return VIRTIO_MEM_RESP_BUSY;
	}
	m->config.usable_region_size =
	    htole64(vmem_usable_for(m, le64toh(m->config.requested_size)));
	return VIRTIO_MEM_RESP_ACK;
}

static uint16_t req_state(struct vmem *m, uint64_t addr, uint16_t nb, uint16_t *state)
{
	uint64_t first, n;

	if (!range_ok(m, addr, nb, &first))
		return VIRTIO_MEM_RESP_ERROR;
	n = vmem_count_plugged(m, first, nb);
	*state = n == nb  ? VIRTIO_MEM_STATE_PLUGGED
		 : n == 0 ? VIRTIO_MEM_STATE_UNPLUGGED
			  : VIRTIO_MEM_STATE_MIXED;
	return VIRTIO_MEM_RESP_ACK;
}

/* Carries the request out; returns the response type and fills resp's state. The request's
 * plug, unplug and state members share one layout (addr, nb_blocks). */
static uint16_t execute(struct vmem *m, const struct virtio_mem_req *req,
			struct virtio_mem_resp *resp)
{
	uint64_t addr = le64toh(req->u.plug.addr);
	uint16_t nb = le16toh(req->u.plug.nb_blocks), state = 0, type;

	switch (le16toh(req->type)) {
	case VIRTIO_MEM_REQ_PLUG:
		type = req_plug(m, addr, nb);
		break;
	case VIRTIO_MEM_REQ_UNPLUG:
		type = req_unplug(m, addr, nb);
		break;
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		type = req_unplug_all(m);
		break;
	case VIRTIO_MEM_REQ_STATE:
		type = req_state(m, addr, nb, &state);
		resp->u.state.state = htole16(state);
		break;
	default:
		type = VIRTIO_MEM_RESP_ERROR;
		break;
	}
	return type;
}

static void count_answer(struct vmem *m, uint16_t type)
{
	if (type == VIRTIO_MEM_RESP_NACK)
		m->nacks++;
	else if (type == VIRTIO_MEM_RESP_BUSY)
		m->busy++;
	else if (type == VIRTIO_MEM_RESP_ERROR)
		m->errors++;
}

/* One chain: a 24-byte request (readable) and room for a 10-byte response (writable). The
 * request is copied out once, then looked at (no double fetch). */
int vmem_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes)
{
	struct vmem *m = to_vmem(dev);
	struct virtio_mem_req req;
	struct virtio_mem_resp resp;

	(void)opaque;
	memset(&resp, 0, sizeof(resp));
	if (vq_chain_writable(chain) < sizeof(resp)) {
		log_guest_warn(
		    "virtio-mem: request without room for its response; not carried out");
		virtio_dev_count_error(dev);
		return VIRTIO_CHAIN_PUSH;
	}
	if (vq_chain_readable(chain) < sizeof(req) ||
	    vq_chain_read(chain, dev->mem, &req, sizeof(req)) < 0)
		resp.type = htole16(VIRTIO_MEM_RESP_ERROR);
	else
		resp.type = htole16(execute(m, &req, &resp));
	count_answer(m, le16toh(resp.type));
	if (resp.type != htole16(VIRTIO_MEM_RESP_ACK))
		virtio_dev_count_error(dev);
	if (vq_chain_write(chain, dev->mem, &resp, sizeof(resp)) < 0)
		return -EFAULT;
	*bytes += sizeof(req);
	return VIRTIO_CHAIN_PUSH;
}
