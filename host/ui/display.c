/* The shared framebuffer between the virtio-gpu device and its viewers. See host/ui/display.h. */
#include "host/ui/display.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "host/ui/display_png.h"

struct display {
	pthread_mutex_t lock;
	uint32_t *pixels; /* width * height, NULL when no scanout */
	uint32_t width, height;
	/* The frame on screen when the guest last turned its scanout off (a Linux guest does at
	 * shutdown), so --screenshot at exit still shows what was last displayed. */
	uint32_t *last_pixels;
	uint32_t last_width, last_height;
	struct display_rect damage;
	bool resized; /* scanout size changed since the viewer last looked */
	uint32_t pref_width, pref_height;
	int resize_fd;
	void (*changed)(void *opaque);
	void *opaque;
};

static bool dim_ok(uint32_t w, uint32_t h)
{
	return w >= 1 && h >= 1 && w <= DISPLAY_MAX_DIM && h <= DISPLAY_MAX_DIM;
}

int display_create(struct display **out, uint32_t width, uint32_t height)
{
	struct display *d;

	if (width == 0 && height == 0)
		width = DISPLAY_DEFAULT_WIDTH, height = DISPLAY_DEFAULT_HEIGHT;
	if (!dim_ok(width, height))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->resize_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->resize_fd < 0) {
		int err = -errno;

		free(d);
		return err;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->pref_width = width;
	d->pref_height = height;
	*out = d;
	return 0;
}

void display_destroy(struct display *d)
{
	if (!d)
		return;
	close(d->resize_fd);
	pthread_mutex_destroy(&d->lock);
	free(d->pixels);
	free(d->last_pixels);
	free(d);
}

void display_preferred_size(struct display *d, uint32_t *width, uint32_t *height)
{
	pthread_mutex_lock(&d->lock);
	*width = d->pref_width;
	*height = d->pref_height;
	pthread_mutex_unlock(&d->lock);
}

void display_request_size(struct display *d, uint32_t width, uint32_t height)
{
	uint64_t one = 1;

	if (!dim_ok(width, height))
		return;
	pthread_mutex_lock(&d->lock);
	d->pref_width = width;
	d->pref_height = height;
	pthread_mutex_unlock(&d->lock);
	if (write(d->resize_fd, &one, sizeof(one)) < 0)
		log_debug("display: resize eventfd: %s", strerror(errno));
}

int display_resize_fd(struct display *d)
{
	return d->resize_fd;
}

void display_set_listener(struct display *d, void (*changed)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&d->lock);
	d->changed = changed;
	d->opaque = opaque;
	pthread_mutex_unlock(&d->lock);
}

/* The listener runs under the lock, so display_set_listener(d, NULL, NULL) returning means no
 * call is in progress and none will follow (the viewer may then shut down). */
static void notify(struct display *d)
{
	if (d->changed)
		d->changed(d->opaque);
	pthread_mutex_unlock(&d->lock);
}

/* The scanout goes away (width 0) or changes size: a frame being switched off is kept as the
 * last one shown; a new scanout makes any kept frame stale. Lock held. */
static void keep_last_frame(struct display *d, uint32_t new_width)
{
	if (new_width == 0) {
		if (d->pixels) {
			free(d->last_pixels);
			d->last_pixels = d->pixels;
			d->last_width = d->width;
			d->last_height = d->height;
		}
	} else {
		free(d->pixels);
		free(d->last_pixels);
		d->last_pixels = NULL;
	}
	d->pixels = NULL;
}

int display_set_scanout(struct display *d, uint32_t width, uint32_t height)
{
	int err = 0;

	if ((width || height) && !dim_ok(width, height))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (width != d->width || height != d->height || !d->pixels) {
		keep_last_frame(d, width);
		d->pixels = width ? calloc((size_t)width * height, sizeof(uint32_t)) : NULL;
		if (width && !d->pixels)
			err = -ENOMEM;
		d->width = d->pixels ? width : 0;
		d->height = d->pixels ? height : 0;
		d->resized = true;
		d->damage = (struct display_rect){0, 0, d->width, d->height};
	}
	notify(d);
	return err;
}

static void fb_of(struct display *d, struct display_fb *fb)
{
	*fb = (struct display_fb){d->pixels, d->width, d->height, d->width};
}

bool display_begin_update(struct display *d, struct display_fb *fb)
{
	pthread_mutex_lock(&d->lock);
	fb_of(d, fb);
	if (d->pixels)
		return true;
	pthread_mutex_unlock(&d->lock);
	return false;
}

/* The smallest rect holding both (an empty `a` is replaced). */
static struct display_rect rect_union(struct display_rect a, struct display_rect b)
{
	uint32_t x1, y1;

	if (!a.width || !a.height)
		return b;
	x1 = a.x + a.width > b.x + b.width ? a.x + a.width : b.x + b.width;
	y1 = a.y + a.height > b.y + b.height ? a.y + a.height : b.y + b.height;
	a.x = a.x < b.x ? a.x : b.x;
	a.y = a.y < b.y ? a.y : b.y;
	return (struct display_rect){a.x, a.y, x1 - a.x, y1 - a.y};
}

void display_end_update(struct display *d, const struct display_rect *damage)
{
	struct display_rect r = *damage;

	if (r.x < d->width && r.y < d->height) {
		if (r.width > d->width - r.x)
			r.width = d->width - r.x;
		if (r.height > d->height - r.y)
			r.height = d->height - r.y;
		if (r.width && r.height)
			d->damage = rect_union(d->damage, r);
	}
	notify(d);
}

void display_take_damage(struct display *d, struct display_fb *fb, struct display_rect *damage,
			 bool *resized)
{
	pthread_mutex_lock(&d->lock);
	fb_of(d, fb);
	*damage = d->damage;
	*resized = d->resized;
	d->damage = (struct display_rect){0};
	d->resized = false;
}

void display_lock(struct display *d, struct display_fb *fb)
{
	pthread_mutex_lock(&d->lock);
	fb_of(d, fb);
}

void display_unlock(struct display *d)
{
	pthread_mutex_unlock(&d->lock);
}

int display_screenshot(struct display *d, const char *path)
{
	struct display_fb fb;
	int err;

	display_lock(d, &fb);
	if (!fb.pixels && d->last_pixels)
		fb = (struct display_fb){d->last_pixels, d->last_width, d->last_height,
					 d->last_width};
	err =
	    fb.pixels ? png_write_xrgb(path, fb.pixels, fb.width, fb.height, fb.stride) : -ENODATA;
	display_unlock(d);
	return err;
}
