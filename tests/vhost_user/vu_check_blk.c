/* vhost_user_check blk: qemu-storage-daemon's vhost-user-blk export over a raw file. Writes a
 * sector, reads it back, flushes, finds the bytes in the file, reads the capacity with
 * GET_CONFIG, stops the ring (GET_VRING_BASE = requests made). With a back-end pid and a restart
 * command: kills the back-end, checks that the front-end reports it within a bounded time and
 * nothing hangs, runs the command, reconnects on the same front-end and does the I/O again. */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/vhost_user/vu_check.h"
#include "virtio/vhost_user/vu_frontend_test.h"

#define SECTOR 512

/* One request: header, optional data (device-readable for OUT, writable for IN), status. */
static int blk_request(struct check_env *env, uint32_t type, uint64_t sector, void *data,
		       uint32_t len, uint8_t *status)
{
	struct mock_vq *mv = &env->q[0].mv;
	struct virtio_blk_outhdr h = {.type = type, .sector = sector};
	struct mock_buf b[3];
	int n = 0;

	b[n++] = (struct mock_buf){mock_fill(mv, &h, sizeof(h)), sizeof(h), false};
	uint64_t data_gpa = 0;
	if (len) {
		data_gpa =
		    type == VIRTIO_BLK_T_OUT ? mock_fill(mv, data, len) : mock_alloc(mv, len);
		b[n++] = (struct mock_buf){data_gpa, len, type != VIRTIO_BLK_T_OUT};
	}
	uint64_t st = mock_alloc(mv, 1);
	b[n++] = (struct mock_buf){st, 1, true};
	int written = check_request(env, 0, b, n);
	if (written < 0)
		return -ETIMEDOUT;
	guest_mem_read(&env->ram.mem, st, status, 1);
	if (type == VIRTIO_BLK_T_IN && len)
		guest_mem_read(&env->ram.mem, data_gpa, data, len);
	return written;
}

static void io_round(struct check_env *env, const char *file, uint64_t sector, uint8_t seed)
{
	uint8_t out[SECTOR], in[SECTOR], disk[SECTOR], status = 0xff;

	for (int i = 0; i < SECTOR; i++)
		out[i] = (uint8_t)(seed + i * 7);
	if (blk_request(env, VIRTIO_BLK_T_OUT, sector, out, SECTOR, &status) < 0 || status)
		check_fail("write of sector %llu: status %u", (unsigned long long)sector, status);
	status = 0xff;
	memset(in, 0, sizeof(in));
	int got = blk_request(env, VIRTIO_BLK_T_IN, sector, in, SECTOR, &status);
	if (got != SECTOR + 1 || status || memcmp(in, out, SECTOR))
		check_fail("read back: %d bytes, status %u, %s", got, status,
			   memcmp(in, out, SECTOR) ? "other bytes" : "same bytes");
	status = 0xff;
	if (blk_request(env, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &status) < 0 || status)
		check_fail("flush: status %u", status);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, disk, SECTOR, (off_t)(sector * SECTOR)) != SECTOR)
		check_fail("%s: %s", file, strerror(errno));
	close(fd);
	if (memcmp(disk, out, SECTOR))
		check_fail("the file does not hold the sector written");
	printf("ok: sector %llu written, read back, flushed, found in %s\n",
	       (unsigned long long)sector, file);
}

static void capacity(struct check_env *env, const char *file)
{
	uint64_t cap = 0;
	check_ok(vu_frontend_get_config(&env->fe, 0, &cap, sizeof(cap)), "GET_CONFIG", &env->fe);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	off_t size = lseek(fd, 0, SEEK_END);
	close(fd);
	if (cap * SECTOR != (uint64_t)size)
		check_fail("capacity %llu sectors, the file has %lld bytes",
			   (unsigned long long)cap, (long long)size);
	printf("ok: GET_CONFIG capacity %llu sectors\n", (unsigned long long)cap);
}

static const uint64_t FEATURES = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH);

static long long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The back-end dies: seen by the poll of the socket, then by a request; an I/O in flight just
 * never completes (the guest's driver times out; the device reports DEVICE_NEEDS_RESET). */
static void kill_backend(struct check_env *env, pid_t pid)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (kill(pid, SIGKILL) < 0)
		check_fail("kill %d: %s", pid, strerror(errno));
	while (vu_frontend_alive(&env->fe)) {
		if (ms_since(&t0) > CHECK_WAIT_MS)
			check_fail("back-end killed, the connection still looks alive");
		struct pollfd p = {.fd = vu_frontend_fd(&env->fe), .events = POLLRDHUP};
		poll(&p, 1, 100);
	}
	printf("ok: back-end death seen after %lld ms\n", ms_since(&t0));
	uint16_t base;
	int err = vu_frontend_stop_vring(&env->fe, 0, &base);
	if (err == 0)
		check_fail("GET_VRING_BASE succeeded on a dead back-end");
	printf("ok: request on the dead back-end: %s\n", env->fe.error);
	uint8_t status;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint8_t buf[SECTOR];
	if (blk_request(env, VIRTIO_BLK_T_IN, 0, buf, SECTOR, &status) != -ETIMEDOUT)
		check_fail("a request completed without a back-end");
	printf("ok: I/O without a back-end does not complete (waited %lld ms)\n", ms_since(&t0));
}

/* A fresh back-end on the same socket: the same front-end reconnects and sets up again. */
static void reconnect(struct check_env *env, const char *socket, const char *restart)
{
	vu_frontend_close(&env->fe);
	if (system(restart) != 0)
		check_fail("restart command failed: %s", restart);
	/* the request that never completed: the guest's driver resets the device and sets its
	 * queues up afresh */
	check_queue_reset(env, 0);
	check_setup(env, socket, FEATURES);
	printf("ok: reconnected\n");
}

int check_blk(int argc, char **argv)
{
	struct check_env env;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: vhost_user_check blk SOCKET FILE [PID RESTART]\n");
		return 2;
	}
	check_env_init(&env, 1);
	check_setup(&env, argv[0], FEATURES);
	capacity(&env, argv[1]);
	io_round(&env, argv[1], 1, 0x11);
	io_round(&env, argv[1], 7, 0x77);
	uint16_t base = 0;
	check_ok(vu_frontend_stop_vring(&env.fe, 0, &base), "GET_VRING_BASE", &env.fe);
	if (base != env.q[0].mv.avail_idx)
		check_fail("GET_VRING_BASE %u, the driver made %u requests", base,
			   env.q[0].mv.avail_idx);
	printf("ok: ring stopped at base %u\n", base);
	if (argc == 4) {
		struct vu_vring_cfg v = {.ring = {.num = CHECK_QSIZE,
						  .desc = env.q[0].mv.desc,
						  .avail = env.q[0].mv.driver,
						  .used = env.q[0].mv.device},
					 .base = base,
					 .kick_fd = env.q[0].kick,
					 .call_fd = env.q[0].call,
					 .err_fd = -1};
		check_ok(vu_frontend_start_vring(&env.fe, 0, &v), "restart ring", &env.fe);
		kill_backend(&env, (pid_t)atoi(argv[2]));
		reconnect(&env, argv[0], argv[3]);
		io_round(&env, argv[1], 3, 0x33);
	}
	check_ok(vu_frontend_reset(&env.fe), "reset", &env.fe);
	check_env_free(&env);
	printf("PASS\n");
	return 0;
}
