/* linux_vsock_host: the host side of the default guest's vsock check
 * (guest-images/checks/vsock.sh, the guest's /usr/bin/vsock-echo) where no Python runs: the arm64
 * L1 of tests/integration/framework/arm64_default_guest.py, whose busybox has no AF_UNIX socket
 * program. The C twin of linux_vsock_host.py (x86's tests): keep the two in step.
 *
 *   linux_vsock_host PATH_PORT
 *
 * Listens on the Unix socket PATH_PORT (the VMM's --vsock uds=PATH connects a guest's connection
 * to host port PORT there), prints "ready", takes one connection, reads "hello-from-guest N\n" and
 * N bytes of the pattern (i * 7 + (i >> 8)) & 0xff, answers "OK N bytes intact\n" (or
 * "BAD GOT of N bytes\n") and prints "line: LINE" and "answer: ANSWER". Exits 0 when the N bytes
 * came intact, 1 otherwise, 2 on a bad argument.
 *   aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -o linux_vsock_host linux_vsock_host.c */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define GREETING "hello-from-guest "

/* A listening socket at PATH (an old one removed first), or -1 with a message. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "linux_vsock_host: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		fprintf(stderr, "linux_vsock_host: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* One line from FD into BUF (without its '\n'), a byte at a time so that nothing after it is
 * taken; stops at EOF or when BUF is full. */
static void read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	while (n + 1 < size && read(fd, &c, 1) == 1 && c != '\n')
		buf[n++] = c;
	buf[n] = 0;
}

/* Reads up to WANT bytes from FD (less at EOF); returns how many came, *intact whether every one
 * of them is the pattern's byte at its offset. */
static unsigned long read_pattern(int fd, unsigned long want, int *intact)
{
	unsigned char buf[4096];
	unsigned long got = 0;

	*intact = 1;
	while (got < want) {
		size_t k = want - got < sizeof(buf) ? want - got : sizeof(buf);
		ssize_t r = read(fd, buf, k);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++, got++)
			*intact &= buf[i] == (unsigned char)((got * 7 + (got >> 8)) & 0xff);
	}
	return got;
}

/* The exchange on connection FD: 0 when the guest's bytes came intact. */
static int serve(int fd)
{
	char line[128], answer[96];
	unsigned long n = 0, got;
	int intact;

	read_line(fd, line, sizeof(line));
	printf("line: %s\n", line);
	if (strncmp(line, GREETING, strlen(GREETING)) == 0)
		n = strtoul(line + strlen(GREETING), NULL, 10);
	got = read_pattern(fd, n, &intact);
	intact &= got == n;
	if (intact)
		snprintf(answer, sizeof(answer), "OK %lu bytes intact", n);
	else
		snprintf(answer, sizeof(answer), "BAD %lu of %lu bytes", got, n);
	dprintf(fd, "%s\n", answer);
	printf("answer: %s\n", answer);
	return intact ? 0 : 1;
}

int main(int argc, char **argv)
{
	int ls, fd, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: linux_vsock_host PATH_PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ls = listen_on(argv[1]);
	if (ls < 0)
		return 1;
	printf("ready\n");
	fd = accept(ls, NULL, NULL);
	if (fd < 0) {
		perror("linux_vsock_host: accept");
		return 1;
	}
	rc = serve(fd);
	close(fd);
	close(ls);
	return rc;
}
