/* The API's HTTP server over libmicrohttpd. See api_http.h.
 *
 * Why libmicrohttpd: a small, long-maintained C HTTP/1.1 server (GNU, in Debian) that parses
 * requests, handles chunked bodies, Expect: 100-continue, keep-alive and timeouts, and accepts a
 * listening socket we made ourselves, so a Unix socket is as easy as TCP. */
#include "vmm/api/api_http.h"

#include <errno.h>
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/sandbox/sandbox.h"

struct api_http {
	struct MHD_Daemon *daemon;
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
 * is created here): so files, ioctls and thread creation stay allowed. */
static const struct sandbox_rule api_rules[] = {
    SB_ALLOW(SYS_epoll_wait),	  SB_ALLOW(SYS_epoll_pwait),	 SB_ALLOW(SYS_epoll_ctl),
    SB_ALLOW(SYS_accept4),	  SB_ALLOW(SYS_accept),		 SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_sendto),	  SB_ALLOW(SYS_sendmsg),	 SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_shutdown),	  SB_ALLOW(SYS_setsockopt),	 SB_ALLOW(SYS_getsockopt),
    SB_ALLOW(SYS_read),		  SB_ALLOW(SYS_write),		 SB_ALLOW(SYS_writev),
    SB_ALLOW(SYS_pread64),	  SB_ALLOW(SYS_pwrite64),	 SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_openat),	  SB_ALLOW(SYS_fstat),		 SB_ALLOW(SYS_newfstatat),
    SB_ALLOW(SYS_statx),	  SB_ALLOW(SYS_lseek),		 SB_ALLOW(SYS_flock),
    SB_ALLOW(SYS_ftruncate),	  SB_ALLOW(SYS_fsync),		 SB_ALLOW(SYS_fdatasync),
    SB_ALLOW(SYS_rename),	  SB_ALLOW(SYS_renameat),	 SB_ALLOW(SYS_unlink),
    SB_ALLOW(SYS_unlinkat),	  SB_ALLOW(SYS_fcntl),		 SB_ALLOW(SYS_ioctl),
    SB_ALLOW(SYS_clone),	  SB_ALLOW(SYS_clone3),		 SB_ALLOW(SYS_eventfd2),
    SB_ALLOW(SYS_timerfd_create), SB_ALLOW(SYS_timerfd_settime), SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),	  SB_ALLOW(SYS_fallocate),	 SB_ALLOW(SYS_getrandom),
    SB_ALLOW(SYS_mknodat),	  SB_ALLOW(SYS_uname),
};
static const struct sandbox_list api_sandbox = SANDBOX_LIST("api", api_rules);

#define WAKE_CONFINE 1
#define WAKE_STOP    2

/* One request's body as it arrives. */
struct request {
	char *buf;
	size_t len;  /* bytes kept */
	size_t seen; /* bytes received, kept or not */
};

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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct api_http *h = cls;
	struct request *rq = *con_cls;
	(void)version;

	if (!rq) { /* headers only: make room for the body */
		rq = calloc(1, sizeof(*rq));
		*con_cls = rq;
		return rq ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		add_body(rq, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	struct api_response resp;
	api_handle(h->api, method, url, rq->buf, rq->seen > API_MAX_BODY ? rq->seen : rq->len,
		   &resp);
	enum MHD_Result ret = answer(c, &resp);
	free(resp.body);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct request *rq = *con_cls;
	(void)cls, (void)c, (void)why;
	if (rq)
		free(rq->buf);
	free(rq);
	*con_cls = NULL;
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

/* Serves until asked to stop; confines itself when asked to. */
static void *api_thread(void *arg)
{
	struct api_http *h = arg;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd p[2] = {{info->epoll_fd, POLLIN, 0}, {h->wake_fd, POLLIN, 0}};

	pthread_setname_np(pthread_self(), "api");
	for (;;) {
		MHD_UNSIGNED_LONG_LONG timeout;
		int ms = MHD_get_timeout(h->daemon, &timeout) == MHD_YES && timeout < 60000
			     ? (int)timeout
			     : 1000;
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			break;
		uint64_t wake = 0;
		if ((p[1].revents & POLLIN) && read(h->wake_fd, &wake, sizeof(wake)) < 0)
			wake = 0;
		if (wake >= WAKE_STOP)
			break;
		if (wake == WAKE_CONFINE) {
			const struct sandbox_list *lists[] = {&api_sandbox};
			int r = sandbox_enter("api", lists, 1);
			pthread_mutex_lock(&h->lock);
			h->confine_result = r;
			pthread_cond_broadcast(&h->cond);
			pthread_mutex_unlock(&h->lock);
		}
		MHD_run(h->daemon);
	}
	return NULL;
}

static int start_thread(struct api_http *h)
{
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0)
		return -errno;
	int err = pthread_create(&h->thread, NULL, api_thread, h);
	h->thread_running = !err;
	return -err;
}

int api_http_confine_here(void)
{
	const struct sandbox_list *lists[] = {&api_sandbox};
	return sandbox_enter("api", lists, 1);
}

int api_http_confine(struct api_http *h)
{
	uint64_t v = WAKE_CONFINE;
	struct timespec deadline;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	h->confine_result = 1;
	if (write(h->wake_fd, &v, sizeof(v)) < 0) {
		pthread_mutex_unlock(&h->lock);
		return -errno;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (h->confine_result == 1)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &deadline) == ETIMEDOUT)
			break;
	int r = h->confine_result == 1 ? -ETIMEDOUT : h->confine_result;
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
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
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
