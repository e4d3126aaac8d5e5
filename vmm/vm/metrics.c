/* The metrics document and its sink. See vmm/vm/metrics.h. */
#include "vmm/vm/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "base/stats.h"
#include "host/sandbox/opener.h"
#include "host/sandbox/sandbox.h"
#include "virtio/core/device.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include <sys/syscall.h>

/* A torn line is worse than a late one: once part of a line is in a full FIFO, wait this long
 * for the reader to make room for the rest. */
#define FIFO_FINISH_MS 1000

static struct {
	pthread_mutex_t lock; /* everything below but the atomics; a leaf */
	struct vm *vm;	      /* attached VM, or NULL */
	int fd;		      /* the sink, or -1 */
	bool fifo;
	bool created; /* open_sink() made the file (metrics_discard() removes it) */
	dev_t dev;    /* the sink's identity, for that removal */
	ino_t ino;
	char *path;
	char *line_id;	    /* each line's "id", or NULL */
	json_t *line_props; /* each line's "properties", or NULL */
	/* the flush thread */
	pthread_t thread;
	bool thread_running;
	int timer_fd, stop_fd;
	/* The thread confines itself (sandbox.h) once a VM is attached: before that the process
	 * may still switch user (--user), which every unconfined thread must take part in. */
	int confine_fd;
	/* counters of this module and of the API */
	atomic_uint_fast64_t api_requests, api_errors, flushes, flush_errors;
	atomic_uint_fast64_t start_ns; /* uptime origin when stats_init() never ran */
	/* metrics_set_startup(): UINT64_MAX until then (no "api_server" object) */
	atomic_uint_fast64_t startup_us, startup_cpu_us;
} M = {
    .startup_us = UINT64_MAX,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fd = -1,
    .timer_fd = -1,
    .stop_fd = -1,
    .confine_fd = -1,
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t uptime_ms(void)
{
	uint64_t start = stats_start_monotonic_ns(), now = clock_ns(CLOCK_MONOTONIC);
	uint_fast64_t zero = 0;

	if (!start) {
		atomic_compare_exchange_strong(&M.start_ns, &zero, now);
		start = atomic_load(&M.start_ns);
	}
	return (now - start) / 1000000u;
}

void metrics_count_api_request(bool error)
{
	atomic_fetch_add_explicit(&M.api_requests, 1, memory_order_relaxed);
	if (error)
		atomic_fetch_add_explicit(&M.api_errors, 1, memory_order_relaxed);
}

/* ---- the document ---- */

/* Sets key to an integer; false when out of memory. */
static bool put_int(json_t *obj, const char *key, uint64_t v)
{
	return json_object_set_new(obj, key, json_integer((json_int_t)v)) == 0;
}

static const char *mp_state_name(int mp)
{
	static const char *const names[] = {[KVM_MP_STATE_RUNNABLE] = "runnable",
					    [KVM_MP_STATE_UNINITIALIZED] = "uninitialized",
					    [KVM_MP_STATE_INIT_RECEIVED] = "init-received",
					    [KVM_MP_STATE_HALTED] = "halted",
					    [KVM_MP_STATE_SIPI_RECEIVED] = "sipi-received"};
	return mp >= 0 && mp < (int)(sizeof(names) / sizeof(names[0])) && names[mp] ? names[mp]
										    : "other";
}

/* What the halt watch's last sample of the vCPU saw, or NULL before the first. */
static json_t *seen_json(const struct vcpu *vcpu)
{
	int mp = __atomic_load_n(&vcpu->seen_mp_state, __ATOMIC_RELAXED);
	char pc[24], root[24];
	if (mp < 0)
		return NULL;
	snprintf(pc, sizeof(pc), "0x%" PRIx64, __atomic_load_n(&vcpu->seen_pc, __ATOMIC_RELAXED));
	snprintf(root, sizeof(root), "0x%" PRIx64,
		 __atomic_load_n(&vcpu->seen_pt_root, __ATOMIC_RELAXED));
	bool on = __atomic_load_n(&vcpu->seen_irqs_on, __ATOMIC_RELAXED);
	return json_pack("{s:s, s:s, s:b, s:s}", "mp_state", mp_state_name(mp),
			 vcpu_arch_seen_names.pc, pc, "interrupts", on,
			 vcpu_arch_seen_names.pt_root, root);
}

static json_t *vcpu_json(struct vcpu *vcpu)
{
	uint64_t n[VCPU_EXIT_KINDS], total = 0;
	json_t *o = json_object(), *exits = json_object();
	bool ok = o && exits;

	vcpu_exits_read(vcpu, n);
	for (int k = 0; ok && k < VCPU_EXIT_KINDS; k++) {
		ok = put_int(exits, vcpu_exit_kind_name((enum vcpu_exit_kind)k), n[k]);
		total += n[k];
	}
	ok = ok && put_int(o, "index", vcpu->index);
	ok = ok && json_object_set(o, "exits", exits) == 0;
	ok = ok && put_int(o, "exits_total", total);
	json_t *seen = ok ? seen_json(vcpu) : NULL;
	ok = ok && (!seen || json_object_set_new(o, "seen", seen) == 0);
	json_decref(exits);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool on_pci(struct vm *vm, const struct virtio_dev *dev)
{
	for (int i = 0; vm->pci && i < vm->pci->ndevs; i++)
		if (vm->pci->devs[i]->dev == dev)
			return true;
	return false;
}

struct device_walk {
	struct vm *vm;
	json_t *list;
};

/* virtio_counter_fn for a JSON object; a failure leaves a key out. */
static void put_counter(void *ctx, const char *name, uint64_t value)
{
	put_int(ctx, name, value);
}

static int device_json(struct virtio_dev *dev, void *opaque)
{
	struct device_walk *w = opaque;
	struct virtio_dev_counters_snapshot c;
	json_t *o = json_object();
	bool ok = o != NULL;

	virtio_dev_counters_read(dev, &c);
	ok = ok && put_int(o, "index", json_array_size(w->list));
	ok = ok && json_object_set_new(o, "name", json_string(dev->name ? dev->name : "")) == 0;
	ok = ok && put_int(o, "device_id", dev->device_id);
	ok = ok && json_object_set_new(o, "transport",
				       json_string(on_pci(w->vm, dev) ? "pci" : "mmio")) == 0;
	ok = ok && put_int(o, "kicks", c.kicks) && put_int(o, "requests", c.requests);
	ok = ok && put_int(o, "bytes", c.bytes) && put_int(o, "errors", c.errors);
	ok = ok && put_int(o, "stalls", c.stalls) && put_int(o, "interrupts", c.interrupts);
	if (ok)
		virtio_dev_extra_counters(dev, put_counter, o);
	ok = ok && json_array_append(w->list, o) == 0;
	json_decref(o);
	return ok ? 0 : -ENOMEM;
}

/* COM1's counters: Firecracker's "uart" object, with its rate_limiter_dropped_bytes; then
 * COM1's registers as its driver left them (uart8250_view()). */
static json_t *uart_json(struct vm *vm)
{
	struct vm_uart_counters c;
	json_t *o = json_object();

	vm_devices_uart_counters(vm, &c);
	if (o && put_int(o, "rate_limiter_dropped_bytes", c.rate_limiter_dropped_bytes) &&
	    put_int(o, "fifo_dropped_bytes", c.fifo_dropped_bytes) &&
	    (!c.attached || (put_int(o, "ier", c.ier) && put_int(o, "mcr", c.mcr) &&
			     put_int(o, "iir", c.iir) && put_int(o, "irq_line", c.line))))
		return o;
	json_decref(o);
	return NULL;
}

/* Adds "vcpus", "devices" and "uart". */
static bool add_vm(json_t *doc, struct vm *vm)
{
	json_t *vcpus = json_array();
	struct device_walk w = {vm, json_array()};
	bool ok = vcpus && w.list;

	for (unsigned i = 0; ok && i < vm->ncpus; i++)
		ok = json_array_append_new(vcpus, vcpu_json(&vm->vcpus[i])) == 0;
	ok = ok && vm_for_each_virtio_dev(vm, device_json, &w) == 0;
	ok = ok && json_object_set(doc, "vcpus", vcpus) == 0;
	ok = ok && json_object_set(doc, "devices", w.list) == 0;
	ok = ok && json_object_set_new(doc, "uart", uart_json(vm)) == 0;
	json_decref(vcpus);
	json_decref(w.list);
	return ok;
}

static json_t *counters_json(const char *k1, atomic_uint_fast64_t *v1, const char *k2,
			     atomic_uint_fast64_t *v2)
{
	json_t *o = json_object();

	if (o && put_int(o, k1, atomic_load(v1)) && put_int(o, k2, atomic_load(v2)))
		return o;
	json_decref(o);
	return NULL;
}

json_t *metrics_json(struct vm *vm)
{
	json_t *doc = json_object();
	bool ok = doc != NULL;

	ok = ok && put_int(doc, "utc_timestamp_ms", clock_ns(CLOCK_REALTIME) / 1000000u);
	ok = ok && put_int(doc, "uptime_ms", uptime_ms());
	ok = ok && (!vm || add_vm(doc, vm));
	ok = ok && json_object_set_new(
		       doc, "api",
		       counters_json("requests", &M.api_requests, "errors", &M.api_errors)) == 0;
	if (ok && atomic_load(&M.startup_us) != UINT64_MAX)
		ok = json_object_set_new(doc, "api_server",
					 counters_json("process_startup_time_us", &M.startup_us,
						       "process_startup_time_cpu_us",
						       &M.startup_cpu_us)) == 0;
	ok = ok && json_object_set_new(
		       doc, "metrics",
		       counters_json("flushes", &M.flushes, "flush_errors", &M.flush_errors)) == 0;
	if (!ok) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void metrics_set_startup(uint64_t us, uint64_t cpu_us)
{
	atomic_store(&M.startup_cpu_us, cpu_us);
	atomic_store(&M.startup_us, us == UINT64_MAX ? us - 1 : us);
}

json_t *metrics_snapshot(void)
{
	pthread_mutex_lock(&M.lock);
	json_t *doc = metrics_json(M.vm);
	pthread_mutex_unlock(&M.lock);
	return doc;
}

void metrics_attach_vm(struct vm *vm)
{
	uint64_t one = 1;
	pthread_mutex_lock(&M.lock);
	M.vm = vm;
	if (vm && M.thread_running && write(M.confine_fd, &one, sizeof(one)) < 0)
		log_debug("metrics: cannot ask the flush thread to confine itself");
	pthread_mutex_unlock(&M.lock);
}

/* ---- the sink ---- */

/* Waits for room in a full FIFO; false after `ms`. */
static bool wait_room(int fd, int ms)
{
	struct pollfd p = {fd, POLLOUT, 0};
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r == 1;
}

/* Writes the whole line. A FIFO that has no room for its start drops it whole (-EAGAIN); one
 * that filled up halfway gets FIFO_FINISH_MS to take the rest. */
static int write_line(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && done && wait_room(fd, FIFO_FINISH_MS))
			continue;
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* The document with the line fields (metrics_set_line_fields()) after its timestamp; takes
 * `doc`. M.lock held. */
static json_t *line_json(json_t *doc)
{
	if (!doc || (!M.line_id && !M.line_props))
		return doc;
	json_t *line = json_object();
	bool ok = line && !json_object_set(line, "utc_timestamp_ms",
					   json_object_get(doc, "utc_timestamp_ms"));
	ok = ok && (!M.line_id || !json_object_set_new(line, "id", json_string(M.line_id)));
	ok = ok && (!M.line_props || !json_object_set(line, "properties", M.line_props));
	ok = ok && !json_object_update(line, doc);
	json_decref(doc);
	if (!ok) {
		json_decref(line);
		return NULL;
	}
	return line;
}

int metrics_set_line_fields(const char *id, const json_t *properties)
{
	char *id_copy = id ? strdup(id) : NULL;
	json_t *props = properties ? json_deep_copy(properties) : NULL;
	int err = (id && !id_copy) || (properties && !json_is_object(props)) ? -ENOMEM : 0;

	pthread_mutex_lock(&M.lock);
	if (!err && M.fd >= 0)
		err = -EALREADY;
	if (!err) {
		free(M.line_id);
		json_decref(M.line_props);
		M.line_id = id_copy;
		M.line_props = props;
	}
	pthread_mutex_unlock(&M.lock);
	if (err) {
		free(id_copy);
		json_decref(props);
	}
	return err;
}

/* One line to the sink; M.lock held. */
static int flush_locked(void)
{
	if (M.fd < 0)
		return -ENOENT;
	json_t *doc = line_json(metrics_json(M.vm));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int err = -ENOMEM;

	json_decref(doc);
	if (text) {
		size_t len = strlen(text);

		text[len] = '\n'; /* replaces the NUL: the line is written by length */
		err = write_line(M.fd, text, len + 1);
		free(text);
	}
	atomic_fetch_add(err ? &M.flush_errors : &M.flushes, 1);
	return err;
}

int metrics_flush(void)
{
	pthread_mutex_lock(&M.lock);
	int err = flush_locked();
	pthread_mutex_unlock(&M.lock);
	return err;
}

/* The flush thread's calls (sandbox.h): wait on its timer and stop fd, write a line. */
static const struct sandbox_rule metrics_rules[] = {
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_write),
};
static const struct sandbox_list metrics_sandbox = SANDBOX_LIST("metrics", metrics_rules);

static void *flush_thread(void *arg)
{
	struct pollfd p[3] = {
	    {M.timer_fd, POLLIN, 0}, {M.stop_fd, POLLIN, 0}, {M.confine_fd, POLLIN, 0}};
	const struct sandbox_list *lists[] = {&metrics_sandbox};

	pthread_setname_np(pthread_self(), "metrics");
	if (arg && sandbox_enter("metrics", lists, 1)) /* created with a VM attached */
		return NULL;
	for (;;) {
		uint64_t expirations;

		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if ((p[2].revents & POLLIN) &&
		    read(M.confine_fd, &expirations, sizeof(expirations)) == sizeof(expirations) &&
		    sandbox_enter("metrics", lists, 1))
			break;
		if (!(p[0].revents & POLLIN) ||
		    read(M.timer_fd, &expirations, sizeof(expirations)) < 0)
			continue;
		int err = metrics_flush();
		if (err)
			log_debug("metrics: flush to %s: %s", M.path, strerror(-err));
	}
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Opens the sink as metrics_set_sink() describes, through host_path_open() (docs/security.md,
 * "Paths from outside"): write-only, a regular file (created if missing: M.created remembers
 * it, for metrics_discard()) or a FIFO that has a reader (left non-blocking: a full pipe drops
 * the line); never a device or a file of /proc. M.lock held. */
static int open_sink(const char *path, char *err, size_t errlen)
{
	const unsigned kinds = HOST_PATH_REGULAR | HOST_PATH_FIFO;
	struct stat st;
	bool created = false;
	/* on the opener (host/sandbox/opener.h): outside Landlock, where the user may write */
	int fd = sandbox_opener_open(path, O_WRONLY | O_APPEND, 0, kinds, err, errlen);

	if (fd == -ENOENT) {
		fd = sandbox_opener_open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0600, kinds,
					 err, errlen);
		created = fd >= 0;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	M.fd = fd;
	M.fifo = S_ISFIFO(st.st_mode);
	M.created = created;
	M.dev = st.st_dev;
	M.ino = st.st_ino;
	return 0;
}

/* The timer and the thread behind it; M.lock held. */
static int start_thread(unsigned period_ms)
{
	struct itimerspec its = {
	    .it_interval = {period_ms / 1000, (long)(period_ms % 1000) * 1000000},
	};
	int err;

	its.it_value = its.it_interval;
	M.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	M.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	M.confine_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (M.timer_fd < 0 || M.stop_fd < 0 || M.confine_fd < 0)
		return -errno;
	if (timerfd_settime(M.timer_fd, 0, &its, NULL) < 0)
		return -errno;
	err = pthread_create(&M.thread, NULL, flush_thread, M.vm ? (void *)1 : NULL);
	if (err)
		return -err;
	M.thread_running = true;
	return 0;
}

static void say(char *err, size_t errlen, const char *fmt, const char *path, int e)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, path, strerror(-e));
}

int metrics_set_sink(const char *path, unsigned period_ms, char *err, size_t errlen)
{
	int e;

	if (!path || !*path) {
		say(err, errlen, "metrics path is empty%s (%s)", "", -EINVAL);
		return -EINVAL;
	}
	pthread_mutex_lock(&M.lock);
	if (M.fd >= 0) {
		say(err, errlen, "metrics already go to %s (%s)", M.path, -EALREADY);
		pthread_mutex_unlock(&M.lock);
		return -EALREADY;
	}
	char why[HOST_PATH_ERR_MAX];
	e = open_sink(path, why, sizeof(why));
	if (e) {
		if (err && errlen)
			snprintf(err, errlen, "metrics file %s", why);
	} else {
		M.path = strdup(path);
		e = M.path ? start_thread(period_ms ? period_ms : METRICS_FLUSH_PERIOD_MS)
			   : -ENOMEM;
		if (e) {
			say(err, errlen, "cannot start flushing metrics to %s: %s", path, e);
			close_fd(&M.fd);
			close_fd(&M.timer_fd);
			close_fd(&M.stop_fd);
			close_fd(&M.confine_fd);
			free(M.path);
			M.path = NULL;
		}
	}
	pthread_mutex_unlock(&M.lock);
	return e;
}

void metrics_discard(void)
{
	struct stat st;

	pthread_mutex_lock(&M.lock);
	/* the name still the file we made (nobody replaced it meanwhile) */
	bool ours = M.fd >= 0 && M.created && M.path && stat(M.path, &st) == 0 &&
		    st.st_dev == M.dev && st.st_ino == M.ino;
	if (ours && unlink(M.path) < 0)
		log_debug("metrics: cannot remove %s: %s", M.path, strerror(errno));
	close_fd(&M.fd); /* so that metrics_shutdown() writes no last line */
	pthread_mutex_unlock(&M.lock);
	metrics_shutdown();
}

void metrics_shutdown(void)
{
	/* The thread takes M.lock to flush: stop and join it without holding the lock. */
	if (M.thread_running) {
		uint64_t one = 1;

		if (write(M.stop_fd, &one, sizeof(one)) < 0)
			log_debug("metrics: stop: %s", strerror(errno));
		pthread_join(M.thread, NULL);
		M.thread_running = false;
	}
	pthread_mutex_lock(&M.lock);
	if (M.fd >= 0)
		flush_locked();
	close_fd(&M.fd);
	close_fd(&M.timer_fd);
	close_fd(&M.stop_fd);
	close_fd(&M.confine_fd);
	free(M.path);
	M.path = NULL;
	free(M.line_id);
	M.line_id = NULL;
	json_decref(M.line_props);
	M.line_props = NULL;
	M.vm = NULL;
	pthread_mutex_unlock(&M.lock);
}
