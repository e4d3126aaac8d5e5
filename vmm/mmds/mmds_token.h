/* MMDS version 2 session tokens: PUT /latest/api/token with X-metadata-token-ttl-seconds
 * (1..21600) issues one; GET requests then carry it in X-metadata-token until it expires.
 *
 * Firecracker seals the expiry time into the token with AES-GCM. We keep a bounded table of
 * the tokens we issued instead: 32 random bytes in hex and an expiry each. When the table is
 * full a new token replaces an expired one, else the one that expires first, so a guest that
 * asks for tokens without end cannot grow the VMM; it only shortens its own tokens' lives.
 * Pure code: the clock (milliseconds, monotonic) and the random bytes are passed in. */
#ifndef VMM_MMDS_TOKEN_H
#define VMM_MMDS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMDS_TOKEN_TTL_MIN   1
#define MMDS_TOKEN_TTL_MAX   21600
#define MMDS_TOKEN_RAND_LEN  32
#define MMDS_TOKEN_LEN	     (2 * MMDS_TOKEN_RAND_LEN) /* hex characters */
#define MMDS_TOKEN_MAX_COUNT 64

struct mmds_token {
	char text[MMDS_TOKEN_LEN + 1];
	uint64_t expiry_ms; /* 0: an empty slot */
};

struct mmds_tokens {
	struct mmds_token slot[MMDS_TOKEN_MAX_COUNT];
};

void mmds_tokens_init(struct mmds_tokens *t);

/* Parses a TTL header value: decimal digits only, no sign or spaces. Returns 0 with *ttl set
 * (any u32, the range is checked by mmds_token_issue()), or -EINVAL. */
int mmds_token_parse_ttl(const char *s, size_t len, uint32_t *ttl);

/* Issues a token valid for `ttl_s` seconds from `now_ms`, made of `rnd`, into out (NUL
 * terminated). Returns 0, or -ERANGE for a TTL outside 1..21600. */
int mmds_token_issue(struct mmds_tokens *t, uint32_t ttl_s, uint64_t now_ms,
		     const uint8_t rnd[MMDS_TOKEN_RAND_LEN], char out[MMDS_TOKEN_LEN + 1]);

/* True when `tok` (len bytes) is a token we issued that has not expired at `now_ms`. The
 * comparison takes the same time whatever bytes match. */
bool mmds_token_valid(const struct mmds_tokens *t, const char *tok, size_t len, uint64_t now_ms);

#endif
