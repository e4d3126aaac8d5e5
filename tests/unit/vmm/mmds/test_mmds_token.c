/* MMDS V2 session tokens (vmm/mmds/mmds_token.c) on a fake clock: the TTL range 1..21600,
 * the TTL header's number syntax, expiry at exactly issue + TTL, unknown and malformed tokens, and
 * the bounded table (a full table replaces the token that expires first). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/mmds/mmds_token.h"

static struct mmds_tokens t;
static uint8_t rnd[MMDS_TOKEN_RAND_LEN];

static void setup(void)
{
	mmds_tokens_init(&t);
}

TestSuite(mmds_token, .init = setup);

static void issue(uint32_t ttl, uint64_t now, char *out)
{
	cr_assert_eq(mmds_token_issue(&t, ttl, now, rnd, out), 0);
	rnd[0]++, rnd[1] += 7; /* the next token differs */
}

static bool valid(const char *tok, uint64_t now)
{
	return mmds_token_valid(&t, tok, strlen(tok), now);
}

Test(mmds_token, ttl_range)
{
	char out[MMDS_TOKEN_LEN + 1];
	cr_assert_eq(mmds_token_issue(&t, 0, 5, rnd, out), -ERANGE);
	cr_assert_eq(mmds_token_issue(&t, 21601, 5, rnd, out), -ERANGE);
	cr_assert_eq(mmds_token_issue(&t, 1, 5, rnd, out), 0);
	cr_assert_eq(mmds_token_issue(&t, 21600, 5, rnd, out), 0);
}

Test(mmds_token, ttl_syntax)
{
	uint32_t v;
	cr_assert_eq(mmds_token_parse_ttl("21600", 5, &v), 0);
	cr_assert_eq(v, 21600);
	cr_assert_eq(mmds_token_parse_ttl("4294967295", 10, &v), 0);
	cr_assert_eq(mmds_token_parse_ttl("4294967296", 10, &v), -EINVAL);
	cr_assert_eq(mmds_token_parse_ttl("", 0, &v), -EINVAL);
	cr_assert_eq(mmds_token_parse_ttl("-1", 2, &v), -EINVAL);
	cr_assert_eq(mmds_token_parse_ttl("+5", 2, &v), -EINVAL);
	cr_assert_eq(mmds_token_parse_ttl("5 ", 2, &v), -EINVAL);
	cr_assert_eq(mmds_token_parse_ttl("0x10", 4, &v), -EINVAL);
}

Test(mmds_token, token_is_hex_of_the_random_bytes)
{
	char out[MMDS_TOKEN_LEN + 1];
	memset(rnd, 0xa5, sizeof(rnd));
	issue(10, 0, out);
	cr_assert_eq(strlen(out), MMDS_TOKEN_LEN);
	cr_assert_eq(strncmp(out, "a5a5a5", 6), 0);
}

Test(mmds_token, expires_after_ttl)
{
	char tok[MMDS_TOKEN_LEN + 1];
	issue(2, 1000, tok);
	cr_assert(valid(tok, 1000));
	cr_assert(valid(tok, 2999));
	cr_assert_not(valid(tok, 3000));
	cr_assert_not(valid(tok, 100000));
}

Test(mmds_token, unknown_and_malformed_tokens)
{
	char tok[MMDS_TOKEN_LEN + 1];
	issue(60, 0, tok);
	char other[MMDS_TOKEN_LEN + 1];
	memcpy(other, tok, sizeof(tok));
	other[10] = other[10] == '0' ? '1' : '0';
	cr_assert_not(valid(other, 1));
	cr_assert_not(mmds_token_valid(&t, tok, MMDS_TOKEN_LEN - 1, 1)); /* a prefix */
	cr_assert_not(valid("", 1));
	char longer[MMDS_TOKEN_LEN + 2];
	memcpy(longer, tok, MMDS_TOKEN_LEN);
	longer[MMDS_TOKEN_LEN] = 'a';
	longer[MMDS_TOKEN_LEN + 1] = '\0';
	cr_assert_not(valid(longer, 1));
	/* an empty table slot (all zero bytes, expiry 0) never matches */
	char zeros[MMDS_TOKEN_LEN + 1] = {0};
	cr_assert_not(mmds_token_valid(&t, zeros, MMDS_TOKEN_LEN, 0));
}

Test(mmds_token, full_table_replaces_the_first_to_expire)
{
	char first[MMDS_TOKEN_LEN + 1], tok[MMDS_TOKEN_LEN + 1], last[MMDS_TOKEN_LEN + 1];
	issue(100, 0, first); /* expires first */
	for (int i = 1; i < MMDS_TOKEN_MAX_COUNT; i++)
		issue(1000, 0, tok);
	cr_assert(valid(first, 1));
	issue(1000, 1, last);
	cr_assert_not(valid(first, 2));
	cr_assert(valid(last, 2));
	cr_assert(valid(tok, 2));
}

Test(mmds_token, expired_slots_are_reused)
{
	char tok[MMDS_TOKEN_LEN + 1], keep[MMDS_TOKEN_LEN + 1];
	issue(5000, 0, keep);
	for (int i = 0; i < 3 * MMDS_TOKEN_MAX_COUNT; i++)
		issue(1, (uint64_t)i * 1000, tok); /* each expires before the next */
	cr_assert(valid(keep, 4000));
}
