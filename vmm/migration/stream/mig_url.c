/* Migration endpoints: parsing "unix:PATH" and "tcp:HOST:PORT", connecting, accepting one. */
#include "vmm/migration/stream/mig_url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/snapshot/format/snap_err.h"

/* glibc's getaddrinfo() reads /etc/nsswitch.conf and /etc/hosts and dlopen()s NSS modules for
 * a name, on the first call in the process: the API thread that connects is confined (seccomp
 * and Landlock) and would die by its filter. Only numeric addresses are taken, and they are
 * resolved with AI_NUMERICHOST | AI_NUMERICSERV, which touch no file. */
static int numeric_host(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

static int parse_tcp(const char *s, int listen, struct mig_url *u, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':'), *host = s;
	size_t hlen = colon ? (size_t)(colon - s) : 0;
	if (!colon || !hlen)
		return snap_err(err, errlen, -EINVAL, "tcp: wants HOST:PORT, got `%s`", s);
	if (host[0] == '[') { /* [v6]:port */
		if (hlen < 3 || host[hlen - 1] != ']')
			return snap_err(err, errlen, -EINVAL, "tcp: bad IPv6 address in `%s`", s);
		host++;
		hlen -= 2;
	}
	if (hlen >= sizeof(u->host))
		return snap_err(err, errlen, -EINVAL, "tcp: host name too long");
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535 || (!port && !listen) || colon[1] == '-' ||
	    colon[1] == '+')
		return snap_err(err, errlen, -EINVAL, "tcp: port must be %d..65535, got `%s`",
				listen ? 0 : 1, colon + 1);
	memcpy(u->host, host, hlen);
	u->host[hlen] = 0;
	if (!numeric_host(u->host))
		return snap_err(err, errlen, -EINVAL,
				"tcp: `%s` is not a numeric IPv4 or IPv6 address (names are not "
				"resolved: the resolver loads files and libraries that a confined "
				"thread may not)",
				u->host);
	snprintf(u->port, sizeof(u->port), "%lu", port);
	return 0;
}

int mig_url_parse(const char *s, int listen, struct mig_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "unix:", 5)) {
		u->kind = MIG_URL_UNIX;
		if (!s[5])
			return snap_err(err, errlen, -EINVAL, "unix: wants a socket path");
		if (strlen(s + 5) >= sizeof(u->path))
			return snap_err(err, errlen, -EINVAL,
					"unix: path too long (at most %zu bytes)",
					sizeof(u->path) - 1);
		strcpy(u->path, s + 5);
		return 0;
	}
	if (!strncmp(s, "tcp:", 4)) {
		u->kind = MIG_URL_TCP;
		return parse_tcp(s + 4, listen, u, err, errlen);
	}
	return snap_err(err, errlen, -EINVAL,
			"unknown migration address `%s`: unix:PATH or tcp:HOST:PORT", s);
}

static struct sockaddr_un unix_addr(const struct mig_url *u)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, u->path, sizeof(a.sun_path));
	return a;
}

/* connect() with a time limit: non-blocking, then poll for writability. */
static int connect_within(int fd, const struct sockaddr *a, socklen_t len, int timeout_ms)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int r = connect(fd, a, len) ? -errno : 0;
	/* a Unix socket's EAGAIN is a full backlog: nothing is pending, so it is a refusal (poll
	 * would report the unconnected socket writable) */
	if (r == -EAGAIN && a->sa_family == AF_UNIX)
		r = -ECONNREFUSED;
	if (r == -EINPROGRESS || r == -EAGAIN) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		do
			r = poll(&p, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			r = -ETIMEDOUT;
		else if (r < 0)
			r = -errno;
		else
			r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ? -errno : -soerr;
	}
	fcntl(fd, F_SETFL, fl);
	return r;
}

static int connect_tcp(const struct mig_url *u, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV},
			*res, *ai;
	int g = getaddrinfo(u->host, u->port, &hints, &res);
	if (g)
		return snap_err(err, errlen, -EHOSTUNREACH, "tcp:%s:%s: %s", u->host, u->port,
				gai_strerror(g));
	int r = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		r = connect_within(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (!r) {
			int one = 1; /* small frames (ROUND, END, COMMIT) must not wait */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			freeaddrinfo(res);
			return fd;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return snap_err(err, errlen, r, "tcp:%s:%s: %s", u->host, u->port, strerror(-r));
}

int mig_url_connect(const struct mig_url *u, int timeout_ms, char *err, size_t errlen)
{
	if (u->kind == MIG_URL_TCP)
		return connect_tcp(u, timeout_ms, err, errlen);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snap_err(err, errlen, -errno, "socket: %s", strerror(errno));
	struct sockaddr_un a = unix_addr(u);
	int r = connect_within(fd, (struct sockaddr *)&a, sizeof(a), timeout_ms);
	if (r) {
		close(fd);
		return snap_err(err, errlen, r, "unix:%s: %s", u->path, strerror(-r));
	}
	return fd;
}

static int listen_tcp(const struct mig_url *u, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV},
			*res;
	int g = getaddrinfo(u->host, u->port, &hints, &res);
	if (g)
		return snap_err(err, errlen, -EADDRNOTAVAIL, "tcp:%s:%s: %s", u->host, u->port,
				gai_strerror(g));
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r = 0;
	if (fd < 0)
		r = -errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		 bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1))
		r = -errno;
	freeaddrinfo(res);
	if (r) {
		if (fd >= 0)
			close(fd);
		return snap_err(err, errlen, r, "tcp:%s:%s: %s", u->host, u->port, strerror(-r));
	}
	return fd;
}

int mig_url_listen(const struct mig_url *u, char *err, size_t errlen)
{
	if (u->kind == MIG_URL_TCP)
		return listen_tcp(u, err, errlen);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snap_err(err, errlen, -errno, "socket: %s", strerror(errno));
	struct sockaddr_un a = unix_addr(u);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		int r = -errno;
		close(fd);
		return snap_err(err, errlen, r, "unix:%s: %s", u->path, strerror(-r));
	}
	return fd;
}

int mig_url_accept_one(int lfd, const struct mig_url *u, int timeout_ms, char *err, size_t errlen)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	int fd = r > 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	int e = r == 0 ? ETIMEDOUT : errno;
	close(lfd);
	if (u->kind == MIG_URL_UNIX)
		unlink(u->path);
	if (fd < 0)
		return snap_err(err, errlen, -e, "waiting for the source: %s", strerror(e));
	if (u->kind == MIG_URL_TCP) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}
