/* Migration endpoints: parsing, and one connection over Unix and TCP (loopback). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/migration/stream/mig_url.h"

static char err[256];

Test(mig_url, parses)
{
	struct mig_url u;
	cr_assert_eq(mig_url_parse("unix:/run/m.sock", 0, &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(u.kind, MIG_URL_UNIX);
	cr_assert_str_eq(u.path, "/run/m.sock");
	cr_assert_eq(mig_url_parse("tcp:10.0.0.2:6000", 0, &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(u.kind, MIG_URL_TCP);
	cr_assert_str_eq(u.host, "10.0.0.2");
	cr_assert_str_eq(u.port, "6000");
	cr_assert_eq(mig_url_parse("tcp:[::1]:7", 0, &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(u.host, "::1");
	cr_assert_eq(mig_url_parse("tcp:0.0.0.0:0", 1, &u, err, sizeof(err)), 0, "%s", err);
}

static void refused(const char *s, int listen, const char *what)
{
	struct mig_url u;
	cr_assert_eq(mig_url_parse(s, listen, &u, err, sizeof(err)), -EINVAL, "%s", s);
	cr_assert(strstr(err, what), "`%s`: '%s' not in '%s'", s, what, err);
}

Test(mig_url, refusals)
{
	char longp[200];
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "unix:", 5);
	longp[sizeof(longp) - 1] = 0;
	refused("http://x", 0, "unix:PATH or tcp:HOST:PORT");
	refused("unix:", 0, "wants a socket path");
	refused(longp, 0, "path too long");
	refused("tcp:host", 0, "HOST:PORT");
	refused("tcp::80", 0, "HOST:PORT");
	refused("tcp:10.0.0.1:0", 0, "port must be 1..65535");
	refused("tcp:10.0.0.1:65536", 0, "port must be");
	refused("tcp:10.0.0.1:-1", 1, "port must be 0..65535");
	refused("tcp:10.0.0.1:12x", 0, "port must be");
	refused("tcp:[::1:80", 0, "bad IPv6");
	refused("tcp:localhost:80", 0, "not a numeric IPv4 or IPv6 address");
	refused("tcp:[fe80::zz]:80", 0, "not a numeric");
}

Test(mig_url, unix_one_connection)
{
	char path[64], url[80];
	snprintf(path, sizeof(path), "/tmp/test_mig_url.%d.sock", getpid());
	snprintf(url, sizeof(url), "unix:%s", path);
	unlink(path);
	struct mig_url u;
	cr_assert_eq(mig_url_parse(url, 1, &u, err, sizeof(err)), 0);
	int l = mig_url_listen(&u, err, sizeof(err));
	cr_assert_geq(l, 0, "%s", err);
	cr_assert_lt(mig_url_listen(&u, err, sizeof(err)), 0, "the path is taken");
	int c = mig_url_connect(&u, 1000, err, sizeof(err));
	cr_assert_geq(c, 0, "%s", err);
	int a = mig_url_accept_one(l, &u, 1000, err, sizeof(err));
	cr_assert_geq(a, 0, "%s", err);
	cr_assert_eq(access(path, F_OK), -1, "the socket file is gone after the one accept");
	cr_assert_eq(write(c, "x", 1), 1);
	char b;
	cr_assert_eq(read(a, &b, 1), 1);
	close(a);
	close(c);
	cr_assert_lt(mig_url_connect(&u, 200, err, sizeof(err)), 0);
	cr_assert(strstr(err, path), "%s", err);
}

Test(mig_url, tcp_loopback_and_timeout)
{
	struct mig_url u;
	cr_assert_eq(mig_url_parse("tcp:127.0.0.1:0", 1, &u, err, sizeof(err)), 0);
	int l = mig_url_listen(&u, err, sizeof(err));
	cr_assert_geq(l, 0, "%s", err);
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	char url[64];
	snprintf(url, sizeof(url), "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	struct mig_url to;
	cr_assert_eq(mig_url_parse(url, 0, &to, err, sizeof(err)), 0, "%s", err);
	int c = mig_url_connect(&to, 1000, err, sizeof(err));
	cr_assert_geq(c, 0, "%s", err);
	int s = mig_url_accept_one(l, &u, 1000, err, sizeof(err));
	cr_assert_geq(s, 0, "%s", err);
	close(s);
	close(c);
	/* Nobody connects: the wait ends with a message. */
	l = mig_url_listen(&u, err, sizeof(err));
	cr_assert_geq(l, 0, "%s", err);
	cr_assert_eq(mig_url_accept_one(l, &u, 100, err, sizeof(err)), -ETIMEDOUT);
	cr_assert(strstr(err, "waiting for the source"), "%s", err);
}
