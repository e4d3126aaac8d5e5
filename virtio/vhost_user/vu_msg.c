/* The vhost-user message codec (QEMU docs/interop/vhost-user.rst, "Message specification"). */
#include "virtio/vhost_user/vu_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static size_t put_hdr(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t size)
{
	put32(buf, request);
	put32(buf + 4, VU_FLAG_VERSION | (flags & ~VU_FLAG_VERSION_MASK));
	put32(buf + 8, size);
	return VU_HDR_SIZE + size;
}

size_t vu_msg_build_empty(uint8_t *buf, uint32_t request, uint32_t flags)
{
	return put_hdr(buf, request, flags, 0);
}

size_t vu_msg_build_u64(uint8_t *buf, uint32_t request, uint32_t flags, uint64_t value)
{
	put64(buf + VU_HDR_SIZE, value);
	return put_hdr(buf, request, flags, 8);
}

size_t vu_msg_build_state(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t index,
			  uint32_t num)
{
	put32(buf + VU_HDR_SIZE, index);
	put32(buf + VU_HDR_SIZE + 4, num);
	return put_hdr(buf, request, flags, 8);
}

size_t vu_msg_build_vring_addr(uint8_t *buf, uint32_t flags, const struct vu_vring_addr *a)
{
	uint8_t *p = buf + VU_HDR_SIZE;
	put32(p, a->index);
	put32(p + 4, a->flags);
	put64(p + 8, a->desc);
	put64(p + 16, a->used);
	put64(p + 24, a->avail);
	put64(p + 32, a->log);
	return put_hdr(buf, VU_SET_VRING_ADDR, flags, VU_VRING_ADDR_SIZE);
}

size_t vu_msg_build_mem_table(uint8_t *buf, uint32_t flags, const struct vu_mem_region_msg *r,
			      unsigned n)
{
	if (n == 0 || n > VU_MAX_REGIONS)
		return 0;
	uint8_t *p = buf + VU_HDR_SIZE;
	put32(p, n);
	put32(p + 4, 0); /* padding */
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = p + 8 + i * VU_MEM_REGION_SIZE;
		put64(e, r[i].gpa);
		put64(e + 8, r[i].size);
		put64(e + 16, r[i].uaddr);
		put64(e + 24, r[i].mmap_offset);
	}
	return put_hdr(buf, VU_SET_MEM_TABLE, flags, 8 + n * VU_MEM_REGION_SIZE);
}

size_t vu_msg_build_config(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t offset,
			   uint32_t size, const void *data)
{
	if (size == 0 || size > VU_MAX_CONFIG_SIZE)
		return 0;
	uint8_t *p = buf + VU_HDR_SIZE;
	put32(p, offset);
	put32(p + 4, size);
	put32(p + 8, 0); /* flags: 0 = a writable field, not live migration */
	if (data)
		memcpy(p + VU_CONFIG_HDR_SIZE, data, size);
	else
		memset(p + VU_CONFIG_HDR_SIZE, 0, size);
	return put_hdr(buf, request, flags, VU_CONFIG_HDR_SIZE + size);
}

void vu_msg_read_hdr(const uint8_t *buf, struct vu_hdr *h)
{
	h->request = get32(buf);
	h->flags = get32(buf + 4);
	h->size = get32(buf + 8);
}

static int bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EPROTO;
}

static int parse_state(const uint8_t *p, uint32_t size, const struct vu_reply_want *want,
		       struct vu_reply *out, const char **why)
{
	if (size != 8)
		return bad(why, "vring state payload is not 8 bytes");
	if (get32(p) != want->index)
		return bad(why, "vring state names another ring");
	out->state_num = get32(p + 4);
	/* a split ring's last_avail_idx is 16 bits (virtio 1.2 2.7.6) */
	if (out->state_num > 0xffff)
		return bad(why, "vring base above 16 bits");
	return 0;
}

static int parse_config(const uint8_t *p, uint32_t size, const struct vu_reply_want *want,
			struct vu_reply *out, const char **why)
{
	/* The spec's failure signal: "uses zero length of payload to indicate an error". */
	if (size == 0) {
		if (why)
			*why = "back-end failed GET_CONFIG (empty payload)";
		return -EIO;
	}
	if (size != VU_CONFIG_HDR_SIZE + want->config_size)
		return bad(why, "config payload size differs from the request");
	if (get32(p) != want->config_offset || get32(p + 4) != want->config_size)
		return bad(why, "config offset or size differs from the request");
	out->config = p + VU_CONFIG_HDR_SIZE;
	return 0;
}

int vu_msg_parse_reply(const uint8_t *msg, size_t len, const struct vu_reply_want *want,
		       struct vu_reply *out, const char **why)
{
	struct vu_hdr h;

	memset(out, 0, sizeof(*out));
	if (len < VU_HDR_SIZE)
		return bad(why, "reply shorter than a header");
	vu_msg_read_hdr(msg, &h);
	if ((h.flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION)
		return bad(why, "reply has a protocol version other than 1");
	if (!(h.flags & VU_FLAG_REPLY))
		return bad(why, "message lacks the reply flag");
	if (h.request != want->request)
		return bad(why, "reply to another request");
	if (h.size > VU_MAX_PAYLOAD || h.size != len - VU_HDR_SIZE)
		return bad(why, "reply payload size wrong");
	const uint8_t *p = msg + VU_HDR_SIZE;
	switch (want->kind) {
	case VU_REPLY_U64:
		if (h.size != 8)
			return bad(why, "u64 payload is not 8 bytes");
		out->u64 = get64(p);
		return 0;
	case VU_REPLY_STATE:
		return parse_state(p, h.size, want, out, why);
	case VU_REPLY_CONFIG:
		return parse_config(p, h.size, want, out, why);
	}
	return bad(why, "unknown reply kind");
}

const char *vu_request_name(uint32_t request)
{
	static const char *const names[] = {
	    [VU_GET_FEATURES] = "GET_FEATURES",
	    [VU_SET_FEATURES] = "SET_FEATURES",
	    [VU_SET_OWNER] = "SET_OWNER",
	    [VU_RESET_OWNER] = "RESET_OWNER",
	    [VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	    [VU_SET_VRING_NUM] = "SET_VRING_NUM",
	    [VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	    [VU_SET_VRING_BASE] = "SET_VRING_BASE",
	    [VU_GET_VRING_BASE] = "GET_VRING_BASE",
	    [VU_SET_VRING_KICK] = "SET_VRING_KICK",
	    [VU_SET_VRING_CALL] = "SET_VRING_CALL",
	    [VU_SET_VRING_ERR] = "SET_VRING_ERR",
	    [VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	    [VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	    [VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	    [VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	    [VU_GET_CONFIG] = "GET_CONFIG",
	    [VU_SET_CONFIG] = "SET_CONFIG",
	    [VU_RESET_DEVICE] = "RESET_DEVICE",
	};
	if (request < sizeof(names) / sizeof(names[0]) && names[request])
		return names[request];
	return "an unknown request";
}
