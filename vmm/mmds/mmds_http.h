/* The guest's HTTP/1.1 requests to MMDS and their answers, as Firecracker gives them
 * (src/vmm/src/mmds/mod.rs, docs/mmds/mmds-user-guide.md):
 *   GET PATH            the value at PATH: JSON with "Accept: application/json" (unless
 *                       imds_compat), else IMDS text; 404 when there is none, 501 when IMDS
 *                       cannot show it. V2: 401 without a valid X-metadata-token (or
 *                       X-aws-ec2-metadata-token); V1 ignores tokens.
 *   PUT /latest/api/token
 *                       a session token; X-metadata-token-ttl-seconds (or
 *                       X-aws-ec2-metadata-token-ttl-seconds) 1..21600 required, else 400;
 *                       400 with X-Forwarded-For; 404 for another path.
 *   other methods       405 with "Allow: GET, PUT".
 * Malformed requests get 400; a request that does not fit the connection's buffer gets 400 and
 * the connection is closed. Keep-alive by HTTP/1.1's rules (Connection: close, HTTP/1.0).
 * Pure code: the clock and the random bytes come from the caller. */
#ifndef VMM_MMDS_HTTP_H
#define VMM_MMDS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mmds/mmds.h"

/* Firecracker's messages. */
#define MMDS_MSG_NO_TOKEN                                                                          \
	"No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header "     \
	"to specify the session token."
#define MMDS_MSG_BAD_TOKEN "MMDS token not valid."
#define MMDS_MSG_NO_TTL                                                                            \
	"Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "               \
	"`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime."
#define MMDS_MSG_METHOD "Not allowed HTTP method."

struct mmds_http_env {
	struct mmds *mmds;
	uint64_t now_ms; /* monotonic */
	/* Fills buf with n random bytes (tokens). */
	void (*random)(void *opaque, uint8_t *buf, size_t n);
	void *opaque;
};

struct mmds_http_reply {
	char *data; /* malloc'd status line, headers and body; NULL when out of memory */
	size_t len;
	bool close; /* close the connection after it */
};

/* Serves the first request of buf[0..len). Returns the bytes that request took (> 0) with the
 * answer in *out, or 0 when it is not complete yet. `full`: no more bytes will come for it (the
 * connection's buffer is full, or the guest closed its side): an incomplete request is then
 * answered with 400, and the connection closes. */
size_t mmds_http_serve(const struct mmds_http_env *env, const char *buf, size_t len, bool full,
		       struct mmds_http_reply *out);

#endif
