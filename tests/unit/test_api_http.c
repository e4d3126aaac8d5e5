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
	cr_assert_eq(api_http_start(&http, path, &api, err, sizeof(err)), 0, "%s", err);
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

static void expect_json_400(const char *req, size_t len, const char *needle)
{
	char body[1024];
	cr_assert_eq(exchange(req, len, body, sizeof(body)), 400, "%s", body);
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
	expect_json_400(raw, sizeof(raw) - 1, "NUL");
	expect_json_400("GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", 30, "NUL");
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
	expect_json_400(req, len, "path is longer");
	len = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + len, 'b', 40 * 1024);
	len += 40 * 1024;
	len += (size_t)sprintf(req + len, "\r\n\r\n");
	expect_json_400(req, len, "headers are larger");
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
