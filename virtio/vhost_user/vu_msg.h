/* The vhost-user message codec: builds the front-end's requests into byte buffers and checks a
 * back-end's reply, a pure function of its bytes (tools/fuzz/fuzz_vhost_user.c drives it).
 *
 * Requests are built into a caller's buffer of VU_MAX_MSG bytes; each builder returns the
 * message's length. A reply is accepted only when every field is what the request allows. */
#ifndef VIRTIO_VHOST_USER_MSG_H
#define VIRTIO_VHOST_USER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/vhost_user/vu_proto.h"

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes after the header */
};

/* A ring's addresses as the back-end sees them: front-end virtual addresses of the memory
 * table's regions (not guest-physical), see vu_mem.h. */
struct vu_vring_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: log the used ring (migration); always 0 here */
	uint64_t desc, used, avail, log;
};

/* One SET_MEM_TABLE region. */
struct vu_mem_region_msg {
	uint64_t gpa, size, uaddr, mmap_offset;
};

/* Header-only (SET_OWNER, RESET_DEVICE, GET_* requests). */
size_t vu_msg_build_empty(uint8_t *buf, uint32_t request, uint32_t flags);
/* A u64 payload (SET_FEATURES, SET_PROTOCOL_FEATURES, SET_VRING_KICK/CALL/ERR). */
size_t vu_msg_build_u64(uint8_t *buf, uint32_t request, uint32_t flags, uint64_t value);
/* A vring state (index, num): SET_VRING_NUM/BASE/ENABLE, GET_VRING_BASE. */
size_t vu_msg_build_state(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t index,
			  uint32_t num);
size_t vu_msg_build_vring_addr(uint8_t *buf, uint32_t flags, const struct vu_vring_addr *a);
/* SET_MEM_TABLE with n (1..VU_MAX_REGIONS) regions; 0 when n is out of range. */
size_t vu_msg_build_mem_table(uint8_t *buf, uint32_t flags, const struct vu_mem_region_msg *r,
			      unsigned n);
/* GET_CONFIG (data NULL: the payload is zeros) or SET_CONFIG with `size` bytes at `offset`;
 * 0 when size is 0 or above VU_MAX_CONFIG_SIZE. */
size_t vu_msg_build_config(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t offset,
			   uint32_t size, const void *data);

/* Reads the header of a message (len >= VU_HDR_SIZE). */
void vu_msg_read_hdr(const uint8_t *buf, struct vu_hdr *h);

/* What a reply must look like. */
enum vu_reply_kind {
	VU_REPLY_U64,	/* GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, a reply-ack */
	VU_REPLY_STATE, /* GET_VRING_BASE: the ring index asked for, a 16-bit base */
	VU_REPLY_CONFIG /* GET_CONFIG: the offset and size asked for */
};

struct vu_reply_want {
	uint32_t request;
	enum vu_reply_kind kind;
	uint32_t index;		/* STATE: the ring asked about */
	uint32_t config_offset; /* CONFIG */
	uint32_t config_size;	/* CONFIG: 1..VU_MAX_CONFIG_SIZE */
};

struct vu_reply {
	uint64_t u64;	       /* U64 */
	uint32_t state_num;    /* STATE */
	const uint8_t *config; /* CONFIG: config_size bytes inside the message */
};

/* Checks reply `msg` (`len` bytes: header and the whole payload) against `want`: version 1, the
 * REPLY flag, the same request, the payload size of its kind, and for STATE the same index and
 * a base below 2^16, for CONFIG the same offset and size. Returns 0 with `out` filled, -EIO when
 * the back-end reports a failure the protocol way (an empty GET_CONFIG payload), or -EPROTO with
 * a reason in `why` (a static string) for anything else. */
int vu_msg_parse_reply(const uint8_t *msg, size_t len, const struct vu_reply_want *want,
		       struct vu_reply *out, const char **why);

#endif
