/* The guest's HTTP requests to MMDS. See mmds_http.h. */
#include "vmm/mmds/mmds_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmm/mmds/mmds_render.h"

#define TOKEN_PATH "/latest/api/token"

/* One header's value: points into the request. */
struct hval {
	const char *p;
	size_t n;
};

/* What the answer depends on, from the request line and headers. */
struct request {
	struct hval method, uri, version;
	struct hval token, ttl, accept, connection, forwarded;
	const char *ttl_name;
	size_t content_length;
	bool chunked, bad_length;
};

static bool hval_is(struct hval v, const char *s)
{
	return v.n == strlen(s) && !strncasecmp(v.p, s, v.n);
}

static bool hval_has(struct hval v, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; v.n >= k && i <= v.n - k; i++)
		if (!strncasecmp(v.p + i, s, k))
			return true;
	return false;
}

/* Methods are case-sensitive (RFC 9110 section 9.1). */
static bool method_is(struct hval v, const char *s)
{
	return v.n == strlen(s) && !memcmp(v.p, s, v.n);
}

/* Splits the next space-separated word of a request line. */
static struct hval word(const char **p, const char *end)
{
	struct hval w = {*p, 0};
	while (*p < end && **p != ' ')
		(*p)++, w.n++;
	if (*p < end)
		(*p)++;
	return w;
}

static bool parse_request_line(struct request *r, const char *p, const char *end)
{
	r->method = word(&p, end);
	r->uri = word(&p, end);
	r->version = word(&p, end);
	return p == end && r->method.n && r->uri.n &&
	       (hval_is(r->version, "HTTP/1.1") || hval_is(r->version, "HTTP/1.0"));
}

static void header(struct request *r, const char *name, size_t nlen, struct hval v)
{
#define IS(s) (nlen == strlen(s) && !strncasecmp(name, s, nlen))
	if (IS("x-metadata-token") || IS("x-aws-ec2-metadata-token")) {
		r->token = v;
	} else if (IS("x-metadata-token-ttl-seconds")) {
		r->ttl = v, r->ttl_name = "X-metadata-token-ttl-seconds";
	} else if (IS("x-aws-ec2-metadata-token-ttl-seconds")) {
		r->ttl = v, r->ttl_name = "X-aws-ec2-metadata-token-ttl-seconds";
	} else if (IS("accept")) {
		r->accept = v;
	} else if (IS("connection")) {
		r->connection = v;
	} else if (IS("x-forwarded-for")) {
		r->forwarded = v;
	} else if (IS("transfer-encoding")) {
		r->chunked = true;
	} else if (IS("content-length")) {
		size_t n = 0;
		for (size_t i = 0; i < v.n; i++) {
			if (v.p[i] < '0' || v.p[i] > '9' || n > 1000000)
				r->bad_length = true;
			else
				n = n * 10 + (size_t)(v.p[i] - '0');
		}
		r->bad_length |= !v.n;
		r->content_length = n;
	}
#undef IS
}

/* Parses "Name: value" lines up to `end` (the blank line). False for a malformed line. */
static bool parse_headers(struct request *r, const char *p, const char *end)
{
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *line_end = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(line_end - p));
		if (!colon || colon == p)
			return false;
		struct hval v = {colon + 1, (size_t)(line_end - colon - 1)};
		while (v.n && (*v.p == ' ' || *v.p == '\t'))
			v.p++, v.n--;
		while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
			v.n--;
		header(r, p, (size_t)(colon - p), v);
		p = eol ? eol + 2 : end;
	}
	return true;
}

static const char *reason(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 501:
		return "Not Implemented";
	}
	return "Internal Server Error";
}

/* Writes the whole answer into out (malloc'd). `extra`: more header lines, CRLF-terminated. */
static void answer(struct mmds_http_reply *out, unsigned status, bool json, const char *extra,
		   const char *body, size_t blen)
{
	char head[256];
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.1 %u %s\r\nServer: Firecracker API\r\nConnection: %s\r\n"
			 "Content-Type: %s\r\n%sContent-Length: %zu\r\n\r\n",
			 status, reason(status), out->close ? "close" : "keep-alive",
			 json ? "application/json" : "text/plain", extra ? extra : "", blen);
	out->data = malloc((size_t)h + blen);
	out->len = out->data ? (size_t)h + blen : 0;
	if (out->data) {
		memcpy(out->data, head, (size_t)h);
		memcpy(out->data + h, body, blen);
	}
}

static void text(struct mmds_http_reply *out, unsigned status, const char *msg)
{
	answer(out, status, false, NULL, msg, strlen(msg));
}

/* The path of a request URI: an absolute-form "http://host/path" loses its scheme and host,
 * and the query is not part of the path. */
static struct hval uri_path(struct hval u)
{
	if (u.n >= 7 && !strncasecmp(u.p, "http://", 7)) {
		const char *slash = memchr(u.p + 7, '/', u.n - 7);
		u.n = slash ? u.n - (size_t)(slash - u.p) : 0;
		u.p = slash ? slash : u.p;
	}
	const char *q = memchr(u.p, '?', u.n);
	if (q)
		u.n = (size_t)(q - u.p);
	return u;
}

static void serve_get(const struct mmds_http_env *env, const struct request *r,
		      struct mmds_http_reply *out)
{
	struct hval path = uri_path(r->uri);
	char *body;
	size_t blen;
	bool json;

	if (mmds_guest_version(env->mmds) == MMDS_V2) {
		if (!r->token.p) {
			text(out, 401, MMDS_MSG_NO_TOKEN);
			return;
		}
		if (!mmds_guest_token_ok(env->mmds, r->token.p, r->token.n, env->now_ms)) {
			text(out, 401, MMDS_MSG_BAD_TOKEN);
			return;
		}
	}
	int err = mmds_guest_read(env->mmds, path.p, path.n,
				  hval_has(r->accept, "application/json"), &body, &blen, &json);
	if (err == -ENOENT) {
		char msg[160];
		snprintf(msg, sizeof(msg), "Resource not found: %.*s.",
			 (int)(path.n > 100 ? 100 : path.n), path.p);
		text(out, 404, msg);
	} else if (err == -ENOTSUP) {
		text(out, 501, MMDS_MSG_UNSUPPORTED);
	} else if (err) {
		out->data = NULL;
	} else {
		answer(out, 200, json, NULL, body, blen);
		free(body);
	}
}

static void serve_put(const struct mmds_http_env *env, const struct request *r,
		      struct mmds_http_reply *out)
{
	struct hval path = uri_path(r->uri);
	char msg[192], tok[MMDS_TOKEN_LEN + 1], extra[96];
	uint8_t rnd[MMDS_TOKEN_RAND_LEN];
	uint32_t ttl;

	if (r->forwarded.p) {
		text(out, 400,
		     "Invalid header. Reason: Unsupported header name. Key: X-Forwarded-For");
		return;
	}
	if (!hval_is(path, TOKEN_PATH)) {
		snprintf(msg, sizeof(msg), "Resource not found: %.*s.",
			 (int)(path.n > 100 ? 100 : path.n), path.p);
		text(out, 404, msg);
		return;
	}
	if (!r->ttl.p) {
		text(out, 400, MMDS_MSG_NO_TTL);
		return;
	}
	if (mmds_token_parse_ttl(r->ttl.p, r->ttl.n, &ttl)) {
		snprintf(msg, sizeof(msg),
			 "Invalid header. Reason: Invalid value. Key:%s; Value:%.*s", r->ttl_name,
			 (int)(r->ttl.n > 32 ? 32 : r->ttl.n), r->ttl.p);
		text(out, 400, msg);
		return;
	}
	env->random(env->opaque, rnd, sizeof(rnd));
	if (mmds_guest_new_token(env->mmds, ttl, env->now_ms, rnd, tok)) {
		snprintf(
		    msg, sizeof(msg),
		    "Invalid time to live value provided for token: %u. Please provide a value "
		    "between %d and %d.",
		    ttl, MMDS_TOKEN_TTL_MIN, MMDS_TOKEN_TTL_MAX);
		text(out, 400, msg);
		return;
	}
	snprintf(extra, sizeof(extra), "%s: %u\r\n", r->ttl_name, ttl);
	answer(out, 200, false, extra, tok, MMDS_TOKEN_LEN);
}

static void serve(const struct mmds_http_env *env, const struct request *r,
		  struct mmds_http_reply *out)
{
	struct hval path = uri_path(r->uri);
	if (!path.n || path.p[0] != '/')
		text(out, 400, "Invalid URI.");
	else if (method_is(r->method, "GET"))
		serve_get(env, r, out);
	else if (method_is(r->method, "PUT"))
		serve_put(env, r, out);
	else
		answer(out, 405, false, "Allow: GET, PUT\r\n", MMDS_MSG_METHOD,
		       strlen(MMDS_MSG_METHOD));
}

static bool wants_close(const struct request *r)
{
	if (hval_has(r->connection, "close"))
		return true;
	return hval_is(r->version, "HTTP/1.0") && !hval_has(r->connection, "keep-alive");
}

size_t mmds_http_serve(const struct mmds_http_env *env, const char *buf, size_t len, bool full,
		       struct mmds_http_reply *out)
{
	struct request r = {0};
	const char *end = memmem(buf, len, "\r\n\r\n", 4);

	*out = (struct mmds_http_reply){0};
	if (!end) {
		if (!full)
			return 0;
		out->close = true;
		text(out, 400, "Request too large or incomplete.");
		return len;
	}
	const char *eol = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
	size_t head = (size_t)(end - buf) + 4;
	bool ok = parse_request_line(&r, buf, eol) && parse_headers(&r, eol + 2, end);
	if (!ok || r.chunked || r.bad_length) {
		out->close = true; /* the request's end is unknown: nothing after it can be read */
		text(out, 400, ok ? "Unsupported request body." : "Invalid request.");
		return len;
	}
	if (r.content_length > len - head) {
		if (!full)
			return 0;
		out->close = true;
		text(out, 400, "Request too large or incomplete.");
		return len;
	}
	out->close = wants_close(&r);
	serve(env, &r, out); /* a body is read and ignored */
	return head + r.content_length;
}
