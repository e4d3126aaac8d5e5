/* libFuzzer target: the API socket's request parser (vmm/api/http_request.c), fed a byte stream
 * as a client would send it on one connection.
 * Input: a byte choosing the body limit (small ones reach the size refusal), a byte seeding how
 * the stream is cut into pieces, then the stream. The stream is parsed twice, whole and in
 * pieces; requests are taken one after another (pipelining) until one is refused or the
 * stream ends. Invariants: both parses agree on every request (a split never changes the
 * outcome); a parser that has neither finished nor refused takes every byte it is given; a
 * whole request has a token method, a path that begins with '/' and fits HTTP_MAX_PATH, and
 * holds at most the body limit; a body over the limit is Firecracker's 400; a refusal has one of
 * the documented statuses and a whole message (ending in a full stop, shorter than its buffer:
 * never cut). */
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "vmm/api/http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 64

static struct http_request whole, split;

/* The next piece's size, from a small generator the seed byte starts: mutations of the stream
 * do not move where it is cut. */
static size_t piece(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	uint32_t r = *state >> 16;
	return (r & 3) == 0 ? 1 : 1 + r % 97;
}

static void check_outcome(const struct http_request *r, size_t body_max)
{
	if (r->phase == HTTP_DONE) {
		FZ_ASSERT(r->method[0], "a request without a method");
		FZ_ASSERT(r->path[0] == '/', "path `%.40s` does not begin with /", r->path);
		FZ_ASSERT(strlen(r->path) <= HTTP_MAX_PATH, "path of %zu bytes", strlen(r->path));
		FZ_ASSERT(r->body_len <= body_max, "kept %zu bytes, limit %zu", r->body_len,
			  body_max);
		FZ_ASSERT(!r->body_len || r->body, "body bytes without a buffer");
		FZ_ASSERT(r->body_len <= r->body_cap || !r->body, "body of %zu bytes in %zu",
			  r->body_len, r->body_cap);
		return;
	}
	if (r->phase != HTTP_FAILED)
		return;
	static const unsigned ok[] = {400, 413, 414, 417, 431, 501, 505};
	bool known = false;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		known |= r->status == ok[i];
	size_t n = strlen(r->why);
	FZ_ASSERT(known, "refused with status %u", r->status);
	FZ_ASSERT(!r->size_refused || r->status == 400, "size refused with %u", r->status);
	FZ_ASSERT(n > 0 && n < sizeof(r->why) - 1 && r->why[n - 1] == '.', "message cut: %s",
		  r->why);
}

static void same(const struct http_request *a, const struct http_request *b)
{
	FZ_ASSERT(a->phase == b->phase, "whole: phase %d, in pieces: %d", a->phase, b->phase);
	FZ_ASSERT(a->status == b->status && !strcmp(a->why, b->why), "whole: %u %s, pieces: %u %s",
		  a->status, a->why, b->status, b->why);
	if (a->phase != HTTP_DONE)
		return;
	FZ_ASSERT(!strcmp(a->method, b->method) && !strcmp(a->path, b->path), "method or path");
	FZ_ASSERT(a->close == b->close, "Connection");
	FZ_ASSERT(a->body_len == b->body_len, "body length");
	FZ_ASSERT(!a->body_len || !memcmp(a->body, b->body, a->body_len), "body bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	uint8_t limit = fz_u8(&in);
	size_t body_max = limit < 128 ? limit : (size_t)64 * 1024;
	uint32_t state = fz_u8(&in);
	size_t len;
	const char *s = (const char *)fz_take(&in, fz_left(&in), &len);
	size_t at_whole = 0, at_split = 0;

	http_request_init(&whole, body_max);
	http_request_init(&split, body_max);
	for (int n = 0; n < MAX_REQUESTS; n++) {
		at_whole += http_request_feed(&whole, s + at_whole, len - at_whole);
		while (at_split < len && split.phase != HTTP_DONE && split.phase != HTTP_FAILED) {
			size_t k = piece(&state);
			k = k < len - at_split ? k : len - at_split;
			size_t took = http_request_feed(&split, s + at_split, k);
			FZ_ASSERT(took <= k, "took %zu of %zu", took, k);
			FZ_ASSERT(took == k || split.phase == HTTP_DONE ||
				      split.phase == HTTP_FAILED,
				  "took %zu of %zu and waits for more", took, k);
			at_split += took;
		}
		check_outcome(&whole, body_max);
		same(&whole, &split);
		FZ_ASSERT(at_whole == at_split, "whole took %zu bytes, pieces %zu", at_whole,
			  at_split);
		if (whole.phase != HTTP_DONE)
			break;
		http_request_reset(&whole);
		http_request_reset(&split);
	}
	http_request_free(&whole);
	http_request_free(&split);
	return 0;
}
