/* mmds-get: fetches from MMDS (the VMM's metadata service, docs/mmds.md) over HTTP/1.1 and times
 * the requests. Freestanding (no libc), 64-bit. Built by guest-images/build.sh into the guest as
 * /usr/bin/mmds-get.
 *   mmds-get [-2] [-c] [-n N] [-a A.B.C.D] [-p PORT] PATH
 *   -2   version 2: first PUT /latest/api/token (TTL 600 s), then send the token with every GET
 *   -c   a new TCP connection for every request (default: one keep-alive connection)
 *   -n N N GETs of PATH, each timed (default 1, at most MAX_GETS)
 *   -a   the MMDS address (default 169.254.169.254)
 *   -p   the TCP port (default 80; another HTTP server to compare with, tools/bench mmds-latency)
 * Prints "mmds-get: status S, body: BODY" for the first GET, then for N > 1
 * "mmds-get: N GETs (keep-alive|a connection each): median U us, p99 U us, min U us, max U us".
 * Exit status 0 when every answer was a 200, otherwise 1 with the status it got. */
#define TOOL_NAME "mmds-get"
#include "freestanding.h"

#include <linux/in.h>

#define AF_INET_       2
#define SOCK_STREAM_   1
#define CLOCK_MONO     1
#define MAX_GETS       10000
#define RESP_MAX       16384
#define REQ_MAX	       1024
#define TOKEN_MAX      128
#define DEFAULT_ADDR   0xa9fea9feu /* 169.254.169.254 */
#define TOKEN_TTL_LINE "X-metadata-token-ttl-seconds: 600\r\n"

struct kts {
	long sec, nsec;
};

struct opts {
	int v2, conn_each;
	unsigned long n;
	unsigned addr; /* host byte order */
	unsigned port;
	const char *path;
};

struct reply {
	unsigned status;
	char *body; /* inside the response buffer, NUL-terminated */
	unsigned long body_len;
	int closes; /* Connection: close */
};

static char resp[RESP_MAX + 1];
static unsigned long times_ns[MAX_GETS];
static char token[TOKEN_MAX];

static unsigned long now_ns(void)
{
	struct kts t;
	sys3(SYS_clock_gettime, CLOCK_MONO, (long)&t, 0);
	return (unsigned long)t.sec * 1000000000ul + (unsigned long)t.nsec;
}

static _Noreturn void usage(void)
{
	out("usage: mmds-get [-2] [-c] [-n N] [-a A.B.C.D] [-p PORT] PATH\n");
	sys_exit(2);
}

/* "A.B.C.D" -> host byte order; 0 when it is not one. */
static unsigned parse_ipv4(const char *s)
{
	unsigned v = 0, parts = 0;
	while (parts < 4) {
		if (*s < '0' || *s > '9')
			return 0;
		unsigned long b = parse_num(s);
		if (b > 255)
			return 0;
		v = v << 8 | (unsigned)b;
		parts++;
		while (*s >= '0' && *s <= '9')
			s++;
		if (parts < 4 && *s++ != '.')
			return 0;
	}
	return *s ? 0 : v;
}

static void parse_args(long argc, char **argv, struct opts *o)
{
	o->n = 1;
	o->addr = DEFAULT_ADDR;
	o->port = 80;
	for (long i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			o->path = a;
		} else if (a[1] == '2' && !a[2]) {
			o->v2 = 1;
		} else if (a[1] == 'c' && !a[2]) {
			o->conn_each = 1;
		} else if (a[1] == 'n' && !a[2] && i + 1 < argc) {
			o->n = parse_num(argv[++i]);
		} else if (a[1] == 'a' && !a[2] && i + 1 < argc) {
			o->addr = parse_ipv4(argv[++i]);
		} else if (a[1] == 'p' && !a[2] && i + 1 < argc) {
			o->port = (unsigned)parse_num(argv[++i]);
		} else {
			usage();
		}
	}
	if (!o->path || o->path[0] != '/' || !o->n || o->n > MAX_GETS || !o->addr || !o->port ||
	    o->port > 65535)
		usage();
}

static int connect_to(const struct opts *o)
{
	struct sockaddr_in sa = {.sin_family = AF_INET_,
				 .sin_port = __builtin_bswap16((unsigned short)o->port),
				 .sin_addr = {.s_addr = __builtin_bswap32(o->addr)}};
	long fd = sys3(SYS_socket, AF_INET_, SOCK_STREAM_, 0);
	if (fd < 0)
		fail("socket", fd);
	long r = sys3(SYS_connect, fd, (long)&sa, sizeof(sa));
	if (r < 0)
		fail("connect", r);
	return (int)fd;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* The value of header NAME (lower case, with its colon) in head[0..len), or NULL. */
static const char *header(const char *head, unsigned long len, const char *name)
{
	unsigned long nl = len_of(name);
	for (unsigned long i = 0; i + nl <= len; i++) {
		if (i && head[i - 1] != '\n')
			continue;
		unsigned long k = 0;
		while (k < nl && lower(head[i + k]) == name[k])
			k++;
		if (k == nl) {
			const char *v = head + i + nl;
			while (*v == ' ')
				v++;
			return v;
		}
	}
	return 0;
}

/* Where the head ends ("\r\n\r\n" included) in resp[0..len), or 0. */
static unsigned long head_end(unsigned long len)
{
	for (unsigned long i = 3; i < len; i++)
		if (resp[i - 3] == '\r' && resp[i - 2] == '\n' && resp[i - 1] == '\r' &&
		    resp[i] == '\n')
			return i + 1;
	return 0;
}

static void read_some(int fd, unsigned long *len)
{
	if (*len >= RESP_MAX) {
		out("mmds-get: an answer over 16 KiB\n");
		sys_exit(1);
	}
	long r = sys3(SYS_read, fd, (long)(resp + *len), (long)(RESP_MAX - *len));
	if (r < 0)
		fail("read", r);
	if (r == 0) {
		out("mmds-get: the connection closed before a whole answer\n");
		sys_exit(1);
	}
	*len += (unsigned long)r;
}

/* Reads one whole answer (head and Content-Length bytes of body). */
static void read_reply(int fd, struct reply *rp)
{
	unsigned long len = 0, head;
	while (!(head = head_end(len)))
		read_some(fd, &len);
	const char *cl = header(resp, head, "content-length:");
	unsigned long body = 0;
	while (cl && *cl >= '0' && *cl <= '9' && body <= RESP_MAX)
		body = body * 10 + (unsigned long)(*cl++ - '0');
	unsigned long want = head + body;
	if (body > RESP_MAX || want > RESP_MAX) {
		out("mmds-get: an answer over 16 KiB\n");
		sys_exit(1);
	}
	while (len < want)
		read_some(fd, &len);
	resp[want] = 0;
	rp->status = len > 12 ? (unsigned)parse_num(resp + 9) : 0;
	rp->body = resp + head;
	rp->body_len = want - head;
	const char *conn = header(resp, head, "connection:");
	rp->closes = conn && lower(conn[0]) == 'c';
}

static char *append(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static void request(int fd, const char *method, const char *path, const char *extra,
		    struct reply *rp)
{
	static char req[REQ_MAX];
	if (len_of(path) + len_of(extra) + len_of(token) + 128 > REQ_MAX)
		usage();
	char *p = append(req, method);
	p = append(p, " ");
	p = append(p, path);
	p = append(p, " HTTP/1.1\r\nHost: 169.254.169.254\r\n");
	p = append(p, extra);
	if (token[0]) {
		p = append(p, "X-metadata-token: ");
		p = append(p, token);
		p = append(p, "\r\n");
	}
	p = append(p, "\r\n");
	send_all(fd, req, (unsigned long)(p - req));
	read_reply(fd, rp);
}

static void get_token(int fd)
{
	struct reply rp;
	request(fd, "PUT", "/latest/api/token", TOKEN_TTL_LINE, &rp);
	if (rp.status != 200 || !rp.body_len || rp.body_len >= TOKEN_MAX) {
		out("mmds-get: PUT /latest/api/token: status ");
		out_num(rp.status);
		out("\n");
		sys_exit(1);
	}
	for (unsigned long i = 0; i <= rp.body_len; i++)
		token[i] = rp.body[i];
}

static void sort(unsigned long *v, unsigned long n)
{
	for (unsigned long gap = n / 2; gap; gap /= 2)
		for (unsigned long i = gap; i < n; i++)
			for (unsigned long j = i; j >= gap && v[j - gap] > v[j]; j -= gap) {
				unsigned long t = v[j];
				v[j] = v[j - gap];
				v[j - gap] = t;
			}
}

/* The nearest-rank percentile P of the sorted v[0..n), in microseconds. */
static unsigned long pct_us(unsigned long n, unsigned long p)
{
	unsigned long rank = (n * p + 99) / 100;
	return times_ns[rank ? rank - 1 : 0] / 1000;
}

static void report(const struct opts *o)
{
	sort(times_ns, o->n);
	out("mmds-get: ");
	out_num(o->n);
	out(o->conn_each ? " GETs (a connection each): median " : " GETs (keep-alive): median ");
	out_num(pct_us(o->n, 50));
	out(" us, p99 ");
	out_num(pct_us(o->n, 99));
	out(" us, min ");
	out_num(times_ns[0] / 1000);
	out(" us, max ");
	out_num(times_ns[o->n - 1] / 1000);
	out(" us\n");
}

void entry(long argc, char **argv)
{
	struct opts o = {0};
	struct reply rp;
	parse_args(argc, argv, &o);
	int fd = connect_to(&o);
	if (o.v2)
		get_token(fd);
	for (unsigned long i = 0; i < o.n; i++) {
		unsigned long t0 = now_ns();
		if (o.conn_each) {
			sys3(SYS_close, fd, 0, 0);
			fd = connect_to(&o);
		}
		request(fd, "GET", o.path, "", &rp);
		times_ns[i] = now_ns() - t0;
		if (i == 0) {
			out("mmds-get: status ");
			out_num(rp.status);
			out(", body: ");
			out(rp.body);
			out("\n");
		}
		if (rp.status != 200)
			sys_exit(1);
		if (rp.closes && i + 1 < o.n) {
			sys3(SYS_close, fd, 0, 0);
			fd = connect_to(&o);
		}
	}
	sys3(SYS_close, fd, 0, 0);
	if (o.n > 1)
		report(&o);
	sys_exit(0);
}
