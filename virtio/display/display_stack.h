/* Everything behind the display options, built and torn down as one: the display
 * (host/ui/display.h), a virtio-gpu, a virtio keyboard and a virtio tablet (with their host event
 * queues), the SDL window (virtio/display/display_sdl.h) and the screenshot at exit.
 *
 * Options (the CLI fills struct display_opts):
 *   --display sdl|none   a window showing the scanout (needs SDL2), or none (default)
 *   --gpu                the devices without a window (headless: screenshots, scripted input)
 *   --screenshot PATH    at VMM exit, write the scanout as PNG (implies --gpu; with
 *                        --display sdl it is what the window shows, read back from SDL)
 *   --input-script PATH  queue the events of PATH (virtio/input/input.h) for the keyboard/tablet
 *                        (implies --gpu)
 * Any of them creates the three devices, in the order gpu, keyboard, tablet.
 *
 * Lifecycle, from the VM:
 *   display_stack_create()   while creating virtio devices (guest RAM exists)
 *   display_stack_start()    once the devices run, before the vCPUs (opens the window)
 *   display_stack_destroy()  after the virtio devices were destroyed: stops the window, writes the
 *                            screenshot, frees the display and the queues. */
#ifndef VMM_DISPLAY_STACK_H
#define VMM_DISPLAY_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "base/vm_control.h"
#include "virtio/core/device.h"

enum display_mode { DISPLAY_NONE, DISPLAY_SDL };

struct display_opts {
	enum display_mode mode;
	bool gpu;
	const char *screenshot;
	const char *input_script;
};

/* Parses the argument of --display: "sdl" or "none". "sdl" in a build without SDL2 is refused
 * with a message saying so. Returns 0, or -EINVAL / -ENOTSUP with the reason in `err`. */
int display_parse_mode(const char *arg, enum display_mode *mode, char *err, size_t errlen);

/* True when the options ask for the display devices at all. */
bool display_opts_wanted(const struct display_opts *o);

/* Places an initialised device on a transport and takes ownership of it, also on failure (as
 * vm_virtio_add() does). Returns 0 or non-zero. */
typedef int (*display_place_fn)(void *opaque, struct virtio_dev *dev);

struct display_stack;

/* Creates the display, the queues (loading the input script) and the three devices, each
 * initialised over `mem` and handed to `place`. Returns 0, -EINVAL (bad input script: the
 * user's fault) or another -errno. *out is set even on failure (destroy it). */
int display_stack_create(struct display_stack **out, const struct display_opts *o,
			 const struct guest_mem *mem, display_place_fn place, void *opaque);

/* Opens the SDL window when --display sdl. `control` stops the VM when the window is closed.
 * Returns 0, -ENOTSUP (no SDL2) or -EIO (no window could be opened). */
int display_stack_start(struct display_stack *s, const struct vm_control *control);

/* Stops the window, writes the screenshot (a failure is logged), frees everything. NULL is a
 * no-op. Call only after the gpu and input devices are destroyed. */
void display_stack_destroy(struct display_stack *s);

#endif
