/* The host side of the guest's screen: one framebuffer (0x00RRGGBB pixels) that the virtio-gpu
 * device writes on the guest's RESOURCE_FLUSH and that a viewer (the SDL window,
 * virtio/display/display_sdl.h) or a screenshot (host/ui/display_png.h) reads.
 *
 * Handover without blocking: the device locks the framebuffer only to copy the flushed rectangle
 * into it (display_begin_update / display_end_update), adds it to the damage and wakes the viewer
 * through a callback; the viewer takes the damage and copies the damaged rows out under the same
 * lock (display_take_damage). Neither side waits for the other beyond those copies, so a slow
 * window never stalls the device's I/O thread or a vCPU.
 *
 * The other direction: the viewer asks for a new screen size (window resized) with
 * display_request_size(); the device watches display_resize_fd() and tells the guest
 * (VIRTIO_GPU_EVENT_DISPLAY, 5.7.4).
 *
 * Lock order: the device's lock, then the display's. The viewer never takes a device lock. */
#ifndef VMM_DISPLAY_H
#define VMM_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define DISPLAY_DEFAULT_WIDTH  1024
#define DISPLAY_DEFAULT_HEIGHT 768
#define DISPLAY_MAX_DIM	       16384

struct display;

struct display_rect {
	uint32_t x, y, width, height;
};

/* A locked view of the framebuffer. `pixels` is NULL when no scanout is set. */
struct display_fb {
	uint32_t *pixels;
	uint32_t width, height;
	uint32_t stride; /* in pixels */
};

/* A display whose preferred size (what the guest is told) is width x height (0: defaults).
 * Returns 0, -EINVAL or -ENOMEM / -errno. */
int display_create(struct display **out, uint32_t width, uint32_t height);
void display_destroy(struct display *d);

/* Preferred size: what GET_DISPLAY_INFO reports. */
void display_preferred_size(struct display *d, uint32_t *width, uint32_t *height);
/* Viewer side: ask for a new preferred size (ignored unless 1..DISPLAY_MAX_DIM); makes
 * display_resize_fd() readable. */
void display_request_size(struct display *d, uint32_t width, uint32_t height);
/* An eventfd that is readable after display_request_size(); the device reads (drains) it. */
int display_resize_fd(struct display *d);

/* Device side: the scanout now shows a width x height image (0 x 0: disabled). A new size
 * reallocates the framebuffer (black). Returns 0 or -ENOMEM / -EINVAL (the scanout is then off). */
int display_set_scanout(struct display *d, uint32_t width, uint32_t height);
/* Locks the framebuffer for writing; returns false (unlocked) when no scanout is set. */
bool display_begin_update(struct display *d, struct display_fb *fb);
/* Adds `damage` (clipped to the framebuffer) and unlocks; wakes the viewer. */
void display_end_update(struct display *d, const struct display_rect *damage);

/* Viewer side: `changed` is called after each update or scanout change, from the device's
 * thread WITH the display lock held: it must only wake the viewer (e.g. SDL_PushEvent), never call
 * back into the display. Once display_set_listener(d, NULL, NULL) returns, no call is running. */
void display_set_listener(struct display *d, void (*changed)(void *opaque), void *opaque);
/* Locks the framebuffer for reading; takes the accumulated damage (zero size when none) and
 * whether the scanout size changed since the last call. Pair with display_unlock(). */
void display_take_damage(struct display *d, struct display_fb *fb, struct display_rect *damage,
			 bool *resized);
void display_unlock(struct display *d);

/* Writes the framebuffer as a PNG file; with the scanout off, the frame last shown before it
 * went off (a guest's shutdown turns it off). Returns 0, -ENODATA (no scanout was ever set:
 * nothing written) or -errno. */
int display_screenshot(struct display *d, const char *path);

#endif
