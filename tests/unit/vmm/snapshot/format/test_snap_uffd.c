/* Guest RAM served by a page-fault handler (vmm/snapshot/format/snap_uffd.h), without KVM: two RAM
 * regions registered with a userfaultfd and handed over a socket to the example handler
 * (tools/uffd-handler) or to a misbehaving one played by a thread here; a test thread touches
 * the pages. Every test that could block has a deadline: a hang is a failure, never a stuck run.
 * Skipped where this host gives no userfaultfd. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "vmm/snapshot/format/snap_uffd.h"
#include "vmm/snapshot/format/snap_uffd_test.h"

#define PG	 4096u
#define A_PAGES	 16u
#define B_PAGES	 8u
#define RAM_SIZE ((A_PAGES + B_PAGES) * PG)

extern char **environ;

static char dir[64], sock_path[96], mem_path[96];
static char err[320];
static uint8_t *ram_a, *ram_b, file_bytes[RAM_SIZE];
static struct guest_mem mem;
static struct snap_uffd u;
static pid_t handler = -1;

/* userfaultfd works here: the call, or /dev/userfaultfd (as snap_uffd_register() tries). */
static bool uffd_works(char *why, size_t len)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	int e = errno;
	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		fd = dev >= 0 ? ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC) : -1;
		if (dev >= 0)
			close(dev);
	}
	if (fd < 0) {
		snprintf(why, len, "no userfaultfd here (the call: %s; /dev/userfaultfd: %s)",
			 strerror(e), strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

#define NEED_UFFD()                                                                                \
	do {                                                                                       \
		char why_[160];                                                                    \
		if (!uffd_works(why_, sizeof(why_)))                                               \
			cr_skip_test("%s", why_);                                                  \
	} while (0)

/* The memory file: page p holds a pattern of p, except every fifth page, which is a hole. */
static void make_file(void)
{
	for (unsigned p = 0; p < RAM_SIZE / PG; p++)
		for (unsigned i = 0; i < PG; i++)
			file_bytes[p * PG + i] = p % 5 == 4 ? 0 : (uint8_t)(p * 31 + i * 7 + 1);
	int fd = open(mem_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, file_bytes, RAM_SIZE), (ssize_t)RAM_SIZE);
	close(fd);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_snap_uffd.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/uffd.sock", dir);
	snprintf(mem_path, sizeof(mem_path), "%s/memory", dir);
	make_file();
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	ram_a = mmap(NULL, A_PAGES * PG, PROT_READ | PROT_WRITE, flags, -1, 0);
	ram_b = mmap(NULL, B_PAGES * PG, PROT_READ | PROT_WRITE, flags, -1, 0);
	cr_assert(ram_a != MAP_FAILED && ram_b != MAP_FAILED);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram_a, A_PAGES * PG), 0);
	cr_assert_eq(guest_mem_add_region(&mem, 0x100000, ram_b, B_PAGES * PG), 0);
	snap_uffd_init(&u);
	handler = -1;
}

static void teardown(void)
{
	char cmd[128];
	if (handler > 0) {
		kill(handler, SIGKILL);
		waitpid(handler, NULL, 0);
	}
	snap_uffd_release(&u); /* nothing of this test may stay blocked */
	munmap(ram_a, A_PAGES * PG);
	munmap(ram_b, B_PAGES * PG);
	snap_uffd_close(&u);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		cr_log_warn("could not remove %s", dir);
}

TestSuite(snap_uffd, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(uffd_mappings, .init = setup, .fini = teardown);

/* ---- the pieces that need no handler ---- */

Test(snap_uffd, mappings_are_firecrackers_json)
{
	char buf[512], want[512];
	cr_assert_gt(snap_uffd_mappings(&mem, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want),
		 "[{\"base_host_virt_addr\":%llu,\"size\":%u,\"offset\":0,\"page_size\":4096,"
		 "\"page_size_kib\":4096},{\"base_host_virt_addr\":%llu,\"size\":%u,\"offset\":%u,"
		 "\"page_size\":4096,\"page_size_kib\":4096}]",
		 (unsigned long long)(uintptr_t)ram_a, A_PAGES * PG,
		 (unsigned long long)(uintptr_t)ram_b, B_PAGES * PG, A_PAGES * PG);
	cr_assert_str_eq(buf, want);
	cr_assert_eq(snap_uffd_mappings(&mem, buf, 40), -ENOSPC);
}

Test(snap_uffd, backend_path_is_checked)
{
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	cr_assert_eq(snap_uffd_check_path(longp, err, sizeof(err)), -ENAMETOOLONG);
	cr_assert_eq(snap_uffd_check_path("", err, sizeof(err)), -ENAMETOOLONG);
	cr_assert_eq(snap_uffd_check_path(sock_path, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no page-fault handler socket at"), "%s", err);
	cr_assert_eq(snap_uffd_check_path(mem_path, err, sizeof(err)), -ENOTSOCK);
	cr_assert(strstr(err, "is not a Unix socket"), "%s", err);
}

/* A socket file nobody listens on (bound, never listening). */
static int dead_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

Test(snap_uffd, handoff_errors_are_clear)
{
	NEED_UFFD();
	cr_assert_eq(snap_uffd_register(&u, &mem, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_uffd_handoff(&u, &mem, sock_path, err, sizeof(err)), -ENOENT);
	int s = dead_socket();
	cr_assert_eq(snap_uffd_handoff(&u, &mem, sock_path, err, sizeof(err)), -ECONNREFUSED);
	cr_assert(strstr(err, "refused the connection"), "%s", err);
	close(s);
	cr_assert_eq(u.sock, -1);
}

/* ---- the example handler ---- */

static void start_handler(const char *mode)
{
	char *argv[] = {UFFD_HANDLER, (char *)mode, "--timeout", "20",
			"--quiet",    sock_path,    mem_path,	 NULL};
	struct stat st;
	cr_assert_eq(posix_spawn(&handler, UFFD_HANDLER, NULL, NULL, argv, environ), 0);
	for (int i = 0; i < 500 && (stat(sock_path, &st) || !S_ISSOCK(st.st_mode)); i++)
		usleep(10000);
	cr_assert(S_ISSOCK(st.st_mode), "the handler made no socket");
}

struct watch_run {
	struct snap_uffd_watch w;
	pthread_t thread;
	char why[256];
	int failures;
	bool stopping;
};

static bool run_stopping(void *opaque)
{
	return __atomic_load_n(&((struct watch_run *)opaque)->stopping, __ATOMIC_ACQUIRE);
}

static void run_failed(void *opaque, const char *why)
{
	struct watch_run *r = opaque;
	snprintf(r->why, sizeof(r->why), "%s", why);
	r->failures++;
}

static void *watch_thread(void *arg)
{
	snap_uffd_watch_run(&((struct watch_run *)arg)->w);
	return NULL;
}

static void start_watch(struct watch_run *r, unsigned stall_ms, unsigned grace_ms)
{
	memset(r, 0, sizeof(*r));
	r->w = (struct snap_uffd_watch){
	    &u, eventfd(0, EFD_CLOEXEC), stall_ms, grace_ms, 20, run_stopping, run_failed, r};
	cr_assert_eq(pthread_create(&r->thread, NULL, watch_thread, r), 0);
}

static void stop_watch(struct watch_run *r)
{
	uint64_t one = 1;
	cr_assert_eq(write(r->w.stop_fd, &one, sizeof(one)), 8);
	pthread_join(r->thread, NULL);
	close(r->w.stop_fd);
}

static void hand_over(void)
{
	cr_assert_eq(snap_uffd_register(&u, &mem, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_uffd_handoff(&u, &mem, sock_path, err, sizeof(err)), 0, "%s", err);
}

/* What the touching thread saw. */
struct touch {
	pthread_t thread;
	uint64_t gpa, len;
	uint8_t *copy;
	bool done;
};

static void *touch_thread(void *arg)
{
	struct touch *t = arg;
	guest_mem_read(&mem, t->gpa, t->copy, t->len);
	__atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Reads [gpa, gpa+len) from another thread (as a vCPU or a device would); false when it did
 * not finish within `ms`. */
static bool touch(uint64_t gpa, uint64_t len, uint8_t *copy, unsigned ms)
{
	struct touch t = {.gpa = gpa, .len = len, .copy = copy};
	struct timespec end;
	cr_assert_eq(pthread_create(&t.thread, NULL, touch_thread, &t), 0);
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(t.thread, NULL, &end)) {
		snap_uffd_release(&u); /* let it go, then fail */
		pthread_join(t.thread, NULL);
		return false;
	}
	return true;
}

static void check_served(void)
{
	static uint8_t got[RAM_SIZE];
	cr_assert(touch(0, A_PAGES * PG, got, 10000), "region A was never served");
	cr_assert(touch(0x100000, B_PAGES * PG, got + A_PAGES * PG, 10000),
		  "region B was never served");
	cr_assert_eq(memcmp(got, file_bytes, RAM_SIZE), 0, "the pages are not the file's");
}

static void served_by_the_example_handler(const char *mode)
{
	struct watch_run r;
	NEED_UFFD();
	start_handler(mode);
	hand_over();
	start_watch(&r, 5000, 1000);
	check_served();
	/* the VMM's own writes stay (the pages are present now) */
	cr_assert_eq(guest_mem_write(&mem, 5 * PG, "abc", 3), 0);
	cr_assert_eq(memcmp(ram_a + 5 * PG, "abc", 3), 0);
	/* a page the balloon gives back reads as zeros from then on, not as the file */
	cr_assert_eq(guest_mem_discard(&mem, 0x100000 + 2 * PG, PG), (int64_t)PG);
	uint8_t page[PG], zeros[PG] = {0};
	cr_assert(touch(0x100000 + 2 * PG, PG, page, 10000));
	cr_assert_eq(memcmp(page, zeros, PG), 0, "a removed page came back from the file");
	cr_assert_eq(r.failures, 0, "%s", r.why);
	stop_watch(&r);
	/* the VMM going away ends the handler, with status 0 */
	snap_uffd_close(&u);
	int status = -1;
	cr_assert_eq(waitpid(handler, &status, 0), handler);
	handler = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

Test(snap_uffd, the_example_handler_serves_every_page_lazily)
{
	served_by_the_example_handler("--timeout=20");
}

Test(snap_uffd, the_example_handler_serves_every_page_eagerly)
{
	served_by_the_example_handler("--eager");
}

Test(snap_uffd, a_handler_that_dies_ends_the_vm_and_frees_the_waiters)
{
	struct watch_run r;
	uint8_t page[PG];
	NEED_UFFD();
	start_handler("--timeout=20");
	hand_over();
	start_watch(&r, 5000, 1000);
	kill(handler, SIGKILL);
	waitpid(handler, NULL, 0);
	handler = -1;
	cr_assert(touch(3 * PG, PG, page, 10000), "a thread stayed blocked on a page");
	cr_assert_eq(r.failures, 1);
	cr_assert(strstr(r.why, "exited"), "%s", r.why);
	cr_assert(snap_uffd_failed(&u, err, sizeof(err)));
	stop_watch(&r);
}

/* ---- handlers played by a thread here ---- */

enum fake_kind { FAKE_GARBAGE, FAKE_SILENT, FAKE_READS_ONLY, FAKE_HANGS_UP_AND_SERVES };

struct fake {
	enum fake_kind kind;
	int listener, conn, uffd;
	volatile bool stop;
	pthread_t thread;
};

static int fake_receive(struct fake *f)
{
	char buf[1024];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	msg.msg_control = ctl.b;
	msg.msg_controllen = sizeof(ctl.b);
	f->conn = accept4(f->listener, NULL, NULL, SOCK_CLOEXEC);
	if (f->conn < 0 || recvmsg(f->conn, &msg, 0) <= 0 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&f->uffd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return 0;
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	if (fake_receive(f))
		return NULL;
	if (f->kind == FAKE_GARBAGE && write(f->conn, "{\"ok\":1}", 8) != 8)
		return NULL;
	if (f->kind == FAKE_HANGS_UP_AND_SERVES) {
		close(f->conn); /* Firecracker never looks at the connection again */
		f->conn = -1;
	}
	while (!f->stop) {
		struct uffd_msg m;
		/* reads each fault and never answers it, or answers it with a zero page */
		bool got = f->kind >= FAKE_READS_ONLY && read(f->uffd, &m, sizeof(m)) == sizeof(m);
		if (got && f->kind == FAKE_HANGS_UP_AND_SERVES && m.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_zeropage z = {
			    .range = {m.arg.pagefault.address & ~(uint64_t)(PG - 1), PG}};
			if (ioctl(f->uffd, UFFDIO_ZEROPAGE, &z))
				cr_log_error("UFFDIO_ZEROPAGE: %s", strerror(errno));
		}
		if (!got)
			usleep(5000);
	}
	return NULL;
}

static void start_fake(struct fake *f, enum fake_kind kind)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	*f = (struct fake){.kind = kind, .conn = -1, .uffd = -1};
	f->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(f->listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->listener, 1), 0);
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

static void stop_fake(struct fake *f)
{
	f->stop = true;
	pthread_join(f->thread, NULL);
	close(f->listener);
	if (f->conn >= 0)
		close(f->conn);
	if (f->uffd >= 0)
		close(f->uffd);
}

Test(snap_uffd, a_handler_that_talks_back_is_a_protocol_error)
{
	struct watch_run r;
	struct fake f;
	uint8_t page[PG];
	NEED_UFFD();
	start_fake(&f, FAKE_GARBAGE);
	hand_over();
	start_watch(&r, 5000, 1000);
	cr_assert(touch(0, PG, page, 10000), "a thread stayed blocked on a page");
	cr_assert_eq(r.failures, 1);
	cr_assert(strstr(r.why, "unexpected byte"), "%s", r.why);
	stop_watch(&r);
	stop_fake(&f);
}

Test(snap_uffd, a_handler_that_never_reads_is_found_out)
{
	struct watch_run r;
	struct fake f;
	uint8_t page[PG];
	NEED_UFFD();
	start_fake(&f, FAKE_SILENT);
	hand_over();
	start_watch(&r, 300, 1000);
	cr_assert(touch(7 * PG, PG, page, 10000), "a thread stayed blocked on a page");
	cr_assert_eq(r.failures, 1);
	cr_assert(strstr(r.why, "has read no page fault for 300 ms"), "%s", r.why);
	stop_watch(&r);
	stop_fake(&f);
}

Test(snap_uffd, a_restore_past_its_deadline_fails)
{
	struct watch_run r;
	struct fake f;
	uint8_t page[PG];
	NEED_UFFD();
	start_fake(&f, FAKE_READS_ONLY);
	hand_over();
	snap_uffd_set_deadline(&u, 300);
	start_watch(&r, 5000, 1000);
	cr_assert(touch(0x100000, PG, page, 10000), "a thread stayed blocked on a page");
	cr_assert_eq(r.failures, 1);
	cr_assert(strstr(r.why, "not restored in time"), "%s", r.why);
	stop_watch(&r);
	stop_fake(&f);
}

Test(snap_uffd, a_stopping_vm_is_not_held_by_a_stuck_handler)
{
	struct watch_run r;
	struct fake f;
	uint8_t page[PG];
	NEED_UFFD();
	start_fake(&f, FAKE_READS_ONLY);
	hand_over();
	start_watch(&r, 5000, 200);
	__atomic_store_n(&r.stopping, true, __ATOMIC_RELEASE);
	cr_assert(touch(PG, PG, page, 10000), "a thread stayed blocked on a page");
	cr_assert_eq(r.failures, 0, "a stop is not the handler's failure");
	cr_assert_not(snap_uffd_failed(&u, NULL, 0));
	stop_watch(&r);
	stop_fake(&f);
}

/* ---- the handler's parser of the VMM's message (tools/uffd-handler/uffd_mappings.h) ---- */

#include "tools/uffd-handler/uffd_mappings.h"

static int parse(const char *text, uint64_t file_size, int *n)
{
	struct uffd_mapping maps[UFFD_MAX_REGIONS];
	return uffd_mappings_parse(text, strlen(text), file_size, maps, n, err, sizeof(err));
}

Test(uffd_mappings, takes_what_the_vmm_sends)
{
	char buf[512];
	struct uffd_mapping maps[UFFD_MAX_REGIONS];
	int n, len = snap_uffd_mappings(&mem, buf, sizeof(buf));
	cr_assert_eq(uffd_mappings_parse(buf, (size_t)len, RAM_SIZE, maps, &n, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_eq(maps[1].base, (uint64_t)(uintptr_t)ram_b);
	cr_assert_eq(maps[1].offset, A_PAGES * PG);
	cr_assert_eq(uffd_mappings_find(maps, n, (uint64_t)(uintptr_t)ram_b + 5), 1);
	/* (region A may be mapped right after B) */
	cr_assert_neq(uffd_mappings_find(maps, n, (uint64_t)(uintptr_t)ram_b + B_PAGES * PG), 1);
	/* a file too short for the regions */
	cr_assert_eq(
	    uffd_mappings_parse(buf, (size_t)len, RAM_SIZE - PG, maps, &n, err, sizeof(err)),
	    -EINVAL);
	cr_assert(strstr(err, "past the end of the memory file"), "%s", err);
}

Test(uffd_mappings, refuses_what_it_cannot_serve)
{
	int n;
	cr_assert_eq(parse("", 1 << 20, &n), -EINVAL);
	cr_assert_eq(parse("[]", 1 << 20, &n), -EINVAL);
	cr_assert_eq(parse("{}", 1 << 20, &n), -EINVAL);
	cr_assert_eq(parse("[1]", 1 << 20, &n), -EINVAL);
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":4096}]", 1 << 20, &n), -EINVAL);
	cr_assert_eq(
	    parse("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":-4096}]", 1 << 20, &n),
	    -EINVAL);
	cr_assert_eq(
	    parse("[{\"base_host_virt_addr\":4097,\"size\":4096,\"offset\":0}]", 1 << 20, &n),
	    -EINVAL);
	cr_assert(strstr(err, "whole pages"), "%s", err);
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,"
			   "\"page_size\":2097152}]",
			   1 << 20, &n),
		     -EINVAL);
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,"
			   "\"gpa\":0}]",
			   1 << 20, &n),
		     -EINVAL);
	cr_assert(strstr(err, "unknown field"), "%s", err);
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":0},"
			   "{\"base_host_virt_addr\":8192,\"size\":4096,\"offset\":8192}]",
			   1 << 20, &n),
		     -EINVAL);
	cr_assert(strstr(err, "overlaps"), "%s", err);
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":9223372036854771712,"
			   "\"offset\":4096}]",
			   1 << 20, &n),
		     -EINVAL);
	cr_assert(strstr(err, "past the end"), "%s", err);
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":4096,"
			   "\"page_size_kib\":4096}]",
			   8192, &n),
		     0, "%s", err);
	cr_assert_eq(n, 1);
}

Test(snap_uffd, a_handler_may_hang_up_and_go_on_serving)
{
	struct watch_run r;
	struct fake f;
	uint8_t page[PG], zeros[PG] = {0};
	NEED_UFFD();
	start_fake(&f, FAKE_HANGS_UP_AND_SERVES);
	hand_over();
	start_watch(&r, 5000, 1000);
	cr_assert(touch(9 * PG, PG, page, 10000), "the page was never served");
	usleep(200000); /* several looks after the hang-up */
	cr_assert(touch(0x100000 + PG, PG, page, 10000), "the page was never served");
	cr_assert_eq(memcmp(page, zeros, PG), 0);
	cr_assert_eq(r.failures, 0, "%s", r.why);
	stop_watch(&r);
	stop_fake(&f);
}
