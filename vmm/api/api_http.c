/* The API's HTTP server over libmicrohttpd. See api_http.h.
 *
 * Why libmicrohttpd: a small, long-maintained C HTTP/1.1 server (GNU, in Debian) that parses
 * requests, handles chunked bodies, Expect: 100-continue, keep-alive and timeouts, and accepts a
 * listening socket we made ourselves, so a Unix socket is as easy as TCP. */
#include "vmm/api/api_http.h"

#include <errno.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <microhttpd.h>
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

#include "vmm/base/log.h"
#include "vmm/machine/vm_migrate.h"
#include "vmm/machine/vm_uffd.h"
#include "vmm/sandbox/sandbox.h"

/* One connection as the slow-client rules see it (see api_http.h). */
struct client {
	bool used;
	bool cut;	   /* shut down by us: MHD closes it next */
	bool answering;	   /* between the handler's answer and the request's end */
	int fd;		   /* MHD's socket, for shutdown() */
	pid_t pid;	   /* SO_PEERCRED: who is on the other end of the Unix socket */
	uint64_t since_ns; /* when its current request began: connect, or the last answer */
};

struct api_http {
	struct MHD_Daemon *daemon;
	struct client clients[API_HTTP_MAX_CLIENTS];
	int nclients;
	struct api *api;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* Our own thread runs libmicrohttpd's event loop, so it can confine itself (sandbox.h)
	 * when asked: wake_fd carries "stop" (2) and "confine" (1) requests. */
	pthread_t thread;
	bool thread_running;
	int wake_fd;
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
    SB_ALLOW(SYS_fstat),
    SB_ALLOW(SYS_newfstatat),
    SB_ALLOW(SYS_statx),
    SB_ALLOW(SYS_lseek),
    SB_ALLOW(SYS_flock),
    SB_ALLOW(SYS_ftruncate),
    SB_ALLOW(SYS_fsync),
    SB_ALLOW(SYS_fdatasync),
    SB_ALLOW(SYS_rename),
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
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MSR_INDEX_LIST),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_REGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_SREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_FPU),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_XSAVE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_XSAVE2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_XCRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MSRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_LAPIC),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_DEBUGREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_VCPU_EVENTS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MP_STATE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_CPUID2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_IRQCHIP),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_PIT2),
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

/* What the broker (vmm/sandbox/broker.h) needs, on top of the api list, only until the VM
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
    /* the Landlock set sealed once the VM exists (control.c's seal_landlock): a ruleset can
     * only ever restrict */
    SB_ALLOW(SYS_landlock_create_ruleset),
    SB_ALLOW(SYS_landlock_add_rule),
    /* InstanceStart and snapshot load build the VM on this thread (kvm.c, cpuid.c,
     * kvm_state.c's restore, the devices' KVM wiring) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_API_VERSION),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_VM),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_VCPU_MMAP_SIZE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_SUPPORTED_CPUID),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_IDENTITY_MAP_ADDR),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_TSS_ADDR),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_IRQCHIP),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_PIT2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CREATE_VCPU),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_CPUID2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_REGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_SREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_FPU),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_XSAVE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_XCRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_MSRS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_LAPIC),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_DEBUGREGS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_VCPU_EVENTS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_MP_STATE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_IRQCHIP),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_PIT2),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IOEVENTFD),
    /* a tap configured through the API (virtio/net/tap.c, vmm/machine/dev_net.c) */
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETIFF),
    SB_ARG_EQ(SYS_ioctl, 1, TUNGETIFF),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETVNETHDRSZ),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETOFFLOAD),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETQUEUE),
};
static const struct sandbox_list api_setup_sandbox = SANDBOX_LIST("api-setup", api_setup_rules);

/* vm_uffd_setup_sandbox: a snapshot load with mem_backend Uffd (vmm/machine/vm_uffd.h); the
 * vm_migrate_ lists: a live migration's two ends (vmm/machine/vm_migrate.h) */
static const struct sandbox_list *const broker_lists[] = {
    &api_sandbox, &api_setup_sandbox, &vm_uffd_setup_sandbox, &vm_migrate_send_sandbox,
    &vm_migrate_recv_sandbox};
/* Once the VM exists, the API thread and the broker: sending the VM away is all that is left of
 * migration. */
static const struct sandbox_list *const running_lists[] = {&api_sandbox, &vm_migrate_send_sandbox};

const struct sandbox_list *const *api_http_broker_lists(size_t *n, bool running)
{
	*n = running ? 2 : sizeof(broker_lists) / sizeof(broker_lists[0]);
	return running ? running_lists : broker_lists;
}

#define WAKE_CONFINE 1
#define WAKE_STOP    2

/* One request as it arrives: its refusal, decided from its head, or its body. */
struct request {
	bool head_checked;
	bool nul_in_path;    /* a NUL in the request line, raw or as %00 */
	const char *raw_url; /* the URL before unescaping (in MHD's buffer), for the NUL check */
	size_t raw_len;	     /* its length then: MHD later ends it at a '?' too */
	unsigned refuse;     /* 0, or the status of a refusal already decided */
	char why[160];
	char *buf;
	size_t len;  /* bytes kept */
	size_t seen; /* bytes received, kept or not */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_body(struct request *rq, const char *data, size_t n)
{
	rq->seen += n;
	if (rq->seen > API_MAX_BODY)
		return; /* dropped: the answer will be 413 */
	if (!rq->buf) {
		rq->buf = malloc(API_MAX_BODY);
		if (!rq->buf) {
			rq->seen = API_MAX_BODY + 1;
			return;
		}
	}
	memcpy(rq->buf + rq->len, data, n);
	rq->len += n;
}

static enum MHD_Result answer(struct MHD_Connection *c, const struct api_response *resp)
{
	size_t n = resp->body ? strlen(resp->body) : 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    n, resp->body ? resp->body : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (n)
		MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static struct client *client_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* MHD's URI log hook sees the request line's URL before it is unescaped, which is the one place
 * a "%00" can still be told from the end of the string. What it returns becomes the request's
 * *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *rq = calloc(1, sizeof(*rq));
	(void)cls, (void)c;
	if (rq) {
		rq->raw_url = uri;
		rq->raw_len = strlen(uri);
		rq->nul_in_path = strstr(uri, "%00") != NULL;
	}
	return rq;
}

/* A raw NUL byte in the URL ends MHD's C string early ("GET /\0abc" reads as "GET /"). MHD
 * keeps the request line in one buffer and ends the URL with a NUL where the space before the
 * version was, so whatever lies between the URL's end and the version must be NULs and spaces;
 * anything else was after a NUL inside the URL. */
static bool nul_inside_url(const char *raw_url, size_t raw_len, const char *version)
{
	if (!raw_url || !version || version <= raw_url ||
	    (size_t)(version - raw_url) > API_HTTP_MEMORY_LIMIT ||
	    (size_t)(version - raw_url) < raw_len)
		return false; /* not laid out as expected: no verdict */
	for (const char *p = raw_url + raw_len; p < version; p++)
		if (*p != '\0' && *p != ' ')
			return true;
	return false;
}

/* The head of a request against our limits: a path longer than API_HTTP_MAX_PATH, a head larger
 * than API_HTTP_MAX_HEAD, a NUL in the path. libmicrohttpd would answer the first two itself,
 * with an HTML page, once they pass its memory limit; ours are lower so the answer is JSON. */
static void check_head(struct MHD_Connection *c, struct request *rq, const char *url,
		       const char *version)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	size_t head = ci ? ci->header_size : 0;

	rq->head_checked = true;
	if (rq->nul_in_path || nul_inside_url(rq->raw_url, rq->raw_len, version))
		snprintf(rq->why, sizeof(rq->why), "Invalid request: the path contains a NUL.");
	else if (strlen(url) > API_HTTP_MAX_PATH)
		snprintf(rq->why, sizeof(rq->why),
			 "Invalid request: the path is longer than %d bytes.", API_HTTP_MAX_PATH);
	else if (head > API_HTTP_MAX_HEAD)
		snprintf(rq->why, sizeof(rq->why),
			 "Invalid request: the request line and headers are larger than %d bytes.",
			 API_HTTP_MAX_HEAD);
	if (rq->why[0])
		rq->refuse = 400;
	rq->raw_url = NULL; /* MHD's buffer is not ours to read later */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct api_http *h = cls;
	struct request *rq = *con_cls;

	if (!rq) { /* the URI hook could not allocate */
		rq = calloc(1, sizeof(*rq));
		*con_cls = rq;
		if (!rq)
			return MHD_NO;
	}
	if (!rq->head_checked) { /* headers only: check them, make room for the body */
		check_head(c, rq, url, version);
		return MHD_YES;
	}
	if (*data_size) {
		if (!rq->refuse)
			add_body(rq, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	struct api_response resp;
	if (rq->refuse)
		api_fault_response(rq->refuse, rq->why, &resp);
	else
		api_handle(h->api, method, url, rq->buf,
			   rq->seen > API_MAX_BODY ? rq->seen : rq->len, &resp);
	struct client *cl = client_of(c);
	if (cl)
		cl->answering = true;
	enum MHD_Result ret = answer(c, &resp);
	free(resp.body);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct request *rq = *con_cls;
	struct client *cl = client_of(c);
	(void)cls, (void)why;
	if (cl) { /* the next request's clock starts now */
		cl->answering = false;
		cl->since_ns = now_ns();
	}
	if (rq)
		free(rq->buf);
	free(rq);
	*con_cls = NULL;
}

static pid_t peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : -1;
}

/* Each connection gets a slot: when it began its request, and which process it is. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct api_http *h = cls;
	struct client *cl = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (cl) {
			cl->used = false;
			h->nclients--;
		}
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (int i = 0; ci && i < API_HTTP_MAX_CLIENTS; i++) {
		if (h->clients[i].used)
			continue;
		h->clients[i] = (struct client){.used = true,
						.fd = ci->connect_fd,
						.pid = peer_pid(ci->connect_fd),
						.since_ns = now_ns()};
		h->nclients++;
		*socket_context = &h->clients[i];
		return;
	}
}

static void cut(struct client *cl)
{
	shutdown(cl->fd, SHUT_RDWR); /* MHD sees the end of the stream and closes it */
	cl->cut = true;
}

/* A connection whose request has taken longer than `ns` and is still coming in. */
static bool stalled(const struct client *cl, uint64_t now, uint64_t ns)
{
	return cl->used && !cl->cut && !cl->answering && now - cl->since_ns > ns;
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

/* The slow-client rules (api_http.h): a request gets API_HTTP_REQUEST_DEADLINE_S to arrive
 * whole, and a process keeps at most API_HTTP_MAX_STALLED_PER_CLIENT stalled ones (its
 * youngest); the rest are cut, so trickling clients cannot hold every slot. */
static void sweep(struct api_http *h)
{
	uint64_t now = now_ns();
	for (int i = 0; i < API_HTTP_MAX_CLIENTS; i++) {
		struct client *cl = &h->clients[i];
		if (stalled(cl, now, (uint64_t)API_HTTP_REQUEST_DEADLINE_S * 1000000000u) ||
		    (stalled(cl, now, API_HTTP_STALL_NS) &&
		     younger_stalled(h, cl, now) >= API_HTTP_MAX_STALLED_PER_CLIENT))
			cut(cl);
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("api: %s", msg);
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
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd p[2] = {{info->epoll_fd, POLLIN, 0}, {h->wake_fd, POLLIN, 0}};

	pthread_setname_np(pthread_self(), "api");
	/* Confined before the first request, as Firecracker's API thread, Landlock included (the
	 * broker opens and builds for it); a second, later entry (WAKE_CONFINE) drops what it
	 * keeps until a --user switch. */
	int r = sandbox_enter_early("api", running_lists, 2);
	set_confine_result(h, r);
	if (r)
		return NULL;
	for (;;) {
		MHD_UNSIGNED_LONG_LONG timeout;
		int ms = MHD_get_timeout(h->daemon, &timeout) == MHD_YES && timeout < 60000
			     ? (int)timeout
			     : 1000;
		if (h->nclients && ms > API_HTTP_SWEEP_MS)
			ms = API_HTTP_SWEEP_MS; /* the slow-client rules need a look now and then */
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			break;
		uint64_t wake = 0;
		if ((p[1].revents & POLLIN) && read(h->wake_fd, &wake, sizeof(wake)) < 0)
			wake = 0;
		if (wake >= WAKE_STOP)
			break;
		if (wake == WAKE_CONFINE)
			set_confine_result(h, api_http_confine_here());
		MHD_run(h->daemon);
		sweep(h);
	}
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
	return sandbox_enter("api", running_lists, 2);
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

int api_http_start(struct api_http **out, const char *path, struct api *a, char *err, size_t errlen)
{
	struct api_http *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->api = a;
	h->fd = -1;
	h->wake_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	int r = listen_unix(h, path, err, errlen);
	if (!r) {
		h->daemon = MHD_start_daemon(
		    MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
		    MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_HTTP_MAX_CLIENTS,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_HTTP_TIMEOUT_S,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_HTTP_MEMORY_LIMIT,
		    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_CONNECTION,
		    on_connection, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
		if (!h->daemon) {
			snprintf(err, errlen, "libmicrohttpd did not start");
			r = -EIO;
		}
	}
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
	if (h->daemon) {
		MHD_quiesce_daemon(h->daemon); /* the listening socket stays ours to close */
		MHD_stop_daemon(h->daemon);
	}
	if (h->fd >= 0)
		close(h->fd);
	if (h->path[0])
		unlink(h->path);
	free(h);
}
