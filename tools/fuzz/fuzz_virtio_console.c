/* libFuzzer target: virtio-console (virtio/console/vconsole.c) behind virtio-mmio, on a host
 * console whose output goes to /dev/null (synchronous: the console is never started). Host input
 * comes from the input through the console's input sink, then the I/O thread's eventfd handlers
 * run. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/console/vconsole.h"
#include "vmm/ui/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct console con;

static int con_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	(void)in;
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct console_config cc = {.mode = CONSOLE_MODE_FDS, .in_fd = -1, .out_fd = null_fd};
	if (null_fd < 0 || console_open(&con, &cc)) {
		if (null_fd >= 0)
			close(null_fd);
		return -1;
	}
	if (virtio_console_create(out, &con))
		goto fail;
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		goto fail;
	}
	return 0;
fail:
	console_close(&con);
	close(null_fd);
	return -1;
}

static void con_destroy(struct virtio_dev *dev)
{
	int fd = con.out_fd;
	console_stop(&con);
	virtio_dev_destroy(dev);
	free(dev);
	console_close(&con);
	if (fd >= 0)
		close(fd); /* CONSOLE_MODE_FDS: the fd is ours */
}

/* The host console's input thread hands over bytes; the I/O thread then moves them. */
static void con_special(struct virtio_dev *dev, struct fz_in *in)
{
	size_t len;
	const uint8_t *p = fz_take(in, fz_u8(in) % 64, &len);
	if (len && con.input.receive) {
		size_t took = con.input.receive(con.input.opaque, p, len);
		FZ_ASSERT(took <= len, "receive took %zu of %zu", took, len);
	}
	if (fz_u8(in) & 1)
		virtio_console_winch(dev);
	fz_dev_run_fds(dev);
}

static const struct fz_dev_hooks con_hooks = {
    .create = con_create, .destroy = con_destroy, .special = con_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &con_hooks);
}
