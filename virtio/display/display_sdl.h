/* The SDL2 window (`--display sdl`): one thread that owns every SDL call, shows the guest's
 * scanout from a struct display (host/ui/display.h) and turns host input into virtio-input events.
 *
 * - Output: the virtio-gpu device wakes the thread through the display's listener (an SDL user
 *   event, coalesced); the thread copies only the damaged rectangle into a streaming texture and
 *   presents it, scaled to the window. A scanout of another size resizes the window to it.
 * - Input: keys (SDL scancodes = HID usages, virtio/input/keymap.h) go to the keyboard queue;
 *   pointer position (absolute, 0..32767 over the window), buttons and the wheel to the tablet.
 *   A click grabs the pointer; Ctrl+Alt+G releases it.
 * - Window resized by the user: display_request_size(), which the gpu reports to the guest.
 * - Window closed: the keyboard sends KEY_POWER (press, release) so the guest can shut down in
 *   order; if the VM is still running `close_timeout_ms` later (or the window is closed twice,
 *   or there is no keyboard) the thread stops the VM itself (vm_control, VM_STOP_USER, status 0).
 *
 * The thread never takes a device lock and holds the display lock only while copying damage. SDL
 * is told not to install signal handlers (the VMM handles SIGINT/SIGTERM).
 *
 * Without SDL2 at build time (HAVE_SDL2 unset) display_sdl_start() fails with -ENOTSUP and says
 * so. */
#ifndef VMM_DISPLAY_SDL_H
#define VMM_DISPLAY_SDL_H

#include <stdbool.h>

#include "base/vm_control.h"
#include "host/ui/display.h"
#include "virtio/input/events.h"

#define DISPLAY_SDL_CLOSE_TIMEOUT_MS 5000

struct display_sdl_opts {
	struct display *disp;
	struct input_queue *keyboard; /* may be NULL */
	struct input_queue *tablet;   /* may be NULL */
	const struct vm_control *control;
	unsigned close_timeout_ms; /* 0: DISPLAY_SDL_CLOSE_TIMEOUT_MS */
	const char *title;	   /* NULL: "vmm" */
};

struct display_sdl;

/* True when this build has SDL2. */
bool display_sdl_available(void);

/* Starts the thread and waits until the window is open. Returns 0, -ENOTSUP (no SDL2 in this
 * build), -EIO (SDL could not open a window: no X11/Wayland display, reason logged) or -errno. */
int display_sdl_start(struct display_sdl **out, const struct display_sdl_opts *opts);

/* Stops the thread and closes the window. With `screenshot` set, first writes what the window
 * shows (its renderer output, SDL_RenderReadPixels) there as PNG. Returns 0 or the screenshot's
 * error. NULL `s` is a no-op. */
int display_sdl_stop(struct display_sdl *s, const char *screenshot);

#endif
