/* The display devices and viewers as one unit. See virtio/display/display_stack.h. */
#include "virtio/display/display_stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "host/ui/display.h"
#include "virtio/display/display_sdl.h"
#include "virtio/gpu/gpu.h"
#include "virtio/input/input.h"

struct display_stack {
	struct display_opts o;
	struct display *disp;
	struct input_queue keyboard, tablet;
	struct display_sdl *sdl;
};

int display_parse_mode(const char *arg, enum display_mode *mode, char *err, size_t errlen)
{
	if (!strcmp(arg, "none")) {
		*mode = DISPLAY_NONE;
		return 0;
	}
	if (strcmp(arg, "sdl")) {
		snprintf(err, errlen, "expected sdl or none");
		return -EINVAL;
	}
	if (!display_sdl_available()) {
		snprintf(err, errlen,
			 "unavailable: this vmm was built without SDL2 (install libsdl2-dev and "
			 "rebuild); --gpu --screenshot PATH works without it");
		return -ENOTSUP;
	}
	*mode = DISPLAY_SDL;
	return 0;
}

bool display_opts_wanted(const struct display_opts *o)
{
	return o->mode == DISPLAY_SDL || o->gpu || o->screenshot || o->input_script;
}

/* virtio_dev_init() then place(); the device is freed here on an init failure. */
static int add(struct virtio_dev *dev, const struct guest_mem *mem, display_place_fn place,
	       void *opaque)
{
	int err = virtio_dev_init(dev, mem);

	if (err) {
		virtio_dev_destroy(dev);
		free(dev);
		return err;
	}
	return place(opaque, dev) ? -EIO : 0;
}

static int add_devices(struct display_stack *s, const struct guest_mem *mem, display_place_fn place,
		       void *opaque)
{
	struct virtio_dev *dev;
	int err = virtio_gpu_create(&dev, s->disp, 0);

	if (!err)
		err = add(dev, mem, place, opaque);
	if (!err)
		err = virtio_input_create(&dev, INPUT_KEYBOARD, &s->keyboard);
	if (!err)
		err = add(dev, mem, place, opaque);
	if (!err)
		err = virtio_input_create(&dev, INPUT_TABLET, &s->tablet);
	if (!err)
		err = add(dev, mem, place, opaque);
	return err;
}

int display_stack_create(struct display_stack **out, const struct display_opts *o,
			 const struct guest_mem *mem, display_place_fn place, void *opaque)
{
	struct display_stack *s = calloc(1, sizeof(*s));
	int err;

	*out = s;
	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->keyboard.fd = s->tablet.fd = -1;
	err = display_create(&s->disp, 0, 0);
	if (!err)
		err = input_queue_init(&s->keyboard);
	if (!err)
		err = input_queue_init(&s->tablet);
	if (err)
		return err;
	if (o->input_script) {
		err = virtio_input_load_script(o->input_script, &s->keyboard, &s->tablet);
		if (err)
			return -EINVAL;
	}
	/* Landlock (sandbox.h): the screenshot is written at exit, long after the seal */
	if (o->screenshot)
		sandbox_landlock_allow_dir_of(o->screenshot, LANDLOCK_WRITE | LANDLOCK_CHANGE);
	return add_devices(s, mem, place, opaque);
}

int display_stack_start(struct display_stack *s, const struct vm_control *control)
{
	struct display_sdl_opts so = {
	    .disp = s->disp,
	    .keyboard = &s->keyboard,
	    .tablet = &s->tablet,
	    .control = control,
	    .title = "vmm",
	};

	if (s->o.mode != DISPLAY_SDL)
		return 0;
	return display_sdl_start(&s->sdl, &so);
}

static void take_screenshot(struct display_stack *s)
{
	const char *path = s->o.screenshot;
	int err;

	if (s->sdl) {
		err = display_sdl_stop(s->sdl, path);
		s->sdl = NULL;
	} else {
		err = display_screenshot(s->disp, path);
	}
	if (err == -ENODATA)
		log_warn("--screenshot: the guest never set a scanout; %s not written", path);
	else if (err)
		log_error("--screenshot %s: %s", path, strerror(-err));
	else
		log_info("screenshot written to %s", path);
}

void display_stack_destroy(struct display_stack *s)
{
	if (!s)
		return;
	if (s->o.screenshot && s->disp)
		take_screenshot(s);
	display_sdl_stop(s->sdl, NULL);
	display_destroy(s->disp);
	input_queue_destroy(&s->keyboard); /* no-op for a queue never initialised (fd -1) */
	input_queue_destroy(&s->tablet);
	free(s);
}
