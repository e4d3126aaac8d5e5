/* The API's HTTP request parser (vmm/api/http_request.c): what it accepts, what it refuses and
 * with which status, fed whole and byte by byte (the same outcome either way), and that a
 * malformed request is refused as soon as its bad byte or line arrives. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/http_request.h"

#define BODY_MAX 64

static struct http_request rq;

/* Feeds req[0..len) at once and again byte by byte; both must end alike. Returns the bytes
 * taken; rq holds the outcome. */
static size_t feed_both(const char *req, size_t len)
{
	static struct http_request one;
	http_request_init(&one, BODY_MAX);
	size_t took1 = 0;
	while (took1 < len && one.phase != HTTP_DONE && one.phase != HTTP_FAILED)
		took1 += http_request_feed(&one, req + took1, 1);

	http_request_free(&rq);
	http_request_init(&rq, BODY_MAX);
	size_t took = http_request_feed(&rq, req, len);
	cr_assert_eq(took, took1, "whole: %zu bytes, byte by byte: %zu", took, took1);
	cr_assert_eq(rq.phase, one.phase, "%.40s: phase %d vs %d", req, rq.phase, one.phase);
	cr_assert_eq(rq.status, one.status);
	cr_assert_str_eq(rq.why, one.why);
	cr_assert_eq(rq.body_len, one.body_len);
	if (rq.body_len)
		cr_assert_eq(memcmp(rq.body, one.body, rq.body_len), 0);
	/* every refusal's message is whole, never cut at HTTP_MAX_WHY */
	cr_assert_lt(strlen(rq.why), sizeof(rq.why) - 1, "%s", rq.why);
	if (rq.phase == HTTP_FAILED)
		cr_assert_eq(rq.why[strlen(rq.why) - 1], '.', "%s", rq.why);
	http_request_free(&one);
	return took;
}

static void init(void)
{
	http_request_init(&rq, BODY_MAX);
}

static void fini(void)
{
	http_request_free(&rq);
}

TestSuite(http_request, .init = init, .fini = fini);

static void want_refused(const char *req, size_t len, unsigned status, const char *needle)
{
	feed_both(req, len);
	cr_assert_eq(rq.phase, HTTP_FAILED, "%.60s: phase %d", req, rq.phase);
	cr_assert_eq(rq.status, status, "%.60s: %u %s", req, rq.status, rq.why);
	cr_assert(strstr(rq.why, needle), "%.60s: %s", req, rq.why);
}

#define REFUSED(s, status, needle) want_refused(s, sizeof(s) - 1, status, needle)

static void want_done(const char *req)
{
	size_t n = strlen(req);
	cr_assert_eq(feed_both(req, n), n, "%s", req);
	cr_assert_eq(rq.phase, HTTP_DONE, "%s: phase %d %s", req, rq.phase, rq.why);
}

Test(http_request, a_plain_get)
{
	want_done("GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
	cr_assert_str_eq(rq.method, "GET");
	cr_assert_str_eq(rq.path, "/machine-config");
	cr_assert_not(rq.close);
	cr_assert_eq(rq.body_len, 0);
}

Test(http_request, a_body_by_length_and_by_chunks)
{
	want_done("PUT /actions HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
	cr_assert_eq(rq.body_len, 5);
	cr_assert_eq(memcmp(rq.body, "hello", 5), 0);
	want_done("PUT /actions HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
		  "3;ext=1\r\nhel\r\n2 \r\nlo\r\n0\r\nX-Trailer: y\r\n\r\n");
	cr_assert_eq(rq.body_len, 5);
	cr_assert_eq(memcmp(rq.body, "hello", 5), 0);
}

Test(http_request, lines_may_end_in_lf_alone_and_blank_lines_come_first)
{
	want_done("\r\n\nGET / HTTP/1.1\nHost: x\n\n");
	cr_assert_str_eq(rq.path, "/");
}

Test(http_request, the_path_loses_its_query_and_escapes)
{
	want_done("GET /drives/a%20b?x=%00 HTTP/1.1\r\n\r\n");
	cr_assert_str_eq(rq.path, "/drives/a b");
	want_done("GET http://localhost/vm/config HTTP/1.1\r\n\r\n");
	cr_assert_str_eq(rq.path, "/vm/config");
}

Test(http_request, pipelined_requests_are_taken_one_at_a_time)
{
	static const char two[] = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	size_t took = http_request_feed(&rq, two, sizeof(two) - 1);
	cr_assert_eq(took, 19);
	cr_assert_str_eq(rq.path, "/a");
	http_request_reset(&rq);
	cr_assert_eq(http_request_feed(&rq, two + took, sizeof(two) - 1 - took), 19);
	cr_assert_eq(rq.phase, HTTP_DONE);
	cr_assert_str_eq(rq.path, "/b");
}

Test(http_request, connection_close_and_http_1_0)
{
	want_done("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	cr_assert(rq.close);
	want_done("GET / HTTP/1.0\r\n\r\n");
	cr_assert(rq.close);
	want_done("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	cr_assert_not(rq.close);
}

Test(http_request, a_body_over_the_limit_is_refused_at_once)
{
	REFUSED("PUT / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 400,
		"Request payload with size 65 is larger than the limit of 64 allowed by server.");
	cr_assert(rq.size_refused);
	REFUSED("PUT / HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n", 400,
		"size 1000000000000 is larger than the limit of 64 ");
	static const char chunks[] =
	    "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"
	    "1\r\nx";
	want_refused(chunks, sizeof(chunks) - 1, 400, "size 65 is larger than the limit of 64 ");
	cr_assert(rq.size_refused);
	want_done("PUT / HTTP/1.1\r\nContent-Length: 64\r\n\r\n"
		  "0123456789012345678901234567890123456789012345678901234567890123");
	cr_assert_eq(rq.body_len, BODY_MAX);
}

Test(http_request, expect_100_continue)
{
	static const char head[] =
	    "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	cr_assert_eq(http_request_feed(&rq, head, sizeof(head) - 1), sizeof(head) - 1);
	cr_assert(http_request_head_done(&rq));
	cr_assert(rq.expect_continue);
	REFUSED("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 65\r\n\r\n", 400,
		"larger than the limit");
	REFUSED("PUT / HTTP/1.1\r\nExpect: fast\r\n\r\n", 417, "Expect");
}

/* The cases of issue 46, each with the status RFC 9112 asks for. */
Test(http_request, content_length_not_a_length)
{
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, "not a length");
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400,
		"not a length");
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", 400,
		"not a length");
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "not a length");
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "empty");
}

Test(http_request, content_length_twice_in_either_order)
{
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
		"more than once");
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\n{}", 400,
		"more than once");
	REFUSED("PUT /mmds HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}", 400,
		"more than once");
}

Test(http_request, framing_conflicts)
{
	REFUSED("PUT / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
		"both");
	REFUSED("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "gzip");
	REFUSED(
	    "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400, "twice");
	REFUSED("PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
}

Test(http_request, a_bad_chunk_size_is_refused_at_its_first_bad_byte)
{
	static const char req[] = "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz";
	cr_assert_eq(http_request_feed(&rq, req, sizeof(req) - 1), sizeof(req) - 3, "the first z");
	cr_assert_eq(rq.phase, HTTP_FAILED);
	cr_assert_eq(rq.status, 400);
	REFUSED("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400, "hex");
	REFUSED("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n", 400,
		"hex digits");
	REFUSED("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400,
		"longer than its size");
}

Test(http_request, http_0_9_is_refused_at_its_line_end)
{
	REFUSED("GET /\r\n", 400, "METHOD PATH HTTP/1.1");
	REFUSED("GET / HTTP/1.1 extra\r\n", 400, "METHOD PATH HTTP/1.1");
}

Test(http_request, garbage_is_refused_at_once)
{
	REFUSED("\x16\x03\x01\x02\x00", 400, "control byte 0x16");
	REFUSED("hello world", 400, "must begin with `/`");
	REFUSED("GET / HTTPS/1.1", 400, "version");
	REFUSED("G\xc3\xa9T / HTTP/1.1", 400, "token");
	REFUSED("GETTTTTTTTTTTTTTTTTT / HTTP/1.1", 400, "longer than");
	REFUSED("GET  / HTTP/1.1\r\n", 400, "METHOD PATH");
}

Test(http_request, the_http_2_preface_is_505)
{
	REFUSED("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0");
	REFUSED("OPTIONS * HTTP/1.1\r\n\r\n", 400, "must begin with `/`");
}

Test(http_request, a_nul_anywhere_in_the_head)
{
	REFUSED("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 400, "NUL");
	REFUSED("GET / HTTP/1.1\r\nX\0A: ab\r\n\r\n", 400, "NUL");
	REFUSED("GET /\0abc HTTP/1.1\r\n\r\n", 400, "NUL");
	REFUSED("GET /%00abc HTTP/1.1\r\n\r\n", 400, "NUL");
	REFUSED("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: \0\r\n\r\n", 400,
		"NUL");
}

Test(http_request, malformed_header_lines)
{
	REFUSED("GET / HTTP/1.1\r\nX-A : b\r\n\r\n", 400, "Name: value");
	REFUSED("GET / HTTP/1.1\r\nno colon\r\n\r\n", 400, "Name: value");
	REFUSED("GET / HTTP/1.1\r\n: v\r\n\r\n", 400, "Name: value");
	REFUSED("GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", 400, "folded");
	REFUSED("GET / HTTP/1.1\r\nX-A: b\rc\r\n\r\n", 400, "CR not followed");
	REFUSED("GET / HTTP/1.1\r\nX-A: \x1b\r\n\r\n", 400, "control byte 0x1b");
	REFUSED("GET /%zz HTTP/1.1\r\n\r\n", 400, "two hex digits");
	REFUSED("GET /% HTTP/1.1\r\n\r\n", 400, "two hex digits");
}

Test(http_request, oversize_heads)
{
	size_t n = HTTP_MAX_PATH + 64;
	char *req = malloc(n + HTTP_MAX_HEAD + 64);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n);
	want_refused(req, 5 + n, 414, "path is longer");

	size_t len = (size_t)sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + len, 'b', HTTP_MAX_HEAD);
	want_refused(req, len + HTTP_MAX_HEAD, 431, "larger than");

	len = (size_t)sprintf(req, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		len += (size_t)sprintf(req + len, "X: y\r\n");
	want_refused(req, len, 431, "header lines");
	free(req);
}

Test(http_request, a_reset_request_is_served_again)
{
	want_done("PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
	http_request_reset(&rq);
	cr_assert_null(rq.body);
	cr_assert_eq(http_request_feed(&rq, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	cr_assert_eq(rq.phase, HTTP_DONE);
	cr_assert_str_eq(rq.method, "GET");
}
