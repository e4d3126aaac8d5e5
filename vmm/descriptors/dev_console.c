/* --console: the host side of the guest console; "virtio" adds a virtio-console (hvc0,
 * virtio/console/console.h) on it, while COM1 keeps showing early boot messages. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "virtio/console/console.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/vm.h"

static int parse_console(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_console_cfg *c = device_cfg(cfg, &device_console);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (strcmp(arg, "stdio") == 0) {
		*c = (struct dev_console_cfg){.mode = CONSOLE_MODE_STDIO};
	} else if (strcmp(arg, "none") == 0) {
		*c = (struct dev_console_cfg){.mode = CONSOLE_MODE_NONE};
	} else if (strcmp(arg, "virtio") == 0) {
		*c = (struct dev_console_cfg){
		    .mode = CONSOLE_MODE_STDIO, .virtio = true, .transport = cfg->transport};
	} else if (strncmp(arg, "file:", 5) == 0 && arg[5]) {
		*c = (struct dev_console_cfg){.mode = CONSOLE_MODE_FILE, .path = arg + 5};
	} else {
		snprintf(err, errlen, "expected stdio, virtio, none or file:PATH");
		return -EINVAL;
	}
	return 0;
}

struct dev_console_cfg dev_console_config(const struct vm_config *cfg)
{
	const struct dev_console_cfg *c = device_cfg_find(cfg, &device_console);
	return c ? *c : (struct dev_console_cfg){.mode = CONSOLE_MODE_STDIO};
}

/* file:PATH opened for writing as the console will (host_path_open(): a regular file, never a
 * FIFO, a device or a file of /proc) and closed, without truncating it: a missing directory or
 * an unwritable file is said before KVM. A missing file is created and removed again at once,
 * so the check leaves nothing behind; the console creates it when the VM is built. */
static int check_console(const struct vm_config *cfg)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	char err[HOST_PATH_ERR_MAX];
	if (c.mode != CONSOLE_MODE_FILE)
		return 0;
	int fd = host_path_open(c.path, O_WRONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
	if (fd == -ENOENT) {
		fd = host_path_open(c.path, O_WRONLY | O_CREAT | O_EXCL, 0644, HOST_PATH_REGULAR,
				    err, sizeof(err));
		if (fd >= 0)
			unlink(c.path);
	}
	if (fd < 0) {
		log_error("console: cannot open %s", err);
		return fd;
	}
	close(fd);
	return 0;
}

static int create_console(struct vm *vm)
{
	struct dev_console_cfg c = dev_console_config(vm->cfg);
	if (!c.virtio)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_console_create(&dev, vm_devices_console(vm));
	return err ? err : vm_virtio_init_and_place(vm, dev, c.transport);
}

static int resize_one(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	if (virtio_console_is(dev))
		virtio_console_winch(dev); /* an eventfd write: its I/O thread re-reads the size */
	return 0;
}

/* SIGWINCH: hvc0 learns the terminal's new size (5.3.6.1: a config change). COM1 has none. */
static void console_resized(struct vm *vm)
{
	if (dev_console_config(vm->cfg).virtio)
		vm_for_each_virtio_dev(vm, resize_one, NULL);
}

/* file:PATH: a file the console creates or replaces (a restore checks it). */
static int claims_console(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	struct device_claim file = {.kind = DEVICE_CLAIM_PATH,
				    .option = "console",
				    .value = c.path,
				    .what = "console file",
				    .id = "",
				    .access = DEVICE_PATH_WRITE | DEVICE_PATH_CREATE};
	return c.mode == CONSOLE_MODE_FILE && c.path ? fn(&file, opaque) : 0;
}

static const struct device_option console_options[] = {
    {"console", required_argument,
     "      --console KIND    the guest console's host side:\n"
     "                          stdio      COM1 (8250/16550A) on stdout, input from stdin\n"
     "                                     (raw terminal; Ctrl-A x quits, Ctrl-A h helps)\n"
     "                          virtio     a virtio-console (hvc0) on stdio; COM1 output\n"
     "                                     still shows early boot messages\n"
     "                          none       output discarded, no input\n"
     "                          file:PATH  output written to PATH, no input\n"
     "                        default stdio\n",
     parse_console},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_console = {.name = "console",
					   .options = console_options,
					   .check = check_console,
					   .create = create_console,
					   .terminal_resized = console_resized,
					   .cfg_size = sizeof(struct dev_console_cfg),
					   .claims = claims_console,
					   .api = &dev_console_api,
					   .built_beside_source = true};
