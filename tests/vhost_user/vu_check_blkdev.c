/* vhost_user_check blkdev: qemu-storage-daemon's vhost-user-blk export through the VMM's
 * vhost-user-blk device model (virtio/vhost_user/vu_blk.c), not only the bare front-end: the
 * config space the guest would read (capacity from GET_CONFIG, equal to the file's size), the
 * features the device offers, DRIVER_OK handing the ring over, sectors written, read back,
 * flushed and found in the file, interrupts raised by the device's I/O thread from the
 * daemon's calls. With a back-end pid and a restart command: the daemon SIGKILLed with the ring
 * drained, the device notices and reconnects to the restarted daemon by itself (no driver
 * reset), and I/O works again on the resumed ring. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/vhost_user/vu_check.h"
#include "virtio/vhost_user/vu_blk.h"

#define SECTOR 512

static int blk_io(struct check_env *env, struct virtio_dev *dev, uint32_t type, uint64_t sector,
		  void *data, uint32_t len, uint8_t *status)
{
	struct mock_vq *mv = &env->q[0].mv;
	struct virtio_blk_outhdr h = {.type = htole32(type), .sector = htole64(sector)};
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
	int written = check_dev_request(env, dev, 0, b, n);
	if (written < 0)
		return -ETIMEDOUT;
	guest_mem_read(&env->ram.mem, st, status, 1);
	if (type == VIRTIO_BLK_T_IN && len)
		guest_mem_read(&env->ram.mem, data_gpa, data, len);
	return written;
}

static void io_round(struct check_env *env, struct virtio_dev *dev, const char *file,
		     uint64_t sector, uint8_t seed)
{
	uint8_t out[SECTOR], in[SECTOR], disk[SECTOR], status = 0xff;
	int irqs = check_dev_irqs(0);

	for (int i = 0; i < SECTOR; i++)
		out[i] = (uint8_t)(seed + i * 5);
	if (blk_io(env, dev, VIRTIO_BLK_T_OUT, sector, out, SECTOR, &status) < 0 || status)
		check_fail("write of sector %llu: status %u", (unsigned long long)sector, status);
	status = 0xff;
	int got = blk_io(env, dev, VIRTIO_BLK_T_IN, sector, in, SECTOR, &status);
	if (got != SECTOR + 1 || status || memcmp(in, out, SECTOR))
		check_fail("read back: %d bytes, status %u", got, status);
	status = 0xff;
	if (blk_io(env, dev, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &status) < 0 || status)
		check_fail("flush: status %u", status);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, disk, SECTOR, (off_t)(sector * SECTOR)) != SECTOR)
		check_fail("%s: %s", file, strerror(errno));
	close(fd);
	if (memcmp(disk, out, SECTOR))
		check_fail("the file does not hold the sector written");
	/* the daemon signals its call fd; the device's I/O thread makes it an interrupt */
	for (int i = 0; i < 100 && check_dev_irqs(0) == irqs; i++)
		usleep(10000);
	if (check_dev_irqs(0) == irqs)
		check_fail("no interrupt for three completed requests");
	printf("ok: sector %llu written, read back, flushed, found in %s; %d interrupts\n",
	       (unsigned long long)sector, file, check_dev_irqs(0) - irqs);
}

static struct virtio_dev *create(const char *socket)
{
	struct vu_opts o;
	char arg[160], err[160];
	snprintf(arg, sizeof(arg), "vhost-user=%s", socket);
	if (vu_opts_parse(arg, VU_OPTS_BLK, &o, err, sizeof(err)))
		check_fail("options: %s", err);
	struct virtio_dev *dev = NULL;
	int rc = 0;
	for (int i = 0; i < CHECK_WAIT_MS / 50; i++) { /* while the daemon starts */
		rc = vu_blk_create(&dev, &o, CHECK_WAIT_MS);
		if (rc != -ENOENT && rc != -ECONNREFUSED)
			break;
		usleep(50 * 1000);
	}
	if (rc)
		check_fail("vu_blk_create: %s", strerror(-rc));
	return dev;
}

static void config(struct virtio_dev *dev, const char *file)
{
	struct virtio_blk_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	off_t size = lseek(fd, 0, SEEK_END);
	close(fd);
	if (le64toh(c.capacity) * SECTOR != (uint64_t)size)
		check_fail("config capacity %llu sectors, the file has %lld bytes",
			   (unsigned long long)le64toh(c.capacity), (long long)size);
	if (dev->host_features & (1ull << VIRTIO_F_RING_PACKED))
		check_fail("packed ring offered");
	if (!(dev->host_features & (1ull << VIRTIO_BLK_F_FLUSH)))
		check_fail("the daemon's FLUSH not offered");
	printf("ok: config capacity %llu sectors, seg_max %u, features %#llx\n",
	       (unsigned long long)le64toh(c.capacity), le32toh(c.seg_max),
	       (unsigned long long)dev->host_features);
}

int check_blkdev(int argc, char **argv)
{
	struct check_env env;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: vhost_user_check blkdev SOCKET FILE [PID RESTART]\n");
		return 2;
	}
	check_env_init(&env, 1);
	struct virtio_dev *dev = create(argv[0]);
	check_dev_attach(&env, dev);
	config(dev, argv[1]);
	check_dev_driver_start(&env, dev,
			       (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH) |
				   (1ull << VIRTIO_BLK_F_SEG_MAX) |
				   (1ull << VIRTIO_BLK_F_BLK_SIZE));
	io_round(&env, dev, argv[1], 2, 0x21);
	io_round(&env, dev, argv[1], 9, 0x99);
	if (argc == 4) {
		check_dev_restart_backend(dev, (pid_t)atoi(argv[2]), argv[3]);
		io_round(&env, dev, argv[1], 5, 0x55);
	}
	check_dev_free(dev);
	check_env_free(&env);
	printf("PASS\n");
	return 0;
}
