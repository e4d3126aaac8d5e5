/* The vhost-user codec: requests built byte for byte, replies checked field by field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "virtio/vhost_user/vu_msg.h"

static size_t reply(uint8_t *buf, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size)
{
	struct vu_hdr h = {request, flags, size};
	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + VU_HDR_SIZE, payload, size);
	return VU_HDR_SIZE + size;
}

#define OK_FLAGS (VU_FLAG_VERSION | VU_FLAG_REPLY)

Test(vu_msg, builds_headers_and_payloads)
{
	uint8_t b[VU_MAX_MSG];
	struct vu_hdr h;

	cr_assert_eq(vu_msg_build_empty(b, VU_SET_OWNER, VU_FLAG_NEED_REPLY), 12);
	vu_msg_read_hdr(b, &h);
	cr_assert_eq(h.request, VU_SET_OWNER);
	cr_assert_eq(h.flags, VU_FLAG_VERSION | VU_FLAG_NEED_REPLY);
	cr_assert_eq(h.size, 0);

	cr_assert_eq(vu_msg_build_u64(b, VU_SET_FEATURES, 0, 0x0102030405060708ull), 20);
	cr_assert_eq(b[12], 0x08);
	cr_assert_eq(b[19], 0x01);

	cr_assert_eq(vu_msg_build_state(b, VU_SET_VRING_NUM, 0, 3, 256), 20);
	uint32_t st[2];
	memcpy(st, b + 12, 8);
	cr_assert(st[0] == 3 && st[1] == 256);

	struct vu_vring_addr a = {.index = 1, .desc = 0x1000, .used = 0x3000, .avail = 0x2000};
	cr_assert_eq(vu_msg_build_vring_addr(b, 0, &a), 12 + VU_VRING_ADDR_SIZE);
	uint64_t q[4];
	memcpy(q, b + 20, 32);
	cr_assert(q[0] == 0x1000 && q[1] == 0x3000 && q[2] == 0x2000 && q[3] == 0);
}

Test(vu_msg, mem_table_and_config_sizes)
{
	uint8_t b[VU_MAX_MSG];
	struct vu_mem_region_msg r[VU_MAX_REGIONS + 1] = {{0, 0x1000, 0x7f0000000000, 0}};

	cr_assert_eq(vu_msg_build_mem_table(b, 0, r, 1), 12 + 8 + 32);
	cr_assert_eq(vu_msg_build_mem_table(b, 0, r, VU_MAX_REGIONS), 12 + 8 + 32 * 8);
	cr_assert_eq(vu_msg_build_mem_table(b, 0, r, 0), 0);
	cr_assert_eq(vu_msg_build_mem_table(b, 0, r, VU_MAX_REGIONS + 1), 0);

	char cfg[VU_MAX_CONFIG_SIZE] = "tag";
	cr_assert_eq(vu_msg_build_config(b, VU_SET_CONFIG, 0, 4, 3, cfg), 12 + 12 + 3);
	cr_assert_eq(memcmp(b + 24, "tag", 3), 0);
	cr_assert_eq(vu_msg_build_config(b, VU_GET_CONFIG, 0, 0, VU_MAX_CONFIG_SIZE, NULL),
		     12 + 12 + VU_MAX_CONFIG_SIZE);
	cr_assert_eq(vu_msg_build_config(b, VU_GET_CONFIG, 0, 0, VU_MAX_CONFIG_SIZE + 1, NULL), 0);
	cr_assert_eq(vu_msg_build_config(b, VU_GET_CONFIG, 0, 0, 0, NULL), 0);
}

Test(vu_msg, accepts_a_good_u64_reply)
{
	uint8_t b[VU_MAX_MSG];
	uint64_t v = 0x140000000ull;
	struct vu_reply_want w = {.request = VU_GET_FEATURES, .kind = VU_REPLY_U64};
	struct vu_reply r;
	size_t n = reply(b, VU_GET_FEATURES, OK_FLAGS, &v, 8);
	cr_assert_eq(vu_msg_parse_reply(b, n, &w, &r, NULL), 0);
	cr_assert_eq(r.u64, v);
}

Test(vu_msg, refuses_bad_headers)
{
	uint8_t b[VU_MAX_MSG];
	uint64_t v = 1;
	const char *why = NULL;
	struct vu_reply_want w = {.request = VU_GET_FEATURES, .kind = VU_REPLY_U64};
	struct vu_reply r;

	size_t n = reply(b, VU_GET_FEATURES, VU_FLAG_REPLY | 2, &v, 8);
	cr_assert_eq(vu_msg_parse_reply(b, n, &w, &r, &why), -EPROTO, "version 2");
	cr_assert_not_null(why);
	n = reply(b, VU_GET_FEATURES, VU_FLAG_VERSION, &v, 8);
	cr_assert_eq(vu_msg_parse_reply(b, n, &w, &r, &why), -EPROTO, "no reply flag");
	n = reply(b, VU_GET_PROTOCOL_FEATURES, OK_FLAGS, &v, 8);
	cr_assert_eq(vu_msg_parse_reply(b, n, &w, &r, &why), -EPROTO, "another request");
	n = reply(b, VU_GET_FEATURES, OK_FLAGS, &v, 4);
	cr_assert_eq(vu_msg_parse_reply(b, n, &w, &r, &why), -EPROTO, "4-byte u64");
	cr_assert_eq(vu_msg_parse_reply(b, 11, &w, &r, &why), -EPROTO, "short header");
	n = reply(b, VU_GET_FEATURES, OK_FLAGS, &v, 8);
	cr_assert_eq(vu_msg_parse_reply(b, n - 1, &w, &r, &why), -EPROTO, "size != bytes");
}

Test(vu_msg, vring_state_reply_must_name_the_ring_and_fit_16_bits)
{
	uint8_t b[VU_MAX_MSG];
	struct vu_reply_want w = {.request = VU_GET_VRING_BASE, .kind = VU_REPLY_STATE, .index = 1};
	struct vu_reply r;
	uint32_t st[2] = {1, 77};

	cr_assert_eq(
	    vu_msg_parse_reply(b, reply(b, VU_GET_VRING_BASE, OK_FLAGS, st, 8), &w, &r, NULL), 0);
	cr_assert_eq(r.state_num, 77);
	st[0] = 0;
	cr_assert_eq(
	    vu_msg_parse_reply(b, reply(b, VU_GET_VRING_BASE, OK_FLAGS, st, 8), &w, &r, NULL),
	    -EPROTO);
	st[0] = 1;
	st[1] = 0x10000;
	cr_assert_eq(
	    vu_msg_parse_reply(b, reply(b, VU_GET_VRING_BASE, OK_FLAGS, st, 8), &w, &r, NULL),
	    -EPROTO);
}

Test(vu_msg, config_reply_matches_the_request_or_reports_failure)
{
	uint8_t b[VU_MAX_MSG], p[12 + 8] = {0};
	struct vu_reply_want w = {.request = VU_GET_CONFIG,
				  .kind = VU_REPLY_CONFIG,
				  .config_offset = 0,
				  .config_size = 8};
	struct vu_reply r;
	uint32_t hdr[3] = {0, 8, 0};
	memcpy(p, hdr, 12);
	memcpy(p + 12, "capacity", 8);

	cr_assert_eq(vu_msg_parse_reply(b, reply(b, VU_GET_CONFIG, OK_FLAGS, p, 20), &w, &r, NULL),
		     0);
	cr_assert_eq(memcmp(r.config, "capacity", 8), 0);
	cr_assert_eq(vu_msg_parse_reply(b, reply(b, VU_GET_CONFIG, OK_FLAGS, p, 0), &w, &r, NULL),
		     -EIO, "empty payload: the back-end's failure signal");
	cr_assert_eq(vu_msg_parse_reply(b, reply(b, VU_GET_CONFIG, OK_FLAGS, p, 19), &w, &r, NULL),
		     -EPROTO);
	hdr[0] = 4;
	memcpy(p, hdr, 12);
	cr_assert_eq(vu_msg_parse_reply(b, reply(b, VU_GET_CONFIG, OK_FLAGS, p, 20), &w, &r, NULL),
		     -EPROTO, "another offset");
}

Test(vu_msg, request_names)
{
	cr_assert_str_eq(vu_request_name(VU_GET_VRING_BASE), "GET_VRING_BASE");
	cr_assert_str_eq(vu_request_name(999), "an unknown request");
	cr_assert_str_eq(vu_request_name(7), "an unknown request");
}
