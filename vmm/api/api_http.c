/* The API's HTTP server: our own, over the request parser of http_request.c. See api_http.h.
 *
 * Why not libmicrohttpd (used until issue 46): version 0.9.75 answers malformed requests itself,
 * with HTML pages compiled into the library (no option replaces or suppresses them), sends
 * some answers twice (a negative Content-Length), and takes the first or the last of two
 * different Content-Lengths depending on their order. What the API needs of HTTP/1.1 is small
 * (one request at a time per connection, bodies up to 51200 bytes by default, keep-alive, chunked
 * bodies, Expect: 100-continue), so a strict parser of our own (pure code, unit-tested and fuzzed)
 * and a poll() loop serve it, and every answer, a refusal included, is ours: one JSON body, once.
 */
#include "vmm/api/api_http.h"

#include <errno.h>
#include <jansson.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/thread_sched.h"
#include "base/utc.h"
#include "host/sandbox/sandbox.h"
#include "vmm/api/http_request.h"
#include "vmm/migration/vm_migrate.h"
#include "vmm/snapshot/vm_uffd.h"
#include "vmm/vm/vm_arch_sandbox.h"
#include "vmm/vm/vm_vfio.h"

_Static_assert(HTTP_MAX_PATH <= 4096, "API_FAULT_MAX (api_model.h) counts on it");

/* One connection: its request as it arrives, the answer on its way out, and what the
 * slow-client rules look at (see api_http.h). */
struct client {
	bool used;
	bool answering;	    /* a final answer is queued: the request's clock waits for it */
	bool closing;	    /* refused: close once the answer is out */
	bool draining;	    /* answer out, our side shut: the rest is read and dropped */
	bool continue_sent; /* "100 Continue" for this request */
	int fd;
	pid_t pid;	     /* SO_PEERCRED: who is on the other end of the Unix socket */
	uint64_t since_ns;   /* when its current request began: connect, or the last answer */
	uint64_t last_io_ns; /* bytes last moved either way */
	uint64_t drain_until_ns;
	char in[4096];
	size_t in_off, in_len;
	char *out; /* malloc'd answer, out_len bytes, out_off of them sent */
	size_t out_off, out_len;
	struct http_request rq;
};

struct api_http {
	struct client *clients; /* API_HTTP_MAX_CLIENTS */
	int nclients;
	struct api *api;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* Our own thread runs the event loop, so it can confine itself (sandbox.h) when asked:
	 * wake_fd carries "stop" (2) and "confine" (1) requests. */
	pthread_t thread;
	bool thread_running;
	int wake_fd;
	bool held; /* the API thread's own: new connections wait in the backlog (api_http_open) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int confine_result; /* 1: pending; else the sandbox_enter() result */
};

/* The API thread's calls once confined (sandbox.h). It serves requests that pause and resume
 * the VM (KVM clock ioctls), take snapshots (KVM state ioctls, files written and renamed),
 * swap a disk's file (open, flock, block-device size ioctls), set the metrics file (its thread
 * is created here): so files, ioctls and thread creation stay allowed. InstanceStart sizes a
 * network interface's queues and the I/O polling window by the CPUs this process may use
 * (host_usable_cpus(): sched_getaffinity), a read of its own affinity. */
static const struct sandbox_rule api_rules[] = {
    SB_ALLOW(SYS_epoll_wait),
    SB_ALLOW(SYS_epoll_pwait),
    SB_ALLOW(SYS_epoll_ctl),
    SB_ALLOW(SYS_accept4),
    SB_ALLOW(SYS_accept),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_sendto),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_shutdown),
    SB_ALLOW(SYS_setsockopt),
    SB_ALLOW(SYS_getsockopt),
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_write),
    SB_ALLOW(SYS_writev),
    SB_ALLOW(SYS_pread64),
    SB_ALLOW(SYS_pwrite64),
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_openat),
    SB_ALLOW(SYS_openat2), /* host_path_open_beneath(): a confined folder, a backing file */
    SB_ALLOW(SYS_fstat),
    SB_ALLOW(SYS_newfstatat),
    SB_ALLOW(SYS_fstatfs), /* host_path_open(): no file of /proc or /sys (host_path.h) */
    SB_ALLOW(SYS_statx),
    SB_ALLOW(SYS_lseek),
    SB_ALLOW(SYS_flock),
    SB_ALLOW(SYS_ftruncate),
    SB_ALLOW(SYS_fsync),
    SB_ALLOW(SYS_fdatasync),
    SB_ALLOW(SYS_rename),
    SB_ALLOW(SYS_renameat2), /* host_path_replace_commit() */
    SB_ALLOW(SYS_renameat),
    SB_ALLOW(SYS_unlink),
    SB_ALLOW(SYS_unlinkat),
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_clone),
    SB_ALLOW(SYS_clone3),
    SB_ALLOW(SYS_eventfd2),
    SB_ALLOW(SYS_timerfd_create),
    SB_ALLOW(SYS_timerfd_settime),
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_fallocate),
    SB_ALLOW(SYS_getrandom),
    SB_ALLOW(SYS_mknodat),
    SB_ALLOW(SYS_uname),
    SB_ALLOW(SYS_sched_getaffinity),
    /* ioctl only with these requests. Pause and resume (vm_pause.c): the guest clock. */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_CLOCK),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_CLOCK),
    /* Snapshot create (kvm_state.c): each vCPU's and the VM's state read, the MSR list and
     * the XSAVE size asked of /dev/kvm, a diff snapshot's dirty log (its start and stop set the
     * memory slots' flags) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CHECK_EXTENSION),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MP_STATE),
    /* the state's reads: the architecture's (vm_arch_state_sandbox, vmm/vm/vm_arch_sandbox.h) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_DIRTY_LOG),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION),
    /* a drive swap (PATCH /drives) sizes a block device (virtio/blk/disk.c) */
    SB_ARG_EQ(SYS_ioctl, 1, BLKGETSIZE64),
    SB_ARG_EQ(SYS_ioctl, 1, BLKSSZGET),
    /* a swap's config-change interrupt, Ctrl-Alt-Del's i8042 line: raised as a device does */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE_STATUS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SIGNAL_MSI),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_GSI_ROUTING),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQFD),
};
static const struct sandbox_list api_sandbox = SANDBOX_LIST("api", api_rules);

/* What the broker (host/sandbox/broker.h) needs, on top of the api list, only until the VM
 * exists, while it builds the VM the API's requests configured: a drive's backend (io_uring, an
 * epoll set), the vsock device's Unix listening socket, checks that a file exists. Its second
 * entry, once the VM exists, leaves these out. The API thread itself never has them: it builds
 * nothing and opens nothing (the broker does both). */
static const struct sandbox_rule api_setup_rules[] = {
    SB_ALLOW(SYS_access),
    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ALLOW(SYS_bind),
    SB_ALLOW(SYS_listen),
    SB_ALLOW(SYS_epoll_create1),
    SB_ALLOW(SYS_io_uring_setup),
    SB_ALLOW(SYS_io_uring_register),
    /* a pmem device keeps its own descriptor of the file (vmm/descriptors/dev_pmem.c) */
    SB_ALLOW(SYS_dup),
    /* the Landlock set sealed once the VM exists (control.c's seal_landlock): a ruleset can
     * only ever restrict */
    SB_ALLOW(SYS_landlock_create_ruleset),
    SB_ALLOW(SYS_landlock_add_rule),
    /* InstanceStart and snapshot load build the VM on this thread (kvm.c, cpuid.c,
     * kvm_state.c's restore, the devices' KVM wiring) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_API_VERSION),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_VM),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_VCPU_MMAP_SIZE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_VCPU),
    /* the architecture's chips, vCPU set-up and state writes (vm_arch_build_sandbox) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IOEVENTFD),
    /* a tap configured through the API (virtio/net/tap.c, vmm/descriptors/dev_net.c) */
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETIFF),
    SB_ARG_EQ(SYS_ioctl, 1, TUNGETIFF),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETVNETHDRSZ),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETOFFLOAD),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETQUEUE),
};
static const struct sandbox_list api_setup_sandbox = SANDBOX_LIST("api-setup", api_setup_rules);

/* vm_uffd_setup_sandbox: a snapshot load with mem_backend Uffd (vmm/snapshot/vm_uffd.h); the
 * vm_migrate_ lists: a live migration's two ends (vmm/migration/vm_migrate.h); vfio: a
 * passed-through device the API configured (vmm/vm/vm_vfio.h) */
static const struct sandbox_list *const broker_lists[] = {&api_sandbox,
							  &vm_arch_state_sandbox,
							  &api_setup_sandbox,
							  &vm_arch_build_sandbox,
							  &vm_uffd_setup_sandbox,
							  &vm_migrate_send_sandbox,
							  &vm_migrate_recv_sandbox,
							  &vm_vfio_setup_sandbox};
/* Once the VM exists, the API thread and the broker: sending the VM away is all that is left of
 * migration. */
static const struct sandbox_list *const running_lists[] = {&api_sandbox, &vm_arch_state_sandbox,
							   &vm_migrate_send_sandbox};
#define RUNNING_LISTS (sizeof(running_lists) / sizeof(running_lists[0]))

const struct sandbox_list *const *api_http_broker_lists(size_t *n, bool running)
{
	*n = running ? RUNNING_LISTS : sizeof(broker_lists) / sizeof(broker_lists[0]);
	return running ? running_lists : broker_lists;
}

/* Bits: the eventfd adds what is written, and each is written at most once before the thread
 * reads it (a confinement is waited for; opening and stopping happen once). */
#define WAKE_CONFINE 1
#define WAKE_STOP    2
#define WAKE_OPEN    4

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

/* RFC 9110 section 5.6.7's IMF-fixdate of the wall clock ("Sun, 06 Nov 1994 08:49:37 GMT"),
 * without gmtime_r() (base/utc.h: a confined thread must not load the time zone). */
static void http_date(char *buf, size_t len)
{
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct timespec ts;
	struct utc_tm u;

	clock_gettime(CLOCK_REALTIME, &ts);
	utc_from_epoch(ts.tv_sec > 0 ? ts.tv_sec : 0, &u);
	snprintf(buf, len, "%s, %02u %s %04d %02u:%02u:%02u GMT", wday[u.wday % 7], u.day % 32,
		 mon[(u.month + 11) % 12], (int)(u.year % 10000), u.hour % 24, u.min % 60,
		 u.sec % 60);
}

static void client_close(struct api_http *h, struct client *c)
{
	close(c->fd);
	http_request_free(&c->rq);
	free(c->out);
	c->out = NULL;
	c->used = false;
	h->nclients--;
}

/* Queues an answer: the status line and headers, then `body` (JSON, or NULL for none; its
 * length only, for HEAD). A 1xx or 204 carries no length (RFC 9110 sections 8.6, 9.3.2,
 * 15.2). Returns 0 or -ENOMEM. */
static int queue(struct client *c, unsigned status, const char *body, bool head_only)
{
	char head[256], date[40];
	size_t blen = body ? strlen(body) : 0;
	int n;

	if (status < 200) {
		n = snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\n\r\n", status,
			     http_reason(status));
	} else {
		http_date(date, sizeof(date));
		n = snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\nDate: %s\r\nConnection: %s\r\n",
			     status, http_reason(status), date,
			     c->closing ? "close" : "keep-alive");
		if (blen)
			n += snprintf(head + n, sizeof(head) - (size_t)n,
				      "Content-Type: application/json\r\n");
		if (status != 204)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n",
				      blen);
		n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
		c->answering = true;
	}
	if (head_only)
		blen = 0;
	char *out = realloc(c->out, c->out_len + (size_t)n + blen);
	if (!out)
		return -ENOMEM;
	memcpy(out + c->out_len, head, (size_t)n);
	memcpy(out + c->out_len + n, body ? body : "", blen);
	c->out = out;
	c->out_len += (size_t)n + blen;
	return 0;
}

/* Firecracker's answer to a body over its limit: micro_http's parse-error body, {"error": ...}
 * with "All previous unanswered requests will be dropped." after a line break. micro_http puts a
 * raw newline inside the JSON string (not valid JSON); ours is escaped, so the body parses. */
static void size_refusal(const char *why, struct api_response *out)
{
	char text[HTTP_MAX_WHY + 64];
	snprintf(text, sizeof(text), "%s\nAll previous unanswered requests will be dropped.", why);
	json_t *j = json_pack("{s:s}", "error", text);
	out->status = 400;
	out->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
}

/* A refusal: one JSON fault_message (a body over the limit: size_refusal()), then the connection
 * closes (where the request ends is unknown). */
static void refuse(struct client *c, const struct http_request *rq)
{
	unsigned status = rq->status;
	const char *why = rq->why;
	struct api_response resp;
	log_debug("api: refused a request with %u: %s", status, why);
	if (rq->size_refused)
		size_refusal(why, &resp);
	else
		api_fault_response(status, why, &resp);
	c->closing = true;
	if (queue(c, status, resp.body ? resp.body : "{}", false) < 0) {
		free(c->out); /* no room even for a refusal: closed without one */
		c->out = NULL;
		c->out_len = c->out_off = 0;
		c->draining = true;
	}
	free(resp.body);
}

/* A whole request: the router's answer. */
static void serve(struct api_http *h, struct client *c)
{
	struct http_request *rq = &c->rq;
	struct api_response resp;
	api_handle(h->api, rq->method, rq->path, rq->body, rq->body_len, &resp);
	c->closing = rq->close;
	if (queue(c, resp.status, resp.body, !strcmp(rq->method, "HEAD")) < 0)
		c->closing = true, c->draining = true;
	free(resp.body);
	http_request_reset(rq);
	c->continue_sent = false;
}

/* Feeds the buffered bytes to the parser, and queues what that calls for. */
static void take_input(struct api_http *h, struct client *c)
{
	struct http_request *rq = &c->rq;
	c->in_off += http_request_feed(rq, c->in + c->in_off, c->in_len - c->in_off);
	if (rq->phase == HTTP_FAILED) {
		refuse(c, rq);
	} else if (rq->phase == HTTP_DONE) {
		serve(h, c);
	} else if (http_request_head_done(rq) && rq->expect_continue && !c->continue_sent) {
		c->continue_sent = true;
		if (queue(c, 100, NULL, false) < 0)
			c->closing = true, c->draining = true;
	}
}

/* Sends what is queued. Returns 1 when all of it is out, 0 when the socket is full, -1 when
 * the connection is gone. */
static int flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)n;
		c->last_io_ns = mono_ns();
	}
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	if (c->answering) { /* the next request's clock starts now */
		c->answering = false;
		c->since_ns = mono_ns();
	}
	if (c->closing && !c->draining) {
		/* The client may still be sending the request we refused: read and drop it for a
		 * moment, so it reads our answer instead of a reset. */
		shutdown(c->fd, SHUT_WR);
		c->draining = true;
		c->drain_until_ns = mono_ns() + API_HTTP_DRAIN_MS * NS_PER_MS;
	}
	return 1;
}

/* Everything a connection can do now: send, read, parse, answer. A bounded number of reads, so
 * one busy client does not keep the others waiting; what was read is served before it returns
 * (poll() would not wake for bytes already taken off the socket). */
static void client_io(struct api_http *h, struct client *c)
{
	for (int reads = 0;;) {
		if (c->out) {
			int r = flush(c);
			if (r < 0)
				goto gone;
			if (r == 0)
				return;
		}
		if (c->in_off < c->in_len && !c->closing) {
			take_input(h, c);
			continue;
		}
		if (reads == API_HTTP_READS_PER_ROUND)
			return;
		ssize_t n = recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
		reads++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			goto gone; /* no more requests: what was half sent is dropped */
		c->last_io_ns = mono_ns();
		c->in_off = 0;
		c->in_len = c->closing ? 0 : (size_t)n; /* a refused client's rest is dropped */
	}
	return;
gone:
	client_close(h, c);
}

static pid_t peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : -1;
}

/* Takes the waiting connections while there is a free slot. */
static void accept_clients(struct api_http *h)
{
	for (int i = 0; i < API_HTTP_MAX_CLIENTS && h->nclients < API_HTTP_MAX_CLIENTS; i++) {
		struct client *c = &h->clients[i];
		if (c->used)
			continue;
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		uint64_t now = mono_ns();
		*c = (struct client){.used = true,
				     .fd = fd,
				     .pid = peer_pid(fd),
				     .since_ns = now,
				     .last_io_ns = now};
		http_request_init(&c->rq, h->api->max_body);
		h->nclients++;
	}
}

/* A connection whose request has taken longer than `ns` and is still coming in. */
static bool stalled(const struct client *cl, uint64_t now, uint64_t ns)
{
	return cl->used && !cl->answering && !cl->closing && now - cl->since_ns > ns;
}

/* How many stalled connections of cl's process began their request after cl did. */
static int younger_stalled(const struct api_http *h, const struct client *cl, uint64_t now)
{
	int n = 0;
	for (int i = 0; i < API_HTTP_MAX_CLIENTS; i++) {
		const struct client *o = &h->clients[i];
		if (o != cl && o->pid == cl->pid && stalled(o, now, API_HTTP_STALL_NS) &&
		    (o->since_ns > cl->since_ns || (o->since_ns == cl->since_ns && o > cl)))
			n++;
	}
	return n;
}

/* The slow-client rules (api_http.h): a connection silent for API_HTTP_TIMEOUT_S goes; a
 * request gets API_HTTP_REQUEST_DEADLINE_S to arrive whole, and a process keeps at most
 * API_HTTP_MAX_STALLED_PER_CLIENT stalled ones (its youngest); the rest are closed, so
 * trickling clients cannot hold every slot. A refused client's drain ends on time too. */
static void sweep(struct api_http *h)
{
	uint64_t now = mono_ns();
	for (int i = 0; i < API_HTTP_MAX_CLIENTS; i++) {
		struct client *c = &h->clients[i];
		if (!c->used)
			continue;
		if ((c->draining && now > c->drain_until_ns) ||
		    now - c->last_io_ns > API_HTTP_TIMEOUT_S * NS_PER_S ||
		    stalled(c, now, API_HTTP_REQUEST_DEADLINE_S * NS_PER_S) ||
		    (stalled(c, now, API_HTTP_STALL_NS) &&
		     younger_stalled(h, c, now) >= API_HTTP_MAX_STALLED_PER_CLIENT))
			client_close(h, c);
	}
}

/* One round of the event loop: waits (at most `ms`) for the wake-up fd, the listening socket
 * and the connections, and serves what is ready. Returns what wake_fd carried (0: nothing). */
static uint64_t serve_round(struct api_http *h, int ms)
{
	struct pollfd p[2 + API_HTTP_MAX_CLIENTS];
	struct client *of[2 + API_HTTP_MAX_CLIENTS];
	int n = 2;

	p[0] = (struct pollfd){h->wake_fd, POLLIN, 0};
	p[1] =
	    (struct pollfd){!h->held && h->nclients < API_HTTP_MAX_CLIENTS ? h->fd : -1, POLLIN, 0};
	for (int i = 0; i < API_HTTP_MAX_CLIENTS; i++) {
		struct client *c = &h->clients[i];
		if (!c->used)
			continue;
		of[n] = c;
		p[n++] = (struct pollfd){c->fd, c->out ? POLLOUT : POLLIN, 0};
	}
	if (poll(p, (nfds_t)n, ms) < 0)
		return 0;
	uint64_t wake = 0;
	if ((p[0].revents & POLLIN) && read(h->wake_fd, &wake, sizeof(wake)) == sizeof(wake))
		return wake; /* first: confined before the next request is served */
	uint64_t t0 = mono_ns();
	for (int i = 2; i < n; i++)
		if (p[i].revents && of[i]->used)
			client_io(h, of[i]);
	if (p[1].revents & POLLIN)
		accept_clients(h);
	/* After a slow request (InstanceStart), others' requests may be waiting unread: they are
	 * read in the next round before any is judged stalled. */
	if (mono_ns() - t0 < API_HTTP_SWEEP_MS * NS_PER_MS)
		sweep(h);
	return 0;
}

/* An existing file at the path: a socket nobody answers on is stale and goes; anything else
 * stays and is refused. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
		return -EEXIST;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live = probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	if (probe >= 0)
		close(probe);
	if (live) {
		snprintf(err, errlen, "%s is served by another process", sa->sun_path);
		return -EADDRINUSE;
	}
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

static int listen_unix(struct api_http *h, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "the socket path must have 1 to %zu characters",
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int r = clear_stale(&sa, err, errlen);
	if (r)
		return r;
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		return -errno;
	mode_t old = umask(0077);
	r = bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!r && listen(h->fd, API_HTTP_MAX_CLIENTS) < 0)
		r = -errno;
	if (r)
		return r;
	snprintf(h->path, sizeof(h->path), "%s", path);
	return 0;
}

static void set_confine_result(struct api_http *h, int r)
{
	pthread_mutex_lock(&h->lock);
	h->confine_result = r;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Waits (at most 10 s, h->lock held) for the API thread's set_confine_result(). */
static int wait_confined(struct api_http *h)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (h->confine_result == 1)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &deadline) == ETIMEDOUT)
			break;
	return h->confine_result == 1 ? -ETIMEDOUT : h->confine_result;
}

/* Serves until asked to stop; confines itself first, and again when asked to. */
static void *api_thread(void *arg)
{
	struct api_http *h = arg;
	pthread_setname_np(pthread_self(), "api");
	/* answers before a running guest's vCPU gives up its CPU (base/thread_sched.h) */
	(void)thread_sched_short_slice(THREAD_SCHED_CONTROL_SLICE_NS);
	/* Confined before the first request, as Firecracker's API thread, Landlock included (the
	 * broker opens and builds for it); a second, later entry (WAKE_CONFINE) drops what it
	 * keeps until a --user switch. */
	int r = sandbox_enter_early("api", running_lists, RUNNING_LISTS);
	set_confine_result(h, r);
	if (r)
		return NULL;
	for (;;) {
		/* the slow-client rules need a look now and then */
		uint64_t wake = serve_round(h, h->nclients ? API_HTTP_SWEEP_MS : -1);
		if (wake & WAKE_STOP)
			break;
		if (wake & WAKE_OPEN)
			h->held = false;
		if (wake & WAKE_CONFINE)
			set_confine_result(h, api_http_confine_here());
	}
	for (int i = 0; i < API_HTTP_MAX_CLIENTS; i++)
		if (h->clients[i].used)
			client_close(h, &h->clients[i]);
	return NULL;
}

static int start_thread(struct api_http *h)
{
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0)
		return -errno;
	h->confine_result = 1;
	int err = pthread_create(&h->thread, NULL, api_thread, h);
	h->thread_running = !err;
	if (err)
		return -err;
	pthread_mutex_lock(&h->lock);
	int r = wait_confined(h);
	pthread_mutex_unlock(&h->lock);
	return r;
}

int api_http_confine_here(void)
{
	return sandbox_enter("api", running_lists, RUNNING_LISTS);
}

int api_http_confine(struct api_http *h)
{
	uint64_t v = WAKE_CONFINE;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	h->confine_result = 1;
	if (write(h->wake_fd, &v, sizeof(v)) < 0) {
		pthread_mutex_unlock(&h->lock);
		return -errno;
	}
	int r = wait_confined(h);
	pthread_mutex_unlock(&h->lock);
	return r;
}

int api_http_start(struct api_http **out, const char *path, struct api *a, bool held, char *err,
		   size_t errlen)
{
	struct api_http *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->api = a;
	h->held = held; /* before the thread starts */
	h->fd = -1;
	h->wake_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->clients = calloc(API_HTTP_MAX_CLIENTS, sizeof(*h->clients));
	int r = h->clients ? listen_unix(h, path, err, errlen) : -ENOMEM;
	if (!r)
		r = start_thread(h);
	if (r) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		api_http_stop(h);
		return r;
	}
	*out = h;
	return 0;
}

int api_http_open(struct api_http *h)
{
	uint64_t v = WAKE_OPEN;
	if (!h)
		return 0;
	return write(h->wake_fd, &v, sizeof(v)) == sizeof(v) ? 0 : -errno;
}

void api_http_stop(struct api_http *h)
{
	if (!h)
		return;
	if (h->thread_running) {
		uint64_t v = WAKE_STOP;
		if (write(h->wake_fd, &v, sizeof(v)) == sizeof(v))
			pthread_join(h->thread, NULL);
	}
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	if (h->fd >= 0)
		close(h->fd);
	if (h->path[0])
		unlink(h->path);
	free(h->clients);
	free(h);
}
