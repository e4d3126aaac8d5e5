/* vhost_user_check: the vhost-user front-end (virtio/vhost_user) against real back-ends, with no
 * KVM: guest RAM is a memfd shared with the back-end, a split ring is laid out in it by the
 * mock driver (tests/mock_driver), and the test plays the guest driver. Kicks and calls are
 * eventfds the test owns (in the VMM they are the ioeventfd and the irqfd). */
#ifndef TESTS_VHOST_USER_VU_CHECK_H
#define TESTS_VHOST_USER_VU_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/vhost_user/vu_frontend.h"
#include "virtio/vhost_user/vu_frontend_test.h"

#define CHECK_RAM_GPA  0x100000ull
#define CHECK_RAM_SIZE (16ull << 20)
#define CHECK_QSIZE    64
#define CHECK_WAIT_MS  5000

/* One queue as the driver and the back-end share it. */
struct check_queue {
	struct mock_vq mv;
	int kick, call;
};

struct check_env {
	struct mock_ram ram; /* memfd-backed: ram.mem's region has fd and offset */
	int memfd;
	struct vu_frontend fe;
	struct check_queue q[2];
	int nq;
};

/* Prints "FAIL: ..." with the front-end's error when `err`, and exits 1. */
void check_ok(int err, const char *what, const struct vu_frontend *fe);
void check_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Memfd RAM, `nq` mock rings in it, and their eventfds. */
void check_env_init(struct check_env *env, int nq);
void check_env_free(struct check_env *env);
/* The driver's reset of queue i: a fresh, zeroed ring (what a guest does after
 * DEVICE_NEEDS_RESET). */
void check_queue_reset(struct check_env *env, int i);

/* Connect (retrying for up to CHECK_WAIT_MS while the back-end starts), SET_FEATURES with
 * `features` (only those offered), SET_MEM_TABLE, and every queue started. */
void check_setup(struct check_env *env, const char *socket, uint64_t features);

/* Publishes chain `bufs` on queue `qi`, kicks, waits for the call (at most CHECK_WAIT_MS) and
 * takes the used element; returns the bytes written, or -1 on timeout. */
int check_request(struct check_env *env, int qi, const struct mock_buf *bufs, int n);

/* ---- a whole device model (vu_check_dev.c) ---- */
struct virtio_dev;
/* virtio_dev_init() on the env's RAM, the call fds and health timer, the I/O thread. */
void check_dev_attach(struct check_env *env, struct virtio_dev *dev);
/* The driver's set-up: `features` (those offered), every env queue ready, DRIVER_OK. */
void check_dev_driver_start(struct check_env *env, struct virtio_dev *dev, uint64_t features);
/* Kicks queue q through the device's kick eventfd (the ioeventfd's). */
void check_dev_kick(struct virtio_dev *dev, int q);
/* Waits for queue q's next used element; 0 with its length, or -ETIMEDOUT. */
int check_dev_wait_used(struct check_env *env, int q, uint32_t *len);
/* Publishes a chain, kicks, waits: the bytes written, or -1 on timeout. */
int check_dev_request(struct check_env *env, struct virtio_dev *dev, int q,
		      const struct mock_buf *bufs, int n);
/* Interrupts the device raised for queue q so far. */
int check_dev_irqs(int q);
/* SIGKILLs the back-end, checks the device notices, runs `restart` and waits for the device to
 * reconnect by itself (no driver reset). */
void check_dev_restart_backend(struct virtio_dev *dev, pid_t pid, const char *restart);
/* The driver's reset, then the device destroyed. */
void check_dev_free(struct virtio_dev *dev);

int check_blk(int argc, char **argv);
int check_blkdev(int argc, char **argv);
int check_net(int argc, char **argv);
int check_fs(int argc, char **argv);

#endif
