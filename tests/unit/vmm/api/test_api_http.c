/* The API's HTTP layer (vmm/api/api_http.c) on a real Unix socket with a router whose backend
 * does nothing: the refusals it makes itself (a NUL in the path, an oversize path or head) are
 * JSON 400s, and a client process trickling on many connections keeps only its youngest
 * API_HTTP_MAX_STALLED_PER_CLIENT once they have stalled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api/api_http.h"
#include "vmm/api/api_router.h"

static const struct api_backend_ops ops; /* GET / needs none */
static struct api api;
static struct api_http *http;
static char path[64];

static void setup(void)
{
	char err[256] = "";
	snprintf(path, sizeof(path), "/tmp/test_api_http.%d.sock", (int)getpid());
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
	cr_assert_eq(api_http_start(&http, path, &api, false, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	api_http_stop(http);
	api_destroy(&api);
}

TestSuite(api_http, .init = setup, .fini = teardown, .timeout = 20);

static int connect_api(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd;
}

/* Sends `len` bytes, reads the answer (up to 4 s); returns its status, the body in *body. */
static int exchange(const char *req, size_t len, char *body, size_t bodylen)
{
	static char buf[8192];
	size_t got = 0;
	int fd = connect_api();
	const char *p = req;
	while (len) { /* a big request: the server may answer and close before the end */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	struct pollfd pfd = {fd, POLLIN, 0};
	while (got < sizeof(buf) - 1 && poll(&pfd, 1, 4000) == 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") && strchr(strstr(buf, "\r\n\r\n"), '}'))
			break;
	}
	close(fd);
	buf[got] = '\0';
	const char *b = strstr(buf, "\r\n\r\n");
	snprintf(body, bodylen, "%s", b ? b + 4 : "");
	int status = 0;
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

static void expect_json(const char *req, size_t len, int status, const char *needle)
{
	char body[1024];
	cr_assert_eq(exchange(req, len, body, sizeof(body)), status, "%s", body);
	json_t *j = json_loads(body, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "fault_message"));
	cr_assert_not_null(msg, "not JSON: %s", body);
	cr_assert(strstr(msg, needle), "%s", msg);
	json_decref(j);
}

Test(api_http, a_nul_in_the_path_is_refused_not_cut)
{
	static const char raw[] = "GET /\0abc HTTP/1.1\r\nHost: x\r\n\r\n";
	char body[1024];
	expect_json(raw, sizeof(raw) - 1, 400, "NUL");
	expect_json("GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", 30, 400, "NUL");
	cr_assert_eq(exchange("GET /?a=b HTTP/1.1\r\nHost: x\r\n\r\n", 31, body, sizeof(body)), 200,
		     "a query is not a NUL: %s", body);
}

Test(api_http, oversize_path_and_head_get_json)
{
	size_t n = 100 * 1024;
	char *req = malloc(n + 64);
	cr_assert_not_null(req);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n);
	size_t len = 5 + n + (size_t)sprintf(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_json(req, len, 414, "path is longer");
	len = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + len, 'b', 40 * 1024);
	len += 40 * 1024;
	len += (size_t)sprintf(req + len, "\r\n\r\n");
	expect_json(req, len, 431, "headers are larger");
	free(req);
}

static bool still_open(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n < 0 && errno == EAGAIN;
}

Test(api_http, a_trickling_process_keeps_only_a_few_stalled_requests)
{
	enum { N = 12 };
	int fds[N], open = 0;
	char body[1024];
	for (int i = 0; i < N; i++) {
		fds[i] = connect_api();
		cr_assert_gt(
		    send(fds[i], "PUT /actions HTTP/1.1\r\nContent-Length: 50\r\n\r\n{", 46, 0), 0);
	}
	struct timespec t = {1, 700000000}; /* past API_HTTP_STALL_NS and a sweep or two */
	nanosleep(&t, NULL);
	for (int i = 0; i < N; i++)
		open += still_open(fds[i]);
	cr_assert_eq(open, API_HTTP_MAX_STALLED_PER_CLIENT, "%d of %d left", open, N);
	cr_assert_eq(exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, body, sizeof(body)), 200,
		     "others are still served");
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

/* ---- issue 46: every answer is one status line and one JSON body, in under a second ---- */

struct answer {
	int status;
	int status_lines; /* "HTTP/1.1 ..." lines: 1, the answer given once */
	double secs;	  /* until the answer was whole */
	bool closed;	  /* the server closed the connection after it */
	char *body;	  /* points into the buffer */
	char *head;	  /* the buffer: the first answer's status line and headers */
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Whether buf holds a whole answer: its head and Content-Length bytes of body. */
static bool whole(const char *buf, size_t got)
{
	const char *end = strstr(buf, "\r\n\r\n");
	const char *cl = strstr(buf, "Content-Length: ");
	if (!end)
		return false;
	size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
	return got >= (size_t)(end + 4 - buf) + body;
}

/* Sends req on a new connection and reads until the server closes it (at most 3 s); the
 * answer's status, how many status lines came, how long the first answer took. */
static struct answer ask(const char *req, size_t len)
{
	static char buf[256 * 1024];
	struct answer a = {.secs = 99};
	struct timespec t0;
	size_t got = 0;
	int fd = connect_api();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len) {
		ssize_t n = send(fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) { /* the server reads as it goes */
			struct pollfd pfd = {fd, POLLOUT, 0};
			if (poll(&pfd, 1, 100) >= 0 && since(&t0) < 3)
				continue;
		}
		if (n <= 0)
			break; /* refused before the end: the answer is waiting */
		req += n;
		len -= (size_t)n;
	}
	struct pollfd pfd = {fd, POLLIN, 0};
	while (got < sizeof(buf) - 1 && since(&t0) < 3 && poll(&pfd, 1, 100) >= 0) {
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
		if (n <= 0) {
			a.closed = n == 0 || errno == ECONNRESET;
			if (n == 0 || errno != EAGAIN)
				break;
			continue;
		}
		got += (size_t)n;
		buf[got] = '\0';
		if (a.secs == 99 && whole(buf, got))
			a.secs = since(&t0);
	}
	close(fd);
	buf[got] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &a.status);
	for (const char *p = buf; (p = strstr(p, "HTTP/1.1 ")); p++) /* "HTTP/1.1 NNN " */
		a.status_lines += strspn(p + 9, "0123456789") == 3 && p[12] == ' ';
	const char *b = strstr(buf, "\r\n\r\n");
	a.body = b ? (char *)b + 4 : buf + got;
	a.head = buf;
	return a;
}

/* One refusal: `status` once, with a JSON fault_message holding `needle`, within a second,
 * and the connection closed after it. */
static void refused(const char *label, const char *req, size_t len, int status, const char *needle)
{
	struct answer a = ask(req, len);
	cr_assert_eq(a.status_lines, 1, "%s: %d status lines", label, a.status_lines);
	cr_assert_eq(a.status, status, "%s: %d %s", label, a.status, a.body);
	cr_assert_lt(a.secs, 1.0, "%s: answered after %.2f s", label, a.secs);
	cr_assert(a.closed, "%s: the connection stayed open", label);
	json_t *j = json_loads(a.body, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "fault_message"));
	cr_assert_not_null(msg, "%s: not one JSON fault_message: %s", label, a.body);
	cr_assert(strstr(msg, needle), "%s: %s", label, msg);
	json_decref(j);
}

#define REFUSED(label, s, status, needle) refused(label, s, sizeof(s) - 1, status, needle)

Test(api_http, content_length_negative_or_too_large)
{
	REFUSED("-5", "PUT /mmds HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}", 400, "not a length");
	REFUSED("2^64", "PUT /mmds HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n{}", 400,
		"not a length");
}

Test(api_http, content_length_twice_in_either_order)
{
	REFUSED("2 then 3",
		"PUT /mmds HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
		"more than once");
	REFUSED("3 then 2",
		"PUT /mmds HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\n{}", 400,
		"more than once");
}

Test(api_http, a_bad_chunk_size)
{
	REFUSED("chunk zz",
		"PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
		400, "chunk size");
}

Test(api_http, http_0_9_garbage_and_http_2)
{
	REFUSED("HTTP/0.9", "GET /\r\n", 400, "METHOD PATH HTTP/1.1");
	REFUSED("garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400, "control byte");
	REFUSED("words", "hello there, server\r\n\r\n", 400, "must begin with");
	REFUSED("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0");
}

Test(api_http, ten_thousand_headers)
{
	size_t cap = 10000 * 16 + 64, len = (size_t)snprintf(NULL, 0, "GET / HTTP/1.1\r\n");
	char *req = malloc(cap);
	cr_assert_not_null(req);
	strcpy(req, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(req + len, "X-H%d: v\r\n", i);
	len += (size_t)sprintf(req + len, "\r\n");
	refused("10000 headers", req, len, 431, "more than 100 header lines");
	free(req);
}

Test(api_http, a_nul_in_a_header_value_or_name)
{
	REFUSED("NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400, "NUL");
	REFUSED("NUL in a name", "GET / HTTP/1.1\r\nHost: x\r\nX\0A: ab\r\n\r\n", 400, "NUL");
}

Test(api_http, pipelined_and_keep_alive_requests_are_each_answered_once)
{
	static const char two[] =
	    "GET / HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct answer a = ask(two, sizeof(two) - 1);
	cr_assert_eq(a.status_lines, 2, "%d", a.status_lines);
	cr_assert(a.closed);
	cr_assert(strstr(a.body, "Invalid request method and/or path"), "%s", a.body);
}

Test(api_http, expect_100_continue)
{
	static const char req[] = "PUT /nothing HTTP/1.1\r\nExpect: 100-continue\r\n"
				  "Content-Length: 2\r\nConnection: close\r\n\r\n";
	char buf[1024];
	int fd = connect_api();
	cr_assert_eq(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
	struct pollfd pfd = {fd, POLLIN, 0};
	cr_assert_eq(poll(&pfd, 1, 1000), 1, "no 100 Continue");
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "HTTP/1.1 100 Continue\r\n\r\n");
	cr_assert_eq(send(fd, "{}", 2, 0), 2);
	cr_assert_eq(poll(&pfd, 1, 1000), 1);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strncmp(buf, "HTTP/1.1 400 ", 13) == 0, "%s", buf);
	close(fd);
}

/* A body over the limit: Firecracker's answer (micro_http's SizeLimitExceeded: 400 and its
 * {"error"} body), at once, before the body comes (here an Expect: 100-continue waits for no
 * 100), the connection closed. */
static void want_size_refusal(const char *req, const char *text)
{
	struct answer a = ask(req, strlen(req));
	cr_assert_eq(a.status, 400, "%d %s", a.status, a.body);
	cr_assert_eq(a.status_lines, 1, "%d status lines", a.status_lines);
	cr_assert(a.closed);
	json_t *j = json_loads(a.body, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", a.body);
	cr_assert_eq(json_object_size(j), 1, "%s", a.body);
	cr_assert_str_eq(json_string_value(json_object_get(j, "error")), text);
	json_decref(j);
}

Test(api_http, a_body_over_the_limit_is_firecrackers_400)
{
	want_size_refusal(
	    "PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n",
	    "Request payload with size 100000 is larger than the limit of 51200 allowed by "
	    "server.\nAll previous unanswered requests will be dropped.");
	/* 51200 bytes exactly are taken (Firecracker refuses only beyond) */
	static char big[51200 + 128];
	int n = snprintf(big, sizeof(big),
			 "PUT /mmds HTTP/1.1\r\nContent-Length: 51200\r\nConnection: close\r\n\r\n"
			 "{\"k\": \"");
	size_t fill = 51200 - 9; /* with {"k": "} and "}, 51200 */
	memset(big + n, 'x', fill);
	memcpy(big + n + fill, "\"}", 3);
	struct answer a = ask(big, strlen(big));
	cr_assert_neq(a.status, 0);
	cr_assert_null(strstr(a.body, "Request payload"), "%s", a.body);
}

/* --http-api-max-payload-size (struct api's max_body): Firecracker's own test, limit 50. */
Test(api_http, the_limit_is_the_one_given)
{
	api.max_body = 50;
	want_size_refusal(
	    "PUT http://localhost/home HTTP/1.1\r\nContent-Length: 50000\r\n\r\naaaaaa",
	    "Request payload with size 50000 is larger than the limit of 50 allowed by "
	    "server.\nAll previous unanswered requests will be dropped.");
	/* chunked: the size so far, with the chunk that passes the limit */
	want_size_refusal("PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "28\r\n0123456789012345678901234567890123456789\r\n20\r\n",
			  "Request payload with size 72 is larger than the limit of 50 allowed by "
			  "server.\nAll previous unanswered requests will be dropped.");
}

/* The router's fault messages were cut at 255 bytes, mid-sentence: the longest one a request
 * can make (its path, 4096 bytes, repeated) comes whole. */
Test(api_http, a_long_fault_message_is_not_cut)
{
	char path[4097], req[4200], want[4200];
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nConnection: close\r\n\r\n", path);
	snprintf(want, sizeof(want), "Invalid request method and/or path: GET %s.", path + 1);
	struct answer a = ask(req, (size_t)len);
	cr_assert_eq(a.status, 400);
	cr_assert_eq(a.status_lines, 1);
	json_t *j = json_loads(a.body, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "fault_message"));
	cr_assert_not_null(msg, "%s", a.body);
	cr_assert_str_eq(msg, want);
	json_decref(j);
}

/* The Date header (RFC 9110 section 6.6.1) is computed without gmtime_r(): it must read back as
 * now. */
Test(api_http, answers_carry_the_date)
{
	static const char req[] = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct answer a = ask(req, sizeof(req) - 1);
	cr_assert_eq(a.status, 200);
	struct tm tm = {0};
	const char *d = a.head ? strstr(a.head, "\r\nDate: ") : NULL;
	cr_assert_not_null(d);
	cr_assert_not_null(strptime(d + 8, "%a, %d %b %Y %H:%M:%S GMT", &tm), "%.40s", d);
	/* the server's clock: time() reads a coarser one, up to a tick behind at a second's turn */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_t t = timegm(&tm), now = ts.tv_sec;
	char again[64];
	struct tm back;
	strftime(again, sizeof(again), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &back));
	cr_assert_eq(strncmp(d + 8, again, strlen(again)), 0, "%.40s vs %s (the weekday)", d + 8,
		     again);
	cr_assert(t <= now && now - t <= 5, "%.40s is not now", d + 8);
}

/* A client that sends its next request as soon as it has an answer: the server reads at most
 * API_HTTP_READS_PER_ROUND times from one connection per round, and a request it read on its
 * last one used to wait, unanswered, until the 5 s deadline closed the connection (tools/bench
 * api lost its connection so in most runs). Each of many back-to-back requests is answered
 * within 2 s. */
Test(api_http, back_to_back_requests_on_one_connection_are_all_answered)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	int fd = connect_api();
	for (int i = 0; i < 100 * API_HTTP_READS_PER_ROUND; i++) {
		cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1,
			     "request %d: %s", i, strerror(errno));
		size_t got = 0;
		buf[0] = '\0';
		while (!whole(buf, got)) {
			struct pollfd pfd = {fd, POLLIN, 0};
			cr_assert_eq(poll(&pfd, 1, 2000), 1, "request %d: no answer within 2 s", i);
			ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
			cr_assert_gt(n, 0, "request %d: the connection closed", i);
			got += (size_t)n;
			buf[got] = '\0';
		}
		cr_assert(!strncmp(buf, "HTTP/1.1 200 ", 13), "request %d: %.40s", i, buf);
	}
	close(fd);
}

/* A held start (a VM the command line gives, being built): a connection waits unanswered, and
 * is answered once opened. */
Test(api_http, a_held_server_answers_only_once_opened)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char err[256] = "", buf[4096];
	api_http_stop(http);
	cr_assert_eq(api_http_start(&http, path, &api, true, err, sizeof(err)), 0, "%s", err);
	int fd = connect_api(); /* the backlog takes it */
	cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	struct pollfd pfd = {fd, POLLIN, 0};
	cr_assert_eq(poll(&pfd, 1, 300), 0, "answered while held");
	cr_assert_eq(api_http_open(http), 0);
	size_t got = 0;
	buf[0] = '\0';
	while (!whole(buf, got)) {
		cr_assert_eq(poll(&pfd, 1, 4000), 1, "no answer within 4 s of opening");
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		cr_assert_gt(n, 0, "the connection closed");
		got += (size_t)n;
		buf[got] = '\0';
	}
	cr_assert(!strncmp(buf, "HTTP/1.1 200 ", 13), "%.40s", buf);
	close(fd);
}
