/* The guest's HTTP requests to MMDS (vmm/mmds/mmds_http.c) on a fake clock: GET as JSON or
 * IMDS text (and imds_compat), 404 and 501, the V2 token flow (PUT /latest/api/token, its TTL
 * header's rules, 401 without or with a bad or expired token), 405 with Allow, malformed and
 * oversized requests (400, and the connection closes), pipelining, bodies, keep-alive rules. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmds/mmds_http.h"

static struct mmds m;
static uint64_t now = 1000;
static struct mmds_http_reply rep;
static uint8_t next_rand;

static void fake_random(void *opaque, uint8_t *buf, size_t n)
{
	(void)opaque;
	for (size_t i = 0; i < n; i++)
		buf[i] = next_rand++;
}

static void setup(void)
{
	cr_assert_eq(mmds_init(&m, MMDS_DEFAULT_SIZE_LIMIT), 0);
	json_t *doc =
	    json_loads("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"n\":5}}}", 0, NULL);
	cr_assert_eq(mmds_put(&m, doc), 0);
	json_decref(doc);
}

static void teardown(void)
{
	free(rep.data);
	mmds_destroy(&m);
}

TestSuite(mmds_http, .init = setup, .fini = teardown);

static void set_config(enum mmds_version v, bool compat)
{
	struct mmds_config c;
	mmds_config_default(&c);
	c.version = v;
	c.imds_compat = compat;
	mmds_set_config(&m, &c);
}

/* Serves `req`; returns the bytes taken (the answer in rep). */
static size_t serve_full(const char *req, bool full)
{
	struct mmds_http_env env = {&m, now, fake_random, NULL};
	free(rep.data);
	return mmds_http_serve(&env, req, strlen(req), full, &rep);
}

static size_t serve(const char *req)
{
	return serve_full(req, false);
}

static unsigned status(void)
{
	cr_assert(rep.data && rep.len > 12 && !strncmp(rep.data, "HTTP/1.1 ", 9));
	/* the answer is not NUL-terminated: the three digits, not atoi() */
	unsigned code = 0;
	for (int i = 9; i < 12; i++) {
		cr_assert(rep.data[i] >= '0' && rep.data[i] <= '9', "status digit %d", i);
		code = code * 10 + (unsigned)(rep.data[i] - '0');
	}
	return code;
}

/* The body of the answer (NUL-terminated copy in a static buffer). */
static const char *body(void)
{
	static char b[8192];
	const char *p = memmem(rep.data, rep.len, "\r\n\r\n", 4);
	cr_assert(p);
	size_t n = rep.len - (size_t)(p + 4 - rep.data);
	cr_assert_lt(n, sizeof(b));
	memcpy(b, p + 4, n);
	b[n] = '\0';
	return b;
}

static bool has_header(const char *h)
{
	const char *end = memmem(rep.data, rep.len, "\r\n\r\n", 4);
	const char *p = memmem(rep.data, (size_t)(end - rep.data), h, strlen(h));
	return p != NULL;
}

static void get(const char *path, const char *headers)
{
	char req[1024];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 169.254.169.254\r\n%s\r\n", path,
		 headers ? headers : "");
	cr_assert_eq(serve(req), strlen(req));
}

/* A V2 token with this TTL header value; returns the status. */
static unsigned put_token(const char *ttl_header, char *tok)
{
	char req[512];
	snprintf(req, sizeof(req), "PUT /latest/api/token HTTP/1.1\r\n%s%s\r\n", ttl_header,
		 ttl_header[0] ? "\r\n" : "");
	cr_assert_eq(serve(req), strlen(req));
	unsigned st = status();
	if (st == 200 && tok)
		strcpy(tok, body());
	return st;
}

Test(mmds_http, get_imds_and_json)
{
	get("/latest/meta-data", NULL);
	cr_assert_eq(status(), 200);
	cr_assert_str_eq(body(), "ami-id\nn");
	cr_assert(has_header("Content-Type: text/plain"));
	cr_assert(has_header("Content-Length: 8"));
	get("/latest/meta-data/ami-id", NULL);
	cr_assert_str_eq(body(), "ami-1");
	get("/latest/meta-data", "Accept: application/json\r\n");
	cr_assert_eq(status(), 200);
	cr_assert_str_eq(body(), "{\"ami-id\":\"ami-1\",\"n\":5}");
	cr_assert(has_header("Content-Type: application/json"));
	get("/latest?x=1", NULL); /* the query is not part of the path */
	cr_assert_str_eq(body(), "meta-data/");
	get("http://169.254.169.254/latest", NULL); /* absolute form */
	cr_assert_str_eq(body(), "meta-data/");
}

Test(mmds_http, imds_compat_ignores_accept)
{
	set_config(MMDS_V1, true);
	get("/latest/meta-data", "Accept: application/json\r\n");
	cr_assert_str_eq(body(), "ami-id\nn");
}

Test(mmds_http, not_found_and_unsupported)
{
	get("/latest/user-data", NULL);
	cr_assert_eq(status(), 404);
	cr_assert_str_eq(body(), "Resource not found: /latest/user-data.");
	get("/latest/meta-data/n", NULL);
	cr_assert_eq(status(), 501);
	get("/latest/meta-data/n", "Accept: application/json\r\n");
	cr_assert_eq(status(), 200);
	cr_assert_str_eq(body(), "5");
}

Test(mmds_http, nothing_before_the_first_put)
{
	mmds_destroy(&m);
	cr_assert_eq(mmds_init(&m, 100), 0);
	get("/", NULL);
	cr_assert_eq(status(), 404);
}

Test(mmds_http, v1_accepts_any_token_or_none)
{
	get("/latest/meta-data/ami-id", "X-metadata-token: bogus\r\n");
	cr_assert_eq(status(), 200);
	char tok[128];
	cr_assert_eq(put_token("X-metadata-token-ttl-seconds: 60", tok), 200); /* V1 issues too */
}

Test(mmds_http, v2_token_flow)
{
	char tok[128], hdr[200];
	set_config(MMDS_V2, false);
	get("/latest/meta-data/ami-id", NULL);
	cr_assert_eq(status(), 401);
	cr_assert_str_eq(body(), MMDS_MSG_NO_TOKEN);
	get("/latest/meta-data/ami-id", "X-metadata-token: 0123\r\n");
	cr_assert_eq(status(), 401);
	cr_assert_str_eq(body(), MMDS_MSG_BAD_TOKEN);

	cr_assert_eq(put_token("X-metadata-token-ttl-seconds: 2", tok), 200);
	cr_assert_eq(strlen(tok), MMDS_TOKEN_LEN);
	cr_assert(has_header("X-metadata-token-ttl-seconds: 2\r\n"));
	snprintf(hdr, sizeof(hdr), "X-metadata-token: %s\r\n", tok);
	get("/latest/meta-data/ami-id", hdr);
	cr_assert_eq(status(), 200);
	cr_assert_str_eq(body(), "ami-1");
	snprintf(hdr, sizeof(hdr), "x-aws-ec2-metadata-token:%s  \r\n", tok); /* any case, OWS */
	get("/latest/meta-data/ami-id", hdr);
	cr_assert_eq(status(), 200);
	now += 2000; /* expired */
	snprintf(hdr, sizeof(hdr), "X-metadata-token: %s\r\n", tok);
	get("/latest/meta-data/ami-id", hdr);
	cr_assert_eq(status(), 401);
	cr_assert_eq(put_token("X-aws-ec2-metadata-token-ttl-seconds: 21600", tok), 200);
	cr_assert(has_header("X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"));
}

Test(mmds_http, token_ttl_rules)
{
	cr_assert_eq(put_token("", NULL), 400);
	cr_assert_str_eq(body(), MMDS_MSG_NO_TTL);
	cr_assert_eq(put_token("X-metadata-token-ttl-seconds: 0", NULL), 400);
	cr_assert(strstr(body(), "between 1 and 21600"), "%s", body());
	cr_assert_eq(put_token("X-metadata-token-ttl-seconds: 21601", NULL), 400);
	cr_assert_eq(put_token("X-metadata-token-ttl-seconds: -5", NULL), 400);
	cr_assert(strstr(body(), "Invalid value"), "%s", body());
	cr_assert_eq(put_token("X-metadata-token-ttl-seconds: 1\r\nX-Forwarded-For: 1.2.3.4", NULL),
		     400);
	cr_assert(strstr(body(), "X-Forwarded-For"), "%s", body());
	const char *req =
	    "PUT /latest/api/other HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n\r\n";
	serve(req);
	cr_assert_eq(status(), 404);
}

Test(mmds_http, other_methods_405)
{
	const char *req = "POST /latest HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	cr_assert_eq(serve(req), strlen(req));
	cr_assert_eq(status(), 405);
	cr_assert(has_header("Allow: GET, PUT\r\n"));
	cr_assert_str_eq(body(), MMDS_MSG_METHOD);
	serve("get /latest HTTP/1.1\r\n\r\n"); /* methods are case-sensitive */
	cr_assert_eq(status(), 405);
}

Test(mmds_http, malformed_requests_400_and_close)
{
	static const char *const bad[] = {
	    "GET /latest\r\n\r\n",
	    "GET /latest HTTP/2.0\r\n\r\n",
	    "GET  /latest HTTP/1.1\r\n\r\n",
	    "GET /latest HTTP/1.1\r\nNoColon\r\n\r\n",
	    "GET /latest HTTP/1.1\r\n: empty name\r\n\r\n",
	    "GET /latest HTTP/1.1\r\nContent-Length: x\r\n\r\n",
	    "GET /latest HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(serve(bad[i]), strlen(bad[i]), "%s", bad[i]);
		cr_assert_eq(status(), 400, "%s", bad[i]);
		cr_assert(rep.close, "%s", bad[i]);
	}
	serve("GET latest HTTP/1.1\r\n\r\n");
	cr_assert_eq(status(), 400);
	cr_assert_str_eq(body(), "Invalid URI.");
	cr_assert_not(rep.close);
}

Test(mmds_http, incomplete_waits_unless_full)
{
	cr_assert_eq(serve("GET /latest HTTP/1.1\r\nAccept: x"), 0);
	cr_assert_null(rep.data);
	const char *part = "GET /latest HTTP/1.1\r\nAcc";
	cr_assert_eq(serve_full(part, true), strlen(part));
	cr_assert_eq(status(), 400);
	cr_assert(rep.close);
}

Test(mmds_http, body_is_waited_for_and_skipped)
{
	const char *req = "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 9\r\n"
			  "Content-Length: 5\r\n\r\nab";
	cr_assert_eq(serve(req), 0);
	char whole[256];
	snprintf(whole, sizeof(whole), "%scdeGET", req);
	cr_assert_eq(serve(whole), strlen(whole) - 3);
	cr_assert_eq(status(), 200);
	cr_assert_eq(serve_full(req, true), strlen(req)); /* the body can never come */
	cr_assert_eq(status(), 400);
}

Test(mmds_http, pipelined_requests_one_at_a_time)
{
	const char *two = "GET /latest HTTP/1.1\r\n\r\nGET /latest/meta-data HTTP/1.1\r\n\r\n";
	size_t first = strlen("GET /latest HTTP/1.1\r\n\r\n");
	cr_assert_eq(serve(two), first);
	cr_assert_str_eq(body(), "meta-data/");
	cr_assert_eq(serve(two + first), strlen(two) - first);
	cr_assert_str_eq(body(), "ami-id\nn");
}

Test(mmds_http, keep_alive_rules)
{
	serve("GET /latest HTTP/1.1\r\n\r\n");
	cr_assert_not(rep.close);
	cr_assert(has_header("Connection: keep-alive"));
	serve("GET /latest HTTP/1.1\r\nConnection: close\r\n\r\n");
	cr_assert(rep.close);
	cr_assert(has_header("Connection: close"));
	serve("GET /latest HTTP/1.0\r\n\r\n");
	cr_assert(rep.close);
	serve("GET /latest HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	cr_assert_not(rep.close);
}
