/* The source side of a live migration under the API thread's real seccomp filter
 * (api_http_confine_here(): the "api" list and vm_migrate_send_sandbox,
 * vmm/migration/vm_migrate.h): in a forked child confined as the API thread is once the VM exists,
 * the connection is made (mig_url_connect(), as vm_migrate_start() does on the API thread) and the
 * sender runs on a thread created there, so it inherits the filter as the VMM's migration thread
 * does; a copying migration (also under a bandwidth cap, whose pacing sleeps) and a local (memfd
 * over SCM_RIGHTS) one must complete, not die of SIGSYS. The receiver runs unconfined in the parent
 * (the destination under its filter is covered by
 * tests/integration/migration/test_migration_faults.py). No KVM: the guest's dirty log is left out
 * (its KVM_GET_DIRTY_LOG is in the "api" list, as snapshot creation uses it there too). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/sandbox/sandbox.h"
#include "vmm/api/api_http.h"
#include "vmm/migration/stream/mig_recv.h"
#include "vmm/migration/stream/mig_send.h"
#include "vmm/migration/stream/mig_url.h"

#define RAM (4u << 20)

static char url[128];

/* ---- the child: the source VMM's API thread, confined ---- */

static int stop_vm(void *o, char *e, size_t l)
{
	(void)o, (void)e, (void)l;
	return 0;
}

static void resume_vm(void *o)
{
	(void)o;
}

static int save_state(void *o, struct snap_writer *w, char *e, size_t l)
{
	(void)o, (void)e, (void)l;
	return snap_put(w, 1, 0, "{\"cpus\":1}", 10);
}

static const struct mig_send_ops ops = {
    .stop_vm = stop_vm, .resume_vm = resume_vm, .save_state = save_state};

struct run {
	struct mig_sender s;
	struct mig_chan chan;
	int ret;
	char err[256];
};

static void *send_main(void *arg)
{
	struct run *r = arg;
	r->ret = mig_send(&r->s, r->err, sizeof(r->err));
	return NULL;
}

/* Exit 0: the destination committed; 1-9: which step failed (the reason on stderr). */
static void source(bool local, uint64_t cap)
{
	static struct run r;
	struct guest_mem mem;
	struct mig_url u;
	char err[256];
	pthread_t t;

	/* the VM's RAM exists before the API thread is confined, as in the VMM */
	if (guest_mem_alloc_shared(&mem, RAM))
		_exit(1);
	for (uint64_t p = 0; p < RAM / 4096; p += 5)
		guest_mem_write(&mem, p * 4096, &p, sizeof(p));
	if (sandbox_init(SANDBOX_ON) || api_http_confine_here())
		_exit(2);
	if (mig_url_parse(url, 0, &u, err, sizeof(err)))
		_exit(3);
	int fd = mig_url_connect(&u, 5000, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "connect: %s\n", err);
		_exit(4);
	}
	mig_sender_init(&r.s);
	mig_chan_init_fd(&r.chan, fd, &r.s.cancel);
	r.s.chan = &r.chan;
	r.s.mem = &mem;
	r.s.ops = &ops;
	r.s.params = (struct mig_send_params){
	    .local = local, .max_bandwidth = cap, .nvcpus = 1, .config = "{}", .config_len = 2};
	if (pthread_create(&t, NULL, send_main, &r))
		_exit(5);
	pthread_join(t, NULL);
	if (r.ret) {
		fprintf(stderr, "send: %s\n", r.err);
		_exit(6);
	}
	close(fd);
	_exit(0);
}

/* ---- the parent: the destination, unconfined ---- */

static struct guest_mem dst;

static int hello(void *o, const struct mig_hello *h, struct guest_mem **mem, char *e, size_t l)
{
	(void)o;
	*mem = NULL;
	if (h->flags & MIG_HELLO_LOCAL)
		return 0; /* the memfd follows */
	int fd = memfd_create("dst", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)h->ram_size))
		return -errno;
	int r = mig_local_map(&dst, fd, h, e, l);
	*mem = r ? NULL : &dst;
	return r;
}

static int memfd(void *o, int fd, const struct mig_hello *h, struct guest_mem **mem, char *e,
		 size_t l)
{
	(void)o;
	int r = mig_local_map(&dst, fd, h, e, l);
	*mem = r ? NULL : &dst;
	return r;
}

static const struct mig_recv_ops recv_ops = {.hello = hello, .memfd = memfd};

static void migrate(bool local, uint64_t cap)
{
	char err[256] = "", path[64];
	struct mig_url u;
	struct mig_receiver r = {.ops = &recv_ops};
	struct mig_chan c;

	snprintf(path, sizeof(path), "/tmp/mig-sandbox-%d.sock", getpid());
	snprintf(url, sizeof(url), "unix:%s", path);
	unlink(path);
	cr_assert_eq(mig_url_parse(url, 1, &u, err, sizeof(err)), 0, "%s", err);
	int l = mig_url_listen(&u, err, sizeof(err));
	cr_assert_geq(l, 0, "%s", err);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		source(local, cap);
	int fd = mig_url_accept_one(l, &u, 10000, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	mig_chan_init_fd(&c, fd, NULL);
	c.timeout_ms = 10000;
	r.chan = &c;
	int ret = mig_recv(&r, err, sizeof(err));
	if (!ret)
		ret = mig_recv_ready(&r, err, sizeof(err));
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(!WIFSIGNALED(status),
		  "the source died of signal %d (SIGSYS: a call its filter lacks)",
		  WTERMSIG(status));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the source failed at step %d",
		  WEXITSTATUS(status));
	cr_assert_eq(ret, 0, "%s", err);
	uint64_t v = 0;
	cr_assert_eq(guest_mem_read(&dst, 5 * 4096, &v, sizeof(v)), 0);
	cr_assert_eq(v, 5, "the pages arrived");
	guest_mem_free(&dst);
	mig_recv_free(&r);
	mig_chan_release(&c);
	close(fd);
}

TestSuite(mig_sandbox, .timeout = 60);

Test(mig_sandbox, a_copying_migration_runs_under_the_api_threads_filter)
{
	migrate(false, 0);
}

/* About 0.8 MiB of data pages at 4 MiB/s: the sender sleeps between frames. */
Test(mig_sandbox, a_capped_migration_paces_under_the_api_threads_filter)
{
	migrate(false, 4u << 20);
}

Test(mig_sandbox, a_local_migration_passes_its_memfd_under_the_api_threads_filter)
{
	migrate(true, 0);
}
