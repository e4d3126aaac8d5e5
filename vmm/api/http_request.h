/* One HTTP/1.1 request read from a byte stream (RFC 9112), for the API socket (api_http.c).
 * Pure code: bytes in, a request or a refusal out; no sockets, no clock.
 *
 * Bytes are fed as they arrive, in pieces of any size. The request line and each header line
 * are checked as soon as they end, and each byte of the request line as it comes, so a
 * malformed request (HTTP/0.9, a TLS or HTTP/2 greeting, garbage) is refused at once, not when
 * a blank line or a timeout comes. What is refused, and with which status:
 *   400: a malformed request line or header line; a NUL, CR or other control byte anywhere in
 *        the head (a tab only inside a value); a line folded over two (obs-fold); a
 *        Content-Length that is not a decimal number below 2^63, or given twice (RFC 9112
 *        section 6.3: a message with an invalid length cannot be framed); both Content-Length
 *        and Transfer-Encoding; Transfer-Encoding in HTTP/1.0 or twice; a "%" not followed by
 *        two hex digits, or "%00", in the path; a chunk size that is not hex, or a chunk not
 *        ended by CRLF;
 *   414: a path over HTTP_MAX_PATH bytes;
 *   431: a head over HTTP_MAX_HEAD bytes or with more than HTTP_MAX_HEADERS header lines;
 *   400 (size_refused): a body over the caller's limit, refused as soon as its Content-Length
 *        or a chunk's size says so, not read and dropped (a client may announce terabytes);
 *        Firecracker's status and words for it;
 *   413: a body that does not fit in memory now;
 *   417: another Expect;
 *   501: a transfer coding other than chunked;
 *   505: an HTTP version other than 1.0 and 1.1 (HTTP/2's preface reads as "PRI * HTTP/2.0").
 * After a refusal, where the request ends is unknown (or not worth reading): the connection
 * must close.
 * Lines may end in CRLF or LF alone (section 2.2); empty lines before the request line are
 * skipped. Not required: Host (a Unix socket has no host). */
#ifndef VMM_API_HTTP_REQUEST_H
#define VMM_API_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_PATH	 4096
#define HTTP_MAX_HEAD	 (16 * 1024) /* request line, headers, and a chunked body's trailer */
#define HTTP_MAX_HEADERS 100
#define HTTP_MAX_METHOD	 16
#define HTTP_MAX_WHY	 160 /* every refusal's message fits (tested) */

enum http_phase {
	HTTP_REQUEST_LINE,
	HTTP_HEADERS,
	HTTP_BODY,	 /* Content-Length bytes */
	HTTP_CHUNK_SIZE, /* a chunk's size line */
	HTTP_CHUNK_DATA, /* its bytes */
	HTTP_CHUNK_CRLF, /* the line end after them */
	HTTP_TRAILER,	 /* trailer lines after the last chunk, up to a blank line */
	HTTP_DONE,	 /* a whole request: method, path, body */
	HTTP_FAILED,	 /* refused: status, why */
};

struct http_request {
	enum http_phase phase;
	/* The outcome. */
	char method[HTTP_MAX_METHOD + 1];
	char path[HTTP_MAX_PATH + 1]; /* percent-decoded, without the query */
	bool close;		      /* Connection: close, or HTTP/1.0 without keep-alive */
	bool expect_continue;	      /* the client waits for "100 Continue" before its body */
	char *body;		      /* malloc'd, body_len bytes (NULL when there are none) */
	size_t body_len;
	unsigned status; /* HTTP_FAILED: the answer's status */
	char why[HTTP_MAX_WHY];
	bool size_refused; /* HTTP_FAILED for a body over body_max (400, as Firecracker) */

	/* The parser's own. */
	size_t body_max;
	size_t body_cap; /* bytes allocated at body */
	size_t head_len; /* bytes of head (and trailer) so far */
	int nheaders;	 /* header and trailer lines so far */
	bool http10, keep_alive, chunked, have_length;
	uint64_t length;	  /* Content-Length, then what is left of the body or chunk */
	int rl_part;		  /* request line: 0 method, 1 target, 2 version, 3 its line end */
	size_t rl_len;		  /* bytes of the current request-line part */
	char line[HTTP_MAX_HEAD]; /* the current line (request line, header, chunk size) */
	size_t line_len;
};

/* An empty request whose body may have up to body_max bytes. */
void http_request_init(struct http_request *r, size_t body_max);

/* Forgets the request (its body freed) and waits for the next one on the same connection. */
void http_request_reset(struct http_request *r);

/* Frees the body (body_len becomes 0). */
void http_request_free(struct http_request *r);

/* Takes bytes of data[0..n) and returns how many it took: all of them, or fewer once the request
 * is whole (HTTP_DONE: the rest belongs to the next request) or refused (HTTP_FAILED). */
size_t http_request_feed(struct http_request *r, const char *data, size_t n);

/* True once the head has arrived (the phase is past HTTP_HEADERS). */
static inline bool http_request_head_done(const struct http_request *r)
{
	return r->phase > HTTP_HEADERS;
}

/* The reason phrase of an answer's status ("Bad Request"); "Unknown" for one not listed. */
const char *http_reason(unsigned status);

#endif
