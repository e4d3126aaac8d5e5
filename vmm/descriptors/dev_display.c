/* --display, --gpu, --screenshot, --input-script: a virtio-gpu with a virtio keyboard and
 * tablet, and optionally an SDL window (vmm/display/display_stack.h). The three devices use the
 * transport in effect at the last --display or --gpu. The options fill the device's own
 * configuration block (vmm/descriptors/dev_display.h), not struct vm_config. */
#include "vmm/descriptors/dev_display.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "vmm/vm/vm.h"

/* The block the options fill, allocated at the first; NULL (err set) when out of memory. */
static struct dev_display_cfg *display_cfg(struct vm_config *cfg, char *err, size_t errlen)
{
	struct dev_display_cfg *c = device_cfg(cfg, &device_display);
	if (!c)
		snprintf(err, errlen, "out of memory");
	return c;
}

static int parse_display(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_display_cfg *c = display_cfg(cfg, err, errlen);
	if (!c)
		return -ENOMEM;
	int r = display_parse_mode(arg, &c->opts.mode, err, errlen);
	if (!r)
		c->transport = cfg->transport;
	return r;
}

static int parse_gpu(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	struct dev_display_cfg *c = display_cfg(cfg, err, errlen);
	if (!c)
		return -ENOMEM;
	c->opts.gpu = true;
	c->transport = cfg->transport;
	return 0;
}

static int parse_screenshot(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_display_cfg *c = display_cfg(cfg, err, errlen);
	if (!c)
		return -ENOMEM;
	c->opts.screenshot = arg;
	return 0;
}

static int parse_input_script(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_display_cfg *c = display_cfg(cfg, err, errlen);
	if (!c)
		return -ENOMEM;
	c->opts.input_script = arg;
	return 0;
}

/* The --screenshot is written at exit, long after KVM: its directory must be there and
 * writable now. */
/* The screenshot is written as PATH.tmp and renamed (png_write_xrgb()): its directory must be a
 * real one (host_path_open(): not of /proc or /sys) that we may write. */
static int check_screenshot(const char *path)
{
	char copy[PATH_MAX], why[HOST_PATH_ERR_MAX];
	/* rule 7 of base/host_path.h: renamed only over a regular file or nothing */
	int r = host_path_replace_check(path, why, sizeof(why));
	if (r) {
		log_error("--screenshot %s", why);
		return r;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	int fd = host_path_open(dir, O_RDONLY, 0, HOST_PATH_DIR, why, sizeof(why));
	if (fd >= 0) {
		close(fd);
		if (access(dir, W_OK) == 0)
			return 0;
		snprintf(why, sizeof(why), "%s: %s", dir, strerror(errno));
		fd = -errno;
	}
	log_error("--screenshot %s: directory %s", path, why);
	return fd;
}

static int check_display(const struct vm_config *cfg)
{
	const struct dev_display_cfg *c = device_cfg_find(cfg, &device_display);
	if (!c)
		return 0;
	const struct display_opts *d = &c->opts;
	if (d->screenshot) {
		int err = check_screenshot(d->screenshot);
		if (err)
			return err;
	}
	if (d->input_script) {
		char why[HOST_PATH_ERR_MAX];
		int fd = host_path_open(d->input_script, O_RDONLY, 0, HOST_PATH_REGULAR, why,
					sizeof(why));
		if (fd < 0) {
			log_error("input script %s", why);
			return fd;
		}
		close(fd);
	}
	return 0;
}

/* display_stack_create()'s place callback. */
static int place_display_dev(void *opaque, struct virtio_dev *dev)
{
	struct vm *vm = opaque;
	const struct dev_display_cfg *c = device_cfg_find(vm->cfg, &device_display);
	return vm_virtio_place(vm, dev, c->transport); /* there: create_display() found it */
}

static int create_display(struct vm *vm)
{
	const struct dev_display_cfg *c = device_cfg_find(vm->cfg, &device_display);
	if (!c || !display_opts_wanted(&c->opts))
		return 0;
	int err = display_stack_create(&vm->display, &c->opts, &vm->mem, place_display_dev, vm);
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

/* The screenshot it writes and the input script it reads (a restore checks them). */
static int claims_display(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_display_cfg *c = device_cfg_find(cfg, &device_display);
	struct device_claim shot = {.kind = DEVICE_CLAIM_PATH,
				    .option = "display",
				    .what = "screenshot",
				    .id = "",
				    .access = DEVICE_PATH_WRITE | DEVICE_PATH_CREATE};
	struct device_claim script = {.kind = DEVICE_CLAIM_PATH,
				      .option = "display",
				      .what = "input script",
				      .id = "",
				      .access = DEVICE_PATH_READ};
	int r = 0;
	if (c && c->opts.screenshot) {
		shot.value = c->opts.screenshot;
		r = fn(&shot, opaque);
	}
	if (!r && c && c->opts.input_script) {
		script.value = c->opts.input_script;
		r = fn(&script, opaque);
	}
	return r;
}

const struct device_desc device_display = {.name = "display",
					   .options = display_options,
					   .check = check_display,
					   .create = create_display,
					   .start = start_display,
					   .destroy = destroy_display,
					   .cfg_size = sizeof(struct dev_display_cfg),
					   .claims = claims_display};
