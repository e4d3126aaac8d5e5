/* vhost_user_check: see vu_check.h. Usage:
 *   vhost_user_check blk SOCKET FILE [BACKEND_PID RESTART_COMMAND]
 *   vhost_user_check blkdev SOCKET FILE [BACKEND_PID RESTART_COMMAND]
 *   vhost_user_check net SOCKET [BACKEND_PID RESTART_COMMAND]
 *   vhost_user_check fs SOCKET DIR NAME [BACKEND_PID RESTART_COMMAND]
 * Exit 0 when every check passed, 1 with a "FAIL:" line otherwise. */
#include "tests/vhost_user/vu_check.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void check_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	exit(1);
}

void check_ok(int err, const char *what, const struct vu_frontend *fe)
{
	if (err)
		check_fail("%s: %s (%s)", what, strerror(-err), fe->error);
}

void check_env_init(struct check_env *env, int nq)
{
	memset(env, 0, sizeof(*env));
	env->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (env->memfd < 0 || ftruncate(env->memfd, CHECK_RAM_SIZE) < 0)
		check_fail("memfd: %s", strerror(errno));
	void *host = mmap(NULL, CHECK_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, env->memfd, 0);
	if (host == MAP_FAILED)
		check_fail("mmap: %s", strerror(errno));
	env->ram.host = host;
	env->ram.gpa = CHECK_RAM_GPA;
	env->ram.size = CHECK_RAM_SIZE;
	if (guest_mem_add_shared_region(&env->ram.mem, CHECK_RAM_GPA, host, CHECK_RAM_SIZE,
					env->memfd, 0))
		check_fail("guest_mem_add_shared_region");
	env->nq = nq;
	for (int i = 0; i < nq; i++) {
		struct check_queue *q = &env->q[i];
		check_queue_reset(env, i);
		q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	vu_frontend_init(&env->fe);
}

void check_queue_reset(struct check_env *env, int i)
{
	struct check_queue *q = &env->q[i];
	if (q->mv.ram)
		mock_vq_free(&q->mv);
	/* each ring at the start of its own 4 MiB, its buffers from the heap up to the next one */
	if (mock_vq_init(&q->mv, &env->ram, CHECK_QSIZE, false,
			 CHECK_RAM_GPA + (uint64_t)i * (4u << 20)))
		check_fail("mock_vq_init");
	q->mv.heap_end = CHECK_RAM_GPA + (uint64_t)(i + 1) * (4u << 20);
}

void check_env_free(struct check_env *env)
{
	vu_frontend_close(&env->fe);
	for (int i = 0; i < env->nq; i++) {
		mock_vq_free(&env->q[i].mv);
		close(env->q[i].kick);
		close(env->q[i].call);
	}
	munmap(env->ram.host, CHECK_RAM_SIZE);
	close(env->memfd);
}

static void connect_retrying(struct check_env *env, const char *socket)
{
	int err = 0;
	for (int i = 0; i < CHECK_WAIT_MS / 50; i++) {
		err = vu_frontend_connect(&env->fe, socket, CHECK_WAIT_MS);
		if (err != -ENOENT && err != -ECONNREFUSED)
			break;
		usleep(50 * 1000);
	}
	check_ok(err, "connect", &env->fe);
}

void check_setup(struct check_env *env, const char *socket, uint64_t features)
{
	struct vu_mem_table t;

	connect_retrying(env, socket);
	printf("connected: features %#llx, protocol features %#llx, queues %u\n",
	       (unsigned long long)env->fe.features, (unsigned long long)env->fe.protocol_features,
	       env->fe.max_queues);
	check_ok(vu_frontend_set_features(&env->fe, features & env->fe.features), "SET_FEATURES",
		 &env->fe);
	check_ok(vu_mem_table_from_guest(&t, &env->ram.mem), "memory table", &env->fe);
	check_ok(vu_frontend_set_mem_table(&env->fe, &t), "SET_MEM_TABLE", &env->fe);
	for (int i = 0; i < env->nq; i++) {
		struct check_queue *q = &env->q[i];
		struct vu_vring_cfg v = {.ring = {.num = CHECK_QSIZE,
						  .desc = q->mv.desc,
						  .avail = q->mv.driver,
						  .used = q->mv.device},
					 .base = q->mv.avail_idx,
					 .kick_fd = q->kick,
					 .call_fd = q->call,
					 .err_fd = -1};
		check_ok(vu_frontend_start_vring(&env->fe, (unsigned)i, &v), "start ring",
			 &env->fe);
	}
}

int check_request(struct check_env *env, int qi, const struct mock_buf *bufs, int n)
{
	struct check_queue *q = &env->q[qi];
	uint64_t one = 1, v;
	uint32_t id, len;

	if (mock_split_add(&q->mv, bufs, n) < 0)
		check_fail("mock_split_add");
	if (write(q->kick, &one, 8) != 8)
		check_fail("kick: %s", strerror(errno));
	for (int waited = 0; waited < CHECK_WAIT_MS; waited += 10) {
		if (mock_split_get_used(&q->mv, &id, &len))
			return (int)len;
		struct pollfd p = {.fd = q->call, .events = POLLIN};
		if (poll(&p, 1, 10) > 0 && read(q->call, &v, 8) < 0)
			check_fail("call: %s", strerror(errno));
	}
	return -1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "blk"))
		return check_blk(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "blkdev"))
		return check_blkdev(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "net"))
		return check_net(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "fs"))
		return check_fs(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: vhost_user_check blk SOCKET FILE [BACKEND_PID RESTART_COMMAND]\n"
		"       vhost_user_check blkdev SOCKET FILE [BACKEND_PID RESTART_COMMAND]\n"
		"       vhost_user_check net SOCKET [BACKEND_PID RESTART_COMMAND]\n"
		"       vhost_user_check fs SOCKET DIR NAME [BACKEND_PID RESTART_COMMAND]\n");
	return 2;
}
