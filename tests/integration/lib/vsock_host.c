/* vsock_host: the host side of tests/guests/virtio_vsock.c behind the VMM's --vsock uds=PATH where
 * no Python runs: the arm64 L1 of tests/integration/framework/arm64_guests.py, whose busybox has
 * no AF_UNIX socket program. The C twin of vsock_host.py (x86's tests): keep the two in step.
 *
 *   vsock_host PATH CREDIT HOST TIMEOUT_S
 *
 *   PATH_1234  an echo server (any number of connections; "echo: connection N" on each);
 *   PATH_1235  a source: sends CREDIT pattern bytes (seed 35), then waits for EOF;
 *   PATH       once the VMM has made it: connects (again every 0.3 s until the guest listens),
 *              writes "CONNECT 5000\n", expects "OK <port>\n", sends HOST pattern bytes (seed
 *              50) and checks that the guest echoes them back, closes.
 * Prints "ready" once both servers listen, one line per finding, and exits 0 when the
 * host-initiated exchange was checked, 1 otherwise (or after TIMEOUT_S), 2 on a bad argument.
 * The servers are child processes, ended when it exits.
 *   aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -o vsock_host vsock_host.c */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned char pattern(unsigned seed, unsigned long i)
{
	return (unsigned char)((i * 7 + seed + (i >> 8)) & 0xff);
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "vsock_host: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* A listening socket at PATH (an old one removed first), or -1 with a message. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(path, &sa))
		return -1;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "vsock_host: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void echo(int c)
{
	unsigned char buf[65536];
	ssize_t r;

	while ((r = read(c, buf, sizeof(buf))) > 0)
		if (write_all(c, buf, (size_t)r))
			break;
}

static void source(int c, unsigned long total)
{
	unsigned char buf[4096];
	unsigned long sent = 0;

	while (sent < total) {
		size_t k = total - sent < sizeof(buf) ? total - sent : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(35, sent + i);
		if (write_all(c, buf, k))
			return;
		sent += k;
	}
	while (read(c, buf, sizeof(buf)) > 0)
		;
}

/* A child that accepts on LS forever, each connection served by a grandchild; ECHO: echo,
 * else the source of TOTAL bytes. */
static pid_t server(int ls, int is_echo, unsigned long total)
{
	pid_t pid = fork();
	unsigned n = 0;

	if (pid)
		return pid;
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	for (;;) {
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			continue;
		if (is_echo)
			printf("echo: connection %u\n", ++n);
		fflush(stdout);
		if (fork() == 0) {
			if (is_echo)
				echo(c);
			else
				source(c, total);
			_exit(0);
		}
		close(c);
	}
}

/* One line (at most 63 bytes) a byte at a time; NULL at EOF. */
static char *read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char ch;

	while (n + 1 < size && read(fd, &ch, 1) == 1) {
		buf[n++] = ch;
		if (ch == '\n')
			break;
	}
	buf[n] = 0;
	return n && buf[n - 1] == '\n' ? buf : NULL;
}

/* The host-initiated exchange: 0 when HOST bytes came back intact. */
static int host_initiated(const char *path, unsigned long total, time_t deadline)
{
	struct sockaddr_un sa;
	char line[64];
	int s = -1;

	if (unix_addr(path, &sa))
		return 1;
	while (time(NULL) < deadline) {
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write_all(s, (const unsigned char *)"CONNECT 5000\n", 13) == 0 &&
		    read_line(s, line, sizeof(line)))
			break;
		if (s >= 0)
			close(s);
		s = -1;
		if (access(path, F_OK)) {
			printf("ERROR host: the VMM's socket is gone (the VMM ended)\n");
			return 1;
		}
		usleep(300000);
	}
	if (s < 0) {
		printf("ERROR host: the guest never accepted CONNECT 5000\n");
		return 1;
	}
	if (strncmp(line, "OK ", 3) || strspn(line + 3, "0123456789") != strlen(line + 3) - 1) {
		printf("ERROR host: bad answer %s", line);
		return 1;
	}
	printf("host: connected, answer %s", line);
	fflush(stdout);
	pid_t writer = fork();
	if (writer == 0) {
		unsigned char buf[4096];
		for (unsigned long sent = 0; sent < total;) {
			size_t k = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(50, sent + i);
			if (write_all(s, buf, k))
				_exit(1);
			sent += k;
		}
		_exit(0);
	}
	unsigned long got = 0;
	int intact = 1, st = 1;
	unsigned char buf[65536];
	ssize_t r;
	while (got < total && (r = read(s, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++, got++)
			intact &= buf[i] == pattern(50, got);
	waitpid(writer, &st, 0);
	close(s);
	if (!intact || got != total || st != 0) {
		printf("ERROR host: echo of %lu bytes differs (%lu bytes back%s)\n", total, got,
		       st ? ", sending failed" : "");
		return 1;
	}
	printf("host: %lu bytes echoed intact\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	char path[256];
	int le, ls;

	if (argc != 5) {
		fprintf(stderr, "usage: vsock_host PATH CREDIT HOST TIMEOUT_S\n");
		return 2;
	}
	unsigned long credit = strtoul(argv[2], NULL, 0), host = strtoul(argv[3], NULL, 0);
	time_t deadline = time(NULL) + strtol(argv[4], NULL, 0);

	snprintf(path, sizeof(path), "%s_1234", argv[1]);
	le = listen_on(path);
	snprintf(path, sizeof(path), "%s_1235", argv[1]);
	ls = listen_on(path);
	if (le < 0 || ls < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t pe = server(le, 1, 0), ps = server(ls, 0, credit);
	printf("ready\n");
	/* the VMM makes PATH */
	while (access(argv[1], F_OK) && time(NULL) < deadline)
		usleep(100000);
	int rc = host_initiated(argv[1], host, deadline);
	kill(pe, SIGKILL);
	kill(ps, SIGKILL);
	waitpid(pe, NULL, 0);
	waitpid(ps, NULL, 0);
	return rc;
}
