/* vhost_user_check's driver of a whole vhost-user device model (virtio/vhost_user/vu_device.h:
 * vu_blk, vu_net) rather than of the bare front-end: the test plays the transport and the guest
 * driver through the virtio_dev_* calls a transport makes, kicks through the device's own kick
 * eventfds (what the ioeventfd would signal) and counts the interrupts the device's I/O thread
 * raises from the back-end's calls. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/vhost_user/vu_check.h"
#include "virtio/vhost_user/vu_device.h"

static _Atomic int irq_count[VIRTIO_DEV_MAX_QUEUES];

static void raise_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q < VIRTIO_DEV_MAX_QUEUES)
		irq_count[q]++;
}

int check_dev_irqs(int q)
{
	return irq_count[q];
}

void check_dev_attach(struct check_env *env, struct virtio_dev *dev)
{
	if (virtio_dev_init(dev, &env->ram.mem) || vu_device_attach(dev))
		check_fail("device init");
	dev->irq = (struct virtio_irq){raise_irq, NULL};
	if (virtio_dev_start(dev))
		check_fail("device start");
}

void check_dev_driver_start(struct check_env *env, struct virtio_dev *dev, uint64_t features)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	features &= dev->host_features;
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	for (int q = 0; q < env->nq; q++) {
		struct virtqueue *vq = &dev->vqs[q];
		vq->num = CHECK_QSIZE;
		vq->desc_addr = env->q[q].mv.desc;
		vq->driver_addr = env->q[q].mv.driver;
		vq->device_addr = env->q[q].mv.device;
		virtio_dev_set_queue_ready(dev, (uint16_t)q, true);
	}
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	uint8_t status = dev->status;
	pthread_mutex_unlock(&dev->lock);
	if (!(status & VIRTIO_CONFIG_S_DRIVER_OK) || (status & VIRTIO_CONFIG_S_NEEDS_RESET))
		check_fail("DRIVER_OK: status %#x (%s)", status, vu_device_of(dev)->fe.error);
	printf("ok: DRIVER_OK, features %#llx handed over with %d rings\n",
	       (unsigned long long)dev->driver_features, env->nq);
}

void check_dev_kick(struct virtio_dev *dev, int q)
{
	uint64_t one = 1;
	if (write(dev->kick_fd[q], &one, 8) != 8)
		check_fail("kick: %s", strerror(errno));
}

int check_dev_wait_used(struct check_env *env, int q, uint32_t *len)
{
	uint32_t id;
	for (int waited = 0; waited < CHECK_WAIT_MS; waited += 5) {
		if (mock_split_get_used(&env->q[q].mv, &id, len))
			return 0;
		usleep(5000);
	}
	return -ETIMEDOUT;
}

int check_dev_request(struct check_env *env, struct virtio_dev *dev, int q,
		      const struct mock_buf *bufs, int n)
{
	uint32_t len;
	if (mock_split_add(&env->q[q].mv, bufs, n) < 0)
		check_fail("mock_split_add");
	check_dev_kick(dev, q);
	return check_dev_wait_used(env, q, &len) ? -1 : (int)len;
}

static long long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The device's own state, read under its lock. */
static bool backend_up(struct virtio_dev *dev, uint8_t *status)
{
	struct vu_device *vd = vu_device_of(dev);
	pthread_mutex_lock(&dev->lock);
	bool up = vd->down_since_ms < 0 && vu_frontend_alive(&vd->fe);
	*status = dev->status;
	pthread_mutex_unlock(&dev->lock);
	return up;
}

void check_dev_restart_backend(struct virtio_dev *dev, pid_t pid, const char *restart)
{
	struct timespec t0;
	uint8_t status;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (kill(pid, SIGKILL) < 0)
		check_fail("kill %d: %s", pid, strerror(errno));
	while (backend_up(dev, &status)) {
		if (ms_since(&t0) > 3000)
			check_fail("back-end killed, the device has not noticed in 3 s");
		usleep(20000);
	}
	printf("ok: the device saw its back-end die after %lld ms\n", ms_since(&t0));
	if (system(restart) != 0)
		check_fail("restart command failed: %s", restart);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!backend_up(dev, &status)) {
		if (status & VIRTIO_CONFIG_S_NEEDS_RESET)
			check_fail("the device needs a reset instead of reconnecting");
		if (ms_since(&t0) > (VU_DEVICE_GRACE_S - 1) * 1000)
			check_fail("no reconnect within %d s", VU_DEVICE_GRACE_S - 1);
		usleep(20000);
	}
	printf("ok: reconnected by the device itself after %lld ms, status %#x\n", ms_since(&t0),
	       status);
}

void check_dev_free(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0); /* the driver's reset: GET_VRING_BASE, RESET_DEVICE */
	pthread_mutex_unlock(&dev->lock);
	virtio_dev_destroy(dev);
	free(dev);
}
