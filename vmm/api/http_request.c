/* One HTTP/1.1 request from a byte stream. See http_request.h. */
#include "vmm/api/http_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/parse.h"

#define MAX_CHUNK_LINE 1024 /* a chunk's size line with its extensions */
#define MAX_CHUNK_HEX  15   /* hex digits of a chunk size: below 2^60 */
#define MAX_LENGTH     (UINT64_MAX >> 1)

static const char VERSION_PREFIX[] = "HTTP/";

void http_request_init(struct http_request *r, size_t body_max)
{
	memset(r, 0, offsetof(struct http_request, line));
	r->body_max = body_max;
	r->phase = HTTP_REQUEST_LINE;
	r->line_len = 0;
}

void http_request_free(struct http_request *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->body_cap = 0;
}

void http_request_reset(struct http_request *r)
{
	size_t max = r->body_max;
	http_request_free(r);
	http_request_init(r, max);
}

const char *http_reason(unsigned status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Unknown";
}

/* Refuses the request: the answer's status and message. Returns 0 (nothing more is taken). */
__attribute__((format(printf, 3, 4))) static int fail(struct http_request *r, unsigned status,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->status = status;
	r->phase = HTTP_FAILED;
	http_request_free(r);
	return 0;
}

/* RFC 9110 section 5.6.2: the characters of a token (a method, a header name). */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte no line of the head may hold: NUL, and control bytes but the tab (and the CR of a
 * line end, checked by the caller). */
static int bad_head_byte(struct http_request *r, unsigned char c)
{
	if (c == '\0')
		return fail(r, 400, "Invalid request: the request head contains a NUL byte.");
	return fail(r, 400, "Invalid request: the request head contains the control byte 0x%02x.",
		    c);
}

/* One byte of the request line, checked as it comes. Returns 1, or 0 once refused. */
static int request_line_byte(struct http_request *r, unsigned char c)
{
	if (c == '\r' || c == '\n')
		return 1; /* the line's end: checked when it is whole */
	if (c < 0x20 || c == 0x7f)
		return bad_head_byte(r, c);
	if (c == ' ') {
		if (r->rl_part >= 2 || r->rl_len == 0)
			return fail(r, 400, "Invalid request line: expected METHOD PATH HTTP/1.1.");
		r->rl_part++;
		r->rl_len = 0;
		return 1;
	}
	size_t i = r->rl_len++;
	switch (r->rl_part) {
	case 0:
		if (!is_tchar(c))
			return fail(r, 400, "Invalid request line: the method is not a token.");
		if (r->rl_len > HTTP_MAX_METHOD)
			return fail(r, 400,
				    "Invalid request line: the method is longer than %d bytes.",
				    HTTP_MAX_METHOD);
		return 1;
	case 1:
		if (c >= 0x80)
			return fail(r, 400, "Invalid request line: the path has a byte over 0x7f.");
		/* origin-form, absolute-form (http://), and '*' so HTTP/2's "PRI * HTTP/2.0" gets
		 * its 505 at the line's end */
		if (i == 0 && c != '/' && c != 'h' && c != 'H' && c != '*')
			return fail(r, 400, "Invalid request line: the path must begin with `/`.");
		if (r->rl_len > HTTP_MAX_PATH)
			return fail(r, 414, "Invalid request: the path is longer than %d bytes.",
				    HTTP_MAX_PATH);
		return 1;
	default:
		if (i < sizeof(VERSION_PREFIX) - 1 ? c == (unsigned char)VERSION_PREFIX[i]
		    : i == 5 || i == 7		   ? c >= '0' && c <= '9'
		    : i == 6			   ? c == '.'
						   : false)
			return 1;
		return fail(r, 400, "Invalid request line: the version is not HTTP/1.1.");
	}
}

/* The path of a request target: an absolute-form "http://host/p" loses its scheme and host,
 * the query goes, and %XX escapes are decoded. */
static int set_path(struct http_request *r, const char *t, size_t n)
{
	if (n >= 7 && !strncasecmp(t, "http://", 7)) {
		const char *slash = memchr(t + 7, '/', n - 7);
		size_t skip = slash ? (size_t)(slash - t) : n;
		t += skip, n -= skip;
		if (!n)
			t = "/", n = 1;
	}
	if (!n || t[0] != '/')
		return fail(r, 400, "Invalid request line: the path must begin with `/`.");
	const char *q = memchr(t, '?', n);
	if (q)
		n = (size_t)(q - t);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (c == '%') {
			int hi = i + 2 < n ? parse_hex_digit((unsigned char)t[i + 1]) : -1;
			int lo = hi >= 0 ? parse_hex_digit((unsigned char)t[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return fail(
				    r, 400,
				    "Invalid request: a `%%` in the path is not followed by "
				    "two hex digits.");
			c = (char)(hi * 16 + lo);
			if (!c)
				return fail(r, 400, "Invalid request: the path contains a NUL.");
			i += 2;
		}
		r->path[o++] = c; /* o <= i < HTTP_MAX_PATH: the request line's check */
	}
	r->path[o] = '\0';
	return 1;
}

/* The whole request line, its bytes already checked: "METHOD TARGET HTTP/x.y". */
static int request_line(struct http_request *r, const char *l, size_t n)
{
	if (r->rl_part != 2 || r->rl_len != 8)
		return fail(r, 400, "Invalid request line: expected METHOD PATH HTTP/1.1.");
	const char *version = l + n - 8;
	if (version[5] != '1')
		return fail(r, 505, "HTTP version %.8s is not supported: use HTTP/1.1.", version);
	r->http10 = version[7] == '0';
	const char *sp = memchr(l, ' ', n);
	size_t mlen = (size_t)(sp - l);
	memcpy(r->method, l, mlen);
	r->method[mlen] = '\0';
	return set_path(r, sp + 1, (size_t)(version - 1 - (sp + 1)));
}

static bool value_is(const char *v, size_t n, const char *s)
{
	return n == strlen(s) && !strncasecmp(v, s, n);
}

/* Whether a comma-separated list (Connection) names `token`. */
static bool list_has(const char *v, size_t n, const char *token)
{
	size_t k = strlen(token);
	for (size_t i = 0; i < n;) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < n && v[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == k && !strncasecmp(v + start, token, k))
			return true;
	}
	return false;
}

static int content_length(struct http_request *r, const char *v, size_t n)
{
	uint64_t x = 0;
	if (r->have_length)
		return fail(r, 400, "Invalid request: Content-Length is given more than once.");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (MAX_LENGTH - 9) / 10)
			return fail(r, 400,
				    "Invalid request: Content-Length `%.*s` is not a length.",
				    (int)(n < 32 ? n : 32), v);
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (!n)
		return fail(r, 400, "Invalid request: Content-Length is empty.");
	r->have_length = true;
	r->length = x;
	return 1;
}

/* One header line, without its line end: "Name: value". */
static int header_line(struct http_request *r, const char *l, size_t n)
{
	if (l[0] == ' ' || l[0] == '\t')
		return fail(r, 400,
			    "Invalid request: a header line is folded (begins with a space).");
	if (++r->nheaders > HTTP_MAX_HEADERS)
		return fail(r, 431, "Invalid request: more than %d header lines.",
			    HTTP_MAX_HEADERS);
	size_t k = 0;
	while (k < n && is_tchar((unsigned char)l[k]))
		k++;
	if (!k || k == n || l[k] != ':')
		return fail(r, 400, "Invalid request: a header line is not `Name: value`.");
	const char *v = l + k + 1;
	size_t vn = n - k - 1;
	while (vn && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (r->phase == HTTP_TRAILER)
		return 1; /* a trailer's fields are not used */
	if (value_is(l, k, "content-length"))
		return content_length(r, v, vn);
	if (value_is(l, k, "transfer-encoding")) {
		if (r->chunked)
			return fail(r, 400, "Invalid request: Transfer-Encoding is given twice.");
		if (!value_is(v, vn, "chunked"))
			return fail(r, 501,
				    "Transfer-Encoding `%.*s` is not supported: only chunked.",
				    (int)(vn < 32 ? vn : 32), v);
		r->chunked = true;
	} else if (value_is(l, k, "connection")) {
		if (list_has(v, vn, "close"))
			r->close = true;
		else if (list_has(v, vn, "keep-alive"))
			r->keep_alive = true; /* HTTP/1.0's persistent connection */
	} else if (value_is(l, k, "expect")) {
		if (!value_is(v, vn, "100-continue"))
			return fail(r, 417, "Expect `%.*s` is not supported: only 100-continue.",
				    (int)(vn < 32 ? vn : 32), v);
		r->expect_continue = true;
	}
	return 1;
}

/* A body of `size` bytes, over the limit: refused at once, rather than read and dropped (a client
 * may announce terabytes), so the connection closes. Firecracker's words and status (micro_http's
 * RequestError::SizeLimitExceeded: 400, answered with its {"error": ...} body, api_http.c). */
static int too_large(struct http_request *r, uint64_t size)
{
	fail(r, 400,
	     "Request payload with size %llu is larger than the limit of %zu allowed by server.",
	     (unsigned long long)size, r->body_max);
	r->size_refused = true;
	return 0;
}

/* The blank line after the headers: how the body is framed. */
static int head_end(struct http_request *r)
{
	if (r->chunked && r->have_length)
		return fail(
		    r, 400,
		    "Invalid request: both Content-Length and Transfer-Encoding are given.");
	if (r->chunked && r->http10)
		return fail(r, 400, "Invalid request: Transfer-Encoding in an HTTP/1.0 request.");
	r->close |= r->http10 && !r->keep_alive;
	r->expect_continue &= !r->http10; /* RFC 9110 section 10.1.1 */
	if (r->chunked) {
		r->phase = HTTP_CHUNK_SIZE;
		return 1;
	}
	if (!r->length) {
		r->expect_continue = false;
		r->phase = HTTP_DONE;
		return 1;
	}
	if (r->length > r->body_max)
		return too_large(r, r->length);
	r->phase = HTTP_BODY;
	return 1;
}

/* A chunk's size line: hex digits, then nothing or extensions (";name=value"), ignored. */
static int chunk_size_line(struct http_request *r, const char *l, size_t n)
{
	uint64_t x = 0;
	size_t k = 0;
	for (; k < n && parse_hex_digit((unsigned char)l[k]) >= 0; k++) {
		if (k == MAX_CHUNK_HEX)
			return fail(r, 400, "Invalid request: a chunk size has over %d hex digits.",
				    MAX_CHUNK_HEX);
		x = x * 16 + (uint64_t)parse_hex_digit((unsigned char)l[k]);
	}
	while (k < n && (l[k] == ' ' || l[k] == '\t'))
		k++;
	if (!k || (k < n && l[k] != ';') || parse_hex_digit((unsigned char)l[0]) < 0)
		return fail(r, 400, "Invalid request: a chunk size is not a hex number.");
	if (x > r->body_max - r->body_len)
		return too_large(r, r->body_len + x); /* refused before its bytes come */
	r->length = x;
	r->phase = x ? HTTP_CHUNK_DATA : HTTP_TRAILER;
	return 1;
}

/* A line has ended (line[0..line_len) without the LF): acts on it. Returns 1 or 0. */
static int line_end(struct http_request *r)
{
	size_t n = r->line_len;
	if (n && r->line[n - 1] == '\r')
		n--;
	r->line_len = 0;
	switch (r->phase) {
	case HTTP_REQUEST_LINE:
		if (!n && r->rl_part == 0 && r->rl_len == 0)
			return 1; /* an empty line before the request (RFC 9112 section 2.2) */
		if (!request_line(r, r->line, n))
			return 0;
		r->phase = HTTP_HEADERS;
		return 1;
	case HTTP_HEADERS:
		return n ? header_line(r, r->line, n) : head_end(r);
	case HTTP_CHUNK_SIZE:
		return chunk_size_line(r, r->line, n);
	case HTTP_CHUNK_CRLF:
		if (n)
			return fail(r, 400, "Invalid request: a chunk is longer than its size.");
		r->phase = HTTP_CHUNK_SIZE;
		return 1;
	case HTTP_TRAILER:
		if (n)
			return header_line(r, r->line, n);
		r->phase = HTTP_DONE;
		return 1;
	default:
		return 0;
	}
}

/* One byte of a line (of the head, a chunk size or the trailer). Returns 1, or 0 once refused
 * or once the request is whole. */
static int line_byte(struct http_request *r, unsigned char c)
{
	bool head = r->phase != HTTP_CHUNK_SIZE && r->phase != HTTP_CHUNK_CRLF;
	if (head && ++r->head_len > HTTP_MAX_HEAD)
		return fail(
		    r, 431,
		    "Invalid request: the request line and headers are larger than %d bytes.",
		    HTTP_MAX_HEAD);
	if (r->line_len && r->line[r->line_len - 1] == '\r' && c != '\n')
		return fail(r, 400, "Invalid request: a CR not followed by LF.");
	if (r->phase == HTTP_REQUEST_LINE) {
		if (!request_line_byte(r, c))
			return 0;
	} else if (c == '\0' || (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
		return bad_head_byte(r, c);
	} else if (r->phase == HTTP_CHUNK_SIZE) {
		if (r->line_len >= MAX_CHUNK_LINE)
			return fail(r, 400, "Invalid request: a chunk size line is over %d bytes.",
				    MAX_CHUNK_LINE);
		if (!memchr(r->line, ';', r->line_len) && c != '\r' && c != '\n' && c != ';' &&
		    c != ' ' && c != '\t' && parse_hex_digit(c) < 0)
			return fail(r, 400, "Invalid request: a chunk size is not a hex number.");
	} else if (r->phase == HTTP_CHUNK_CRLF && c != '\r' && c != '\n') {
		return fail(r, 400, "Invalid request: a chunk is longer than its size.");
	}
	if (c != '\n') {
		r->line[r->line_len++] = (char)c; /* line_len < HTTP_MAX_HEAD: the checks above */
		return 1;
	}
	return line_end(r) && r->phase != HTTP_DONE;
}

/* Body bytes (of Content-Length, or of a chunk), which fit body_max (checked when the length or
 * the chunk's size came). */
static void body_bytes(struct http_request *r, const char *data, size_t n)
{
	/* Room for what is announced only (the rest of the body, or of this chunk): the limit may
	 * be large (--http-api-max-payload-size), a body mostly small. */
	if (!r->body || r->body_cap - r->body_len < n) {
		size_t want = r->body_len + (size_t)r->length; /* <= body_max: checked already */
		char *b = realloc(r->body, want ? want : 1);
		if (!b) {
			fail(r, 413, "The request body does not fit in memory now.");
			return;
		}
		r->body = b;
		r->body_cap = want;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->length -= n;
	if (r->length)
		return;
	if (r->phase == HTTP_BODY)
		r->phase = HTTP_DONE;
	else
		r->phase = HTTP_CHUNK_CRLF;
}

size_t http_request_feed(struct http_request *r, const char *data, size_t n)
{
	size_t i = 0;
	while (i < n && r->phase != HTTP_DONE && r->phase != HTTP_FAILED) {
		if (r->phase == HTTP_BODY || r->phase == HTTP_CHUNK_DATA) {
			size_t k = n - i < r->length ? n - i : (size_t)r->length;
			body_bytes(r, data + i, k);
			if (r->phase != HTTP_FAILED)
				i += k;
			continue;
		}
		int more = line_byte(r, (unsigned char)data[i]);
		if (r->phase != HTTP_FAILED)
			i++; /* a refused request took nothing more; a whole one its last byte */
		if (!more)
			break;
	}
	return i;
}
