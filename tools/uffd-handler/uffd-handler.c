/* vmm-uffd-handler: an example page-fault handler for snapshot loads with mem_backend Uffd
 * (docs/snapshots.md): listens on a Unix socket, takes one VMM's userfaultfd and region list,
 * and fills its guest RAM from a snapshot's memory file, lazily (each page when first touched)
 * or eagerly (everything at once, then the stragglers). Ends when the VMM closes the socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tools/uffd-handler/uffd_mappings.h"
#include "tools/uffd-handler/uffd_serve.h"
#include "vmm/snapshot/working_set.h"

#define MSG_MAX (64 * 1024)

struct options {
	const char *sock_path, *mem_path;
	bool eager;
	const char *ws_path; /* --working-set: copied first, the rest as faults come */
	int timeout_s;	     /* for the VMM to connect and send; 0: forever */
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: vmm-uffd-handler [OPTIONS] SOCKET MEMORY_FILE\n"
	    "Serves the guest memory of one snapshot load (PUT /snapshot/load with\n"
	    "\"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": SOCKET}) from\n"
	    "MEMORY_FILE, the memory file of PUT /snapshot/create. Listens on SOCKET (made\n"
	    "anew, removed at exit), takes the VMM's userfaultfd and region list, answers its\n"
	    "page faults (UFFDIO_COPY; UFFDIO_ZEROPAGE for zero pages and for pages the\n"
	    "balloon removed), and exits when the VMM closes the connection.\n"
	    "\n"
	    "  -e, --eager        copy every page right after the hand-off (default: each page\n"
	    "                     when the guest or the VMM first touches it, with the missing\n"
	    "                     pages of its aligned 64 KiB block)\n"
	    "  -w, --working-set FILE\n"
	    "                     copy the pages a working-set file lists (STATE.working-set,\n"
	    "                     recorded by the VMM: docs/snapshots.md) right after the\n"
	    "                     hand-off, then serve the rest as they are touched\n"
	    "  -t, --timeout SEC  give up when no VMM has connected and sent its regions within\n"
	    "                     SEC seconds (default 60; 0 waits forever)\n"
	    "  -q, --quiet        no summary at exit\n"
	    "  -h, --help         this text\n"
	    "      --version      the version\n"
	    "\n"
	    "Exit status: 0 when the VMM closed the connection, 1 on an error (a bad message,\n"
	    "a userfaultfd that fails), 2 for bad usage.\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {{"eager", no_argument, NULL, 'e'},
					      {"timeout", required_argument, NULL, 't'},
					      {"quiet", no_argument, NULL, 'q'},
					      {"help", no_argument, NULL, 'h'},
					      {"working-set", required_argument, NULL, 'w'},
					      {"version", no_argument, NULL, 'V'},
					      {NULL, 0, NULL, 0}};
	int c;
	char *end;
	*o = (struct options){.timeout_s = 60};
	while ((c = getopt_long(argc, argv, "ew:t:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'e':
			o->eager = true;
			break;
		case 't':
			errno = 0;
			o->timeout_s = (int)strtol(optarg, &end, 10);
			if (errno || *end || o->timeout_s < 0) {
				fprintf(stderr, "vmm-uffd-handler: bad --timeout `%s`\n", optarg);
				return 2;
			}
			break;
		case 'w':
			o->ws_path = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vmm-uffd-handler %s\n", VMM_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	o->sock_path = argv[optind];
	o->mem_path = argv[optind + 1];
	return 0;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "vmm-uffd-handler: %s: %s\n", what, strerror(err));
	return -err;
}

/* The socket appears at `path` only once it listens (bound under a temporary name, renamed),
 * so whoever waits for the file can connect at once. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return fail(path, ENAMETOOLONG);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket", errno);
	unlink(sa.sun_path); /* stale sockets of an earlier run */
	unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1) ||
	    rename(sa.sun_path, path)) {
		int e = errno;
		close(s);
		unlink(sa.sun_path);
		return fail(path, e);
	}
	return s;
}

/* Waits for `fd` to be readable, at most timeout_s seconds (0: forever). */
static int wait_in(int fd, int timeout_s)
{
	struct pollfd p = {fd, POLLIN, 0};
	int n = poll(&p, 1, timeout_s ? timeout_s * 1000 : -1);
	return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

/* Reads the VMM's message: the bytes up to a parseable region list, the userfaultfd with the
 * first of them. */
static int receive(int conn, int timeout_s, uint64_t file_size, struct uffd_mapping *maps, int *n,
		   int *uffd)
{
	static char buf[MSG_MAX];
	size_t len = 0;
	char why[200] = "an empty message";
	*uffd = -1;
	while (len < sizeof(buf)) {
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {buf + len, sizeof(buf) - len};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		int r = wait_in(conn, timeout_s);
		if (r)
			return fail("waiting for the VMM's regions", -r);
		ssize_t got = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (got <= 0)
			break;
		/* the first descriptor is the userfaultfd; any other one a VMM sends is closed */
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			if (*uffd < 0)
				*uffd = fd;
			else
				close(fd);
		}
		len += (size_t)got;
		if (!uffd_mappings_parse(buf, len, file_size, maps, n, why, sizeof(why)))
			return *uffd >= 0 ? 0 : fail("the VMM's message", EBADF);
	}
	fprintf(stderr, "vmm-uffd-handler: the VMM's message: %s\n", why);
	return -EINVAL;
}

static const uint8_t *map_file(const char *path, uint64_t *size)
{
	struct stat st;
	/* no symbolic link (a snapshot folder's `memory` linked to a host file would be served to
	 * the guest as its RAM: docs/snapshots.md), and no FIFO or device that could block */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP) {
		fprintf(stderr, "vmm-uffd-handler: %s: a symbolic link, refused (name the file)\n",
			path);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		fprintf(stderr, "vmm-uffd-handler: %s: %s\n", path,
			fd < 0 || errno ? strerror(errno) : "not a non-empty regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*size = (uint64_t)st.st_size;
	void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fail("mmap", errno);
		return NULL;
	}
	return p;
}

/* --working-set FILE: its ranges, as pairs of (first page, count), for a memory file of
 * `file_size` bytes. Returns 0 (*ranges malloc'd) or 1 with a message. */
static int read_working_set(const char *path, uint64_t file_size, uint64_t (**ranges)[2], size_t *n)
{
	char err[WORKING_SET_ERR_MAX], *buf = malloc(WORKING_SET_MAX_BYTES + 1);
	FILE *f = fopen(path, "re");
	size_t len = f && buf ? fread(buf, 1, WORKING_SET_MAX_BYTES + 1, f) : 0;
	struct working_set ws;
	struct ws_identity id;
	int r = 1;

	if (!f || !buf || ferror(f) || len > WORKING_SET_MAX_BYTES)
		fprintf(stderr, "vmm-uffd-handler: --working-set %s: %s\n", path,
			!f || ferror(f) ? strerror(errno) : "too large or out of memory");
	else if (working_set_parse(buf, len, &ws, &id, err, sizeof(err)))
		fprintf(stderr, "vmm-uffd-handler: --working-set %s: %s\n", path, err);
	else if (id.mem_size > file_size) {
		fprintf(stderr,
			"vmm-uffd-handler: --working-set %s: recorded for %llu bytes of memory, "
			"the memory file has %llu\n",
			path, (unsigned long long)id.mem_size, (unsigned long long)file_size);
		working_set_free(&ws);
	} else {
		*ranges = calloc(ws.n ? ws.n : 1, sizeof(**ranges));
		for (size_t i = 0; *ranges && i < ws.n; i++) {
			(*ranges)[i][0] = ws.ranges[i].first;
			(*ranges)[i][1] = ws.ranges[i].count;
		}
		*n = ws.n;
		r = *ranges ? 0 : 1;
		working_set_free(&ws);
	}
	if (f)
		fclose(f);
	free(buf);
	return r;
}

/* Answers faults until the VMM closes the connection. */
static int serve(struct uffd_server *s, int conn)
{
	for (;;) {
		struct pollfd p[2] = {{s->uffd, POLLIN, 0}, {conn, POLLIN | POLLRDHUP, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return fail("poll", errno);
		if (p[0].revents & POLLIN) {
			int r = uffd_server_drain(s);
			if (r)
				return fail("serving a page fault", -r);
		}
		if (p[0].revents & (POLLERR | POLLHUP))
			return 0; /* the VMM's memory is gone */
		if (p[1].revents)
			return 0; /* the VMM closed the connection (or, against the protocol, talks)
				   */
	}
}

static int run(const struct options *o, int listener)
{
	uint64_t file_size;
	struct uffd_mapping maps[UFFD_MAX_REGIONS];
	struct uffd_server s;
	int n, uffd = -1, r;
	uint64_t(*ws)[2] = NULL;
	size_t nws = 0;
	memset(&s, 0, sizeof(s));
	const uint8_t *file = map_file(o->mem_path, &file_size);
	if (!file || (o->ws_path && read_working_set(o->ws_path, file_size, &ws, &nws)))
		return 1;
	r = wait_in(listener, o->timeout_s);
	int conn = r ? r : accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0) {
		fail("waiting for the VMM to connect", r ? -r : errno);
		return 1;
	}
	r = receive(conn, o->timeout_s, file_size, maps, &n, &uffd);
	if (!r)
		r = uffd_server_init(&s, uffd, file, maps, n);
	if (!r && ws && (r = uffd_server_prefill(&s, (const uint64_t(*)[2])ws, nws)))
		fail("copying the working set", -r);
	if (!r && o->eager && (r = uffd_server_eager(&s)))
		fail("copying the memory file", -r);
	free(ws);
	if (!r)
		r = serve(&s, conn);
	if (!r && !o->quiet)
		fprintf(stderr,
			"vmm-uffd-handler: done: %llu pages copied, %llu zero pages, %llu "
			"remove events\n",
			(unsigned long long)s.copied, (unsigned long long)s.zeroed,
			(unsigned long long)s.removes);
	uffd_server_free(&s);
	close(conn);
	if (uffd >= 0)
		close(uffd);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_args(argc, argv, &o))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	int listener = listen_on(o.sock_path);
	if (listener < 0)
		return 1;
	int status = run(&o, listener);
	close(listener);
	unlink(o.sock_path);
	return status;
}
