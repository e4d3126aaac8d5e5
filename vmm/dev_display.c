/* --display, --gpu, --screenshot, --input-script: a virtio-gpu with a virtio keyboard and
 * tablet, and optionally an SDL window (vmm/display/display_stack.h). The three devices use the
 * transport in effect at the last --display or --gpu. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/device_table.h"
#include "vmm/display/display_stack.h"
#include "vmm/vm.h"

static int parse_display(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int r = display_parse_mode(arg, &cfg->display.mode, err, errlen);
	if (!r)
		cfg->display_transport = cfg->transport;
	return r;
}

static int parse_gpu(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	cfg->display.gpu = true;
	cfg->display_transport = cfg->transport;
	return 0;
}

static int parse_screenshot(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	cfg->display.screenshot = arg;
	return 0;
}

static int parse_input_script(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	cfg->display.input_script = arg;
	return 0;
}

/* The --screenshot is written at exit, long after KVM: its directory must be there and
 * writable now. */
static int check_screenshot(const char *path)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	if (access(dir, W_OK) != 0) {
		int err = -errno;
		log_error("--screenshot %s: directory %s: %s", path, dir, strerror(-err));
		return err;
	}
	return 0;
}

static int check_display(const struct vm_config *cfg)
{
	const struct display_opts *d = &cfg->display;
	if (d->screenshot) {
		int err = check_screenshot(d->screenshot);
		if (err)
			return err;
	}
	if (d->input_script) {
		int fd = open(d->input_script, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int err = -errno;
			log_error("input script %s: %s", d->input_script, strerror(-err));
			return err;
		}
		close(fd);
	}
	return 0;
}

/* display_stack_create()'s place callback. */
static int place_display_dev(void *opaque, struct virtio_dev *dev)
{
	struct vm *vm = opaque;
	return vm_virtio_place(vm, dev, vm->cfg->display_transport);
}

static int create_display(struct vm *vm)
{
	if (!display_opts_wanted(&vm->cfg->display))
		return 0;
	int err =
	    display_stack_create(&vm->display, &vm->cfg->display, &vm->mem, place_display_dev, vm);
	if (err)
		log_error("cannot create the display devices: %s", strerror(-err));
	return err;
}

static int start_display(struct vm *vm)
{
	return vm->display ? display_stack_start(vm->display, &vm->control) : 0;
}

/* After the gpu and input devices are gone; writes the --screenshot. */
static void destroy_display(struct vm *vm)
{
	display_stack_destroy(vm->display);
	vm->display = NULL;
}

static const struct device_option display_options[] = {
    {"display", required_argument,
     "      --display sdl|none\n"
     "                        sdl: a window showing a virtio-gpu screen, with a virtio\n"
     "                        keyboard and tablet (Ctrl+Alt+G releases the pointer;\n"
     "                        closing it sends KEY_POWER, then stops the VM after 5 s);\n"
     "                        none (default): no window\n",
     parse_display},
    {"gpu", no_argument,
     "      --gpu             virtio-gpu, keyboard and tablet without a window\n", parse_gpu},
    {"screenshot", required_argument,
     "      --screenshot PATH at exit, write the screen as PNG (implies --gpu)\n",
     parse_screenshot},
    {"input-script", required_argument,
     "      --input-script PATH\n"
     "                        feed the keyboard/tablet from PATH: lines 'key CODE 0|1|2',\n"
     "                        'btn CODE 0|1', 'abs X Y', 'wheel N' (implies --gpu)\n",
     parse_input_script},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_display = {.name = "display",
					   .options = display_options,
					   .check = check_display,
					   .create = create_display,
					   .start = start_display,
					   .destroy = destroy_display};
