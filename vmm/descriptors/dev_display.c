/* --display, --gpu, --screenshot, --input-script: a virtio-gpu with a virtio keyboard and
 * tablet, and optionally an SDL window (virtio/display/display_stack.h). The three devices use the
 * transport in effect at the last --display or --gpu. The options fill the device's own
 * configuration block (vmm/descriptors/dev_display.h), not struct vm_config, each as one item of
 * the device's record (device_record.h), which holds them all:
 *   {"transport": "pci", "display": "sdl", "gpu": true, "screenshot": "/tmp/s,1.png",
 *    "input-script": "/tmp/in.txt"}
 * An option's argument is its item's whole value (a path may hold commas, as it always could). */
#include "vmm/descriptors/dev_display.h"
#include "vmm/descriptors/device_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

#define OPTS_USAGE "expected display=sdl|none, gpu, screenshot=PATH, input-script=PATH"

/* What one record or option sets: the block's fields as they will be, the paths new copies. */
struct display_set {
	struct display_opts o;
	char *screenshot, *input_script; /* heap copies, or NULL: unchanged */
};

static int set_mode(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct display_set *s = dst;
	(void)key;
	return display_parse_mode(val, &s->o.mode, err, errlen);
}

static int set_gpu(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct display_set *s = dst;
	(void)key, (void)val, (void)err, (void)errlen;
	s->o.gpu = true;
	return 0;
}

/* screenshot=, input-script=: any text, commas included (the options' whole argument). */
static int set_path(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct display_set *s = dst;
	char **to = key[0] == 's' ? &s->screenshot : &s->input_script;
	*to = strdup(val);
	return *to ? 0 : fail_rc(-ENOMEM, err, errlen, "out of memory");
}

static const struct opt_key keys[] = {
    {"display", 0, set_mode},
    {"gpu", OPT_FLAG, set_gpu},
    {"screenshot", 0, set_path},
    {"input-script", 0, set_path},
    {NULL, 0, NULL},
};

/* `path` (a heap copy, or NULL: keep *field) in place of *field, which the block owns. */
static void replace_path(const char **field, char *path)
{
	if (!path)
		return;
	free((char *)*field);
	*field = path;
}

/* The items (the whole device's record, or one option's item) applied over the block, which is
 * made at the first; with `transport`, the devices go on cfg->transport (what --display and
 * --gpu do; --screenshot and --input-script leave it). Nothing is kept of a refused one. 0, or
 * -errno with the reason in err. */
static int merge(struct vm_config *cfg, const struct opt_items *items, bool transport, char *err,
		 size_t errlen)
{
	const struct dev_display_cfg *has = device_cfg_find(cfg, &device_display);
	struct display_set s = {.o = has ? has->opts : (struct display_opts){0}};
	int r = opts_parse_items(items, keys, &s, OPTS_USAGE, err, errlen);
	struct dev_display_cfg *c = r ? NULL : device_cfg(cfg, &device_display);
	if (!r && !c)
		r = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (r) {
		free(s.screenshot);
		free(s.input_script);
		return r;
	}
	c->opts.mode = s.o.mode;
	c->opts.gpu = s.o.gpu;
	replace_path(&c->opts.screenshot, s.screenshot);
	replace_path(&c->opts.input_script, s.input_script);
	if (transport)
		c->transport = cfg->transport;
	return 0;
}

/* The record's add: the whole device, on the record's transport. */
static int add_display(struct vm_config *cfg, const struct opt_items *items, char *err,
		       size_t errlen)
{
	return merge(cfg, items, true, err, errlen);
}

/* --`key` ARG as the one item key=ARG, ARG whole (a path may hold commas), over the block. */
static int parse_one(struct vm_config *cfg, const char *key, const char *arg, bool transport,
		     char *err, size_t errlen)
{
	struct opt_items items = {0};
	int r = opt_items_add(&items, key, arg);
	r = r ? fail_rc(r, err, errlen, "out of memory")
	      : merge(cfg, &items, transport, err, errlen);
	opt_items_free(&items);
	return r;
}

static int parse_display(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return parse_one(cfg, "display", arg, true, err, errlen);
}

static int parse_gpu(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	return parse_one(cfg, "gpu", NULL, true, err, errlen);
}

static int parse_screenshot(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return parse_one(cfg, "screenshot", arg, false, err, errlen);
}

static int parse_input_script(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return parse_one(cfg, "input-script", arg, false, err, errlen);
}

static int display_count(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_display) ? 1 : 0;
}

/* The one instance: every option's item that is not its default, and the devices' transport. */
static int display_items(const struct vm_config *cfg, int i, struct opt_items *out,
			 enum virtio_transport *t)
{
	const struct dev_display_cfg *c = device_cfg_find(cfg, &device_display);
	int r = 0;
	(void)i;
	*t = c->transport;
	if (c->opts.mode == DISPLAY_SDL)
		r = opt_items_add(out, "display", "sdl");
	if (!r && c->opts.gpu)
		r = opt_items_add(out, "gpu", NULL);
	if (!r && c->opts.screenshot)
		r = opt_items_add(out, "screenshot", c->opts.screenshot);
	if (!r && c->opts.input_script)
		r = opt_items_add(out, "input-script", c->opts.input_script);
	return r;
}

/* The block owns its paths (cfg_copy, cfg_free). */
static int copy_display(void *dst, const void *src)
{
	struct dev_display_cfg *to = dst;
	const struct dev_display_cfg *from = src;
	const char *p[2] = {from->opts.screenshot, from->opts.input_script};
	to->opts.screenshot = p[0] ? strdup(p[0]) : NULL;
	to->opts.input_script = p[1] ? strdup(p[1]) : NULL;
	return (p[0] && !to->opts.screenshot) || (p[1] && !to->opts.input_script) ? -ENOMEM : 0;
}

static void free_display(void *block)
{
	struct dev_display_cfg *c = block;
	free((char *)c->opts.screenshot);
	free((char *)c->opts.input_script);
	c->opts.screenshot = c->opts.input_script = NULL;
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

/* The screenshot it writes and the input script it reads. */
static const struct device_path_field display_path_fields[] = {
    {"screenshot", DEVICE_PATH_KIND_CREATE, "screenshot", NULL, NULL, 0, NULL},
    {"input-script", DEVICE_PATH_KIND_READ, "input script", NULL, NULL, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths display_paths = {NULL, NULL, display_path_fields};

const struct device_desc device_display = {.name = "display",
					   .options = display_options,
					   .check = check_display,
					   .create = create_display,
					   .start = start_display,
					   .destroy = destroy_display,
					   .cfg_size = sizeof(struct dev_display_cfg),
					   .cfg_copy = copy_display,
					   .cfg_free = free_display,
					   .claims = claims_display,
					   .record_head = "display",
					   .record_count = display_count,
					   .record_items = display_items,
					   .record_add = add_display,
					   .paths = &display_paths};
