/* MMDS V2 session tokens. See mmds_token.h. */
#include "vmm/mmds/mmds_token.h"

#include <errno.h>
#include <string.h>

void mmds_tokens_init(struct mmds_tokens *t)
{
	memset(t, 0, sizeof(*t));
}

int mmds_token_parse_ttl(const char *s, size_t len, uint32_t *ttl)
{
	uint64_t v = 0;
	if (!len || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*ttl = (uint32_t)v;
	return 0;
}

/* The slot a new token takes: an empty or expired one, else the one that expires first. */
static struct mmds_token *free_slot(struct mmds_tokens *t, uint64_t now_ms)
{
	struct mmds_token *best = &t->slot[0];
	for (size_t i = 0; i < MMDS_TOKEN_MAX_COUNT; i++) {
		struct mmds_token *s = &t->slot[i];
		if (s->expiry_ms <= now_ms)
			return s;
		if (s->expiry_ms < best->expiry_ms)
			best = s;
	}
	return best;
}

int mmds_token_issue(struct mmds_tokens *t, uint32_t ttl_s, uint64_t now_ms,
		     const uint8_t rnd[MMDS_TOKEN_RAND_LEN], char out[MMDS_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	if (ttl_s < MMDS_TOKEN_TTL_MIN || ttl_s > MMDS_TOKEN_TTL_MAX)
		return -ERANGE;
	struct mmds_token *s = free_slot(t, now_ms);
	for (size_t i = 0; i < MMDS_TOKEN_RAND_LEN; i++) {
		s->text[2 * i] = hex[rnd[i] >> 4];
		s->text[2 * i + 1] = hex[rnd[i] & 15];
	}
	s->text[MMDS_TOKEN_LEN] = '\0';
	s->expiry_ms = now_ms + (uint64_t)ttl_s * 1000;
	memcpy(out, s->text, sizeof(s->text));
	return 0;
}

/* Constant time in the bytes compared: no early exit on the first difference. */
static bool same_token(const char *a, const char *b)
{
	unsigned char diff = 0;
	for (size_t i = 0; i < MMDS_TOKEN_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool mmds_token_valid(const struct mmds_tokens *t, const char *tok, size_t len, uint64_t now_ms)
{
	bool ok = false;
	if (len != MMDS_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < MMDS_TOKEN_MAX_COUNT; i++) {
		const struct mmds_token *s = &t->slot[i];
		ok |= s->expiry_ms > now_ms && same_token(s->text, tok);
	}
	return ok;
}
