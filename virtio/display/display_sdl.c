/* The SDL2 window thread. See virtio/display/display_sdl.h. */
#include "virtio/display/display_sdl.h"

#include <errno.h>

#include "base/log.h"

#ifndef HAVE_SDL2

bool display_sdl_available(void)
{
	return false;
}

int display_sdl_start(struct display_sdl **out, const struct display_sdl_opts *opts)
{
	(void)opts;
	*out = NULL;
	log_error("--display sdl is unavailable: this vmm was built without SDL2 "
		  "(install libsdl2-dev and rebuild)");
	return -ENOTSUP;
}

int display_sdl_stop(struct display_sdl *s, const char *screenshot)
{
	(void)s;
	(void)screenshot;
	return 0;
}

#else

#include <SDL.h>
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "host/sandbox/sandbox.h"
#include "host/ui/display_png.h"
#include "host/ui/sdl_api.h"
#include "virtio/input/config.h"
#include "virtio/input/keymap.h"
#include <sys/syscall.h>

#define GRAB_HINT " - Ctrl+Alt+G releases the pointer"

struct display_sdl {
	struct display_sdl_opts o;
	pthread_t thread;
	sem_t ready;
	int init_err;
	Uint32 wake_event; /* SDL user event: damage, or stop */
	atomic_bool wake_pending;
	atomic_bool stop;
	const char *screenshot;
	int shot_err;

	SDL_Window *win;
	SDL_Renderer *ren;
	SDL_Texture *tex;
	bool grabbed;
	bool closing;
	Uint32 close_deadline;
};

bool display_sdl_available(void)
{
	return true;
}

/* ---- output ---- */

/* The display's listener (device thread, display lock held): wake the window thread once. */
static void wake(void *opaque)
{
	struct display_sdl *s = opaque;
	SDL_Event ev = {.type = s->wake_event};

	if (!atomic_exchange(&s->wake_pending, true))
		sdl.PushEvent(&ev);
}

/* A new scanout size: a texture of that size, and the window follows. */
static void resize_texture(struct display_sdl *s, const struct display_fb *fb)
{
	int w, h;

	if (s->tex)
		sdl.DestroyTexture(s->tex);
	s->tex = NULL;
	if (!fb->pixels)
		return;
	s->tex = sdl.CreateTexture(s->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
				   (int)fb->width, (int)fb->height);
	if (!s->tex)
		log_warn("display: SDL_CreateTexture: %s", sdl.GetError());
	sdl.GetWindowSize(s->win, &w, &h);
	if ((uint32_t)w != fb->width || (uint32_t)h != fb->height)
		sdl.SetWindowSize(s->win, (int)fb->width, (int)fb->height);
}

/* Copies the damage into the texture (display lock held only for that), then presents. */
static void redraw(struct display_sdl *s)
{
	struct display_fb fb;
	struct display_rect d;
	bool resized;

	atomic_store(&s->wake_pending, false);
	display_take_damage(s->o.disp, &fb, &d, &resized);
	if (resized || (!s->tex && fb.pixels)) {
		resize_texture(s, &fb);
		d = (struct display_rect){0, 0, fb.width, fb.height};
	}
	if (s->tex && fb.pixels && d.width && d.height) {
		SDL_Rect r = {(int)d.x, (int)d.y, (int)d.width, (int)d.height};

		sdl.UpdateTexture(s->tex, &r, fb.pixels + (size_t)d.y * fb.stride + d.x,
				  (int)(fb.stride * sizeof(uint32_t)));
	}
	display_unlock(s->o.disp);
	sdl.SetRenderDrawColor(s->ren, 0, 0, 0, 255);
	sdl.RenderClear(s->ren);
	if (s->tex)
		sdl.RenderCopy(s->ren, s->tex, NULL, NULL);
	sdl.RenderPresent(s->ren);
}

/* Waits (up to a second) until the window has the scanout's size: sdl.SetWindowSize() is
 * asynchronous on X11, and a screenshot of a window still being resized would be scaled. */
static void settle(struct display_sdl *s)
{
	int w, h, tw, th;

	for (int i = 0; s->tex && i < 100; i++) {
		sdl.PumpEvents();
		sdl.QueryTexture(s->tex, NULL, NULL, &tw, &th);
		if (!sdl.GetRendererOutputSize(s->ren, &w, &h) && w == tw && h == th)
			return;
		sdl.Delay(10);
	}
}

static int window_screenshot(struct display_sdl *s, const char *path)
{
	int w, h, err;
	uint32_t *px;

	redraw(s);
	settle(s);
	redraw(s);
	if (sdl.GetRendererOutputSize(s->ren, &w, &h) || w <= 0 || h <= 0)
		return -EIO;
	px = malloc((size_t)w * h * sizeof(*px));
	if (!px)
		return -ENOMEM;
	err = sdl.RenderReadPixels(s->ren, NULL, SDL_PIXELFORMAT_ARGB8888, px, w * 4) ? -EIO : 0;
	if (err)
		log_error("display: SDL_RenderReadPixels: %s", sdl.GetError());
	else
		err = png_write_xrgb(path, px, (uint32_t)w, (uint32_t)h, (uint32_t)w);
	free(px);
	return err;
}

/* ---- input ---- */

static void key(struct display_sdl *s, const SDL_KeyboardEvent *k)
{
	uint16_t code = input_keymap_hid(k->keysym.scancode);

	if (k->type == SDL_KEYDOWN && k->keysym.scancode == SDL_SCANCODE_G &&
	    (k->keysym.mod & KMOD_CTRL) && (k->keysym.mod & KMOD_ALT)) {
		sdl.SetWindowGrab(s->win, SDL_FALSE);
		sdl.SetWindowTitle(s->win, s->o.title);
		s->grabbed = false;
		return;
	}
	if (code && s->o.keyboard)
		input_queue_push_syn(s->o.keyboard, EV_KEY, code,
				     k->type == SDL_KEYUP ? 0 : (k->repeat ? 2 : 1));
}

/* Window coordinates to the tablet's 0..INPUT_ABS_MAX. */
static int32_t to_abs(int v, int size)
{
	if (size <= 1 || v <= 0)
		return 0;
	if (v >= size - 1)
		return INPUT_ABS_MAX;
	return (int32_t)((int64_t)v * INPUT_ABS_MAX / (size - 1));
}

static void motion(struct display_sdl *s, int x, int y)
{
	int w, h;

	sdl.GetWindowSize(s->win, &w, &h);
	struct virtio_input_event ev[3] = {
	    {EV_ABS, ABS_X, (uint32_t)to_abs(x, w)},
	    {EV_ABS, ABS_Y, (uint32_t)to_abs(y, h)},
	    {EV_SYN, SYN_REPORT, 0},
	};
	input_queue_push(s->o.tablet, ev, 3);
}

static void button(struct display_sdl *s, const SDL_MouseButtonEvent *b)
{
	uint16_t code = b->button == SDL_BUTTON_LEFT	 ? BTN_LEFT
			: b->button == SDL_BUTTON_RIGHT	 ? BTN_RIGHT
			: b->button == SDL_BUTTON_MIDDLE ? BTN_MIDDLE
							 : 0;

	if (b->type == SDL_MOUSEBUTTONDOWN && !s->grabbed) {
		char title[256];

		sdl.SetWindowGrab(s->win, SDL_TRUE);
		snprintf(title, sizeof(title), "%s%s", s->o.title, GRAB_HINT);
		sdl.SetWindowTitle(s->win, title);
		s->grabbed = true;
	}
	if (code) {
		motion(s, b->x, b->y);
		input_queue_push_syn(s->o.tablet, EV_KEY, code, b->type == SDL_MOUSEBUTTONDOWN);
	}
}

/* First close: KEY_POWER, and a deadline. Second close, or no keyboard: stop now. */
static void close_requested(struct display_sdl *s)
{
	if (s->closing || !s->o.keyboard) {
		log_info("display: window closed: stopping the VM");
		vm_control_stop(s->o.control, VM_STOP_USER, VMM_EXIT_OK);
		return;
	}
	log_info("display: window closed: sent KEY_POWER to the guest; the VM stops in %u ms "
		 "unless it powers off first",
		 s->o.close_timeout_ms);
	input_queue_push_syn(s->o.keyboard, EV_KEY, KEY_POWER, 1);
	input_queue_push_syn(s->o.keyboard, EV_KEY, KEY_POWER, 0);
	s->closing = true;
	s->close_deadline = sdl.GetTicks() + s->o.close_timeout_ms;
}

static void handle(struct display_sdl *s, const SDL_Event *ev)
{
	if (ev->type == s->wake_event) {
		redraw(s);
		return;
	}
	switch (ev->type) {
	case SDL_QUIT:
		close_requested(s);
		break;
	case SDL_WINDOWEVENT:
		if (ev->window.event == SDL_WINDOWEVENT_CLOSE)
			close_requested(s);
		else if (ev->window.event == SDL_WINDOWEVENT_RESIZED)
			display_request_size(s->o.disp, (uint32_t)ev->window.data1,
					     (uint32_t)ev->window.data2);
		else if (ev->window.event == SDL_WINDOWEVENT_EXPOSED)
			redraw(s);
		break;
	case SDL_KEYDOWN:
	case SDL_KEYUP:
		key(s, &ev->key);
		break;
	case SDL_MOUSEMOTION:
		if (s->o.tablet)
			motion(s, ev->motion.x, ev->motion.y);
		break;
	case SDL_MOUSEBUTTONDOWN:
	case SDL_MOUSEBUTTONUP:
		if (s->o.tablet)
			button(s, &ev->button);
		break;
	case SDL_MOUSEWHEEL:
		if (s->o.tablet && ev->wheel.y)
			input_queue_push_syn(s->o.tablet, EV_REL, REL_WHEEL, ev->wheel.y);
		break;
	}
}

/* ---- the thread ---- */

static int open_window(struct display_sdl *s)
{
	uint32_t w, h;

	sdl.SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	if (sdl.Init(SDL_INIT_VIDEO)) {
		log_error("--display sdl: cannot initialise SDL video: %s", sdl.GetError());
		return -EIO;
	}
	s->wake_event = sdl.RegisterEvents(1);
	display_preferred_size(s->o.disp, &w, &h);
	s->win = sdl.CreateWindow(s->o.title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
				  (int)w, (int)h, SDL_WINDOW_RESIZABLE);
	if (s->win)
		s->ren = sdl.CreateRenderer(s->win, -1, 0);
	if (!s->win || !s->ren || s->wake_event == (Uint32)-1) {
		log_error("--display sdl: cannot open a window: %s", sdl.GetError());
		return -EIO;
	}
	return 0;
}

static void close_window(struct display_sdl *s)
{
	if (s->tex)
		sdl.DestroyTexture(s->tex);
	if (s->ren)
		sdl.DestroyRenderer(s->ren);
	if (s->win)
		sdl.DestroyWindow(s->win);
	sdl.Quit();
}

static void loop(struct display_sdl *s)
{
	while (!atomic_load(&s->stop)) {
		int timeout = -1;
		SDL_Event ev;

		if (s->closing) {
			Sint32 left = (Sint32)(s->close_deadline - sdl.GetTicks());

			if (left <= 0) {
				close_requested(s); /* stops the VM */
				s->closing = false;
				continue;
			}
			timeout = left;
		}
		if (sdl.WaitEventTimeout(&ev, timeout))
			handle(s, &ev);
	}
}

/* The window thread's calls once the window is open (sandbox.h): talking to the X server over
 * its socket (and shared memory for images), waiting for events, writing the screenshot file
 * at the end. SDL2 is a large library: this list is what it was seen to call here. */
static const struct sandbox_rule display_rules[] = {
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_select),
    SB_ALLOW(SYS_pselect6),
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_write),
    SB_ALLOW(SYS_readv),
    SB_ALLOW(SYS_writev),
    SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_sendto),
    SB_ALLOW(SYS_shmget),
    SB_ALLOW(SYS_shmat),
    SB_ALLOW(SYS_shmdt),
    SB_ALLOW(SYS_shmctl),
    SB_ALLOW(SYS_openat),
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_fstat),
    SB_ALLOW(SYS_newfstatat),
    SB_ALLOW(SYS_fstatfs), /* host_path_open() of the screenshot (base/host_path.h) */
    SB_ALLOW(SYS_lseek),
    SB_ALLOW(SYS_ioctl),
    SB_ALLOW(SYS_getrandom),
    SB_ALLOW(SYS_eventfd2),
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_getuid),
    SB_ALLOW(SYS_geteuid),
    SB_ALLOW(SYS_uname),
    SB_ALLOW(SYS_sysinfo),
    SB_ALLOW(SYS_epoll_wait),
    SB_ALLOW(SYS_epoll_ctl),
    SB_ALLOW(SYS_epoll_pwait),
    SB_ALLOW(SYS_shutdown),
    SB_ALLOW(SYS_rename),
    SB_ALLOW(SYS_renameat2), /* host_path_replace_commit(): the screenshot */
    SB_ALLOW(SYS_unlink),
    /* SDL's software renderer may generate code (the base list forbids executable memory) */
    SB_ALLOW(SYS_mmap),
    SB_ALLOW(SYS_mprotect),
};
static const struct sandbox_list display_sandbox = SANDBOX_LIST("display", display_rules);

static void *thread_main(void *arg)
{
	struct display_sdl *s = arg;
	const struct sandbox_list *lists[] = {&display_sandbox};

	/* named from inside: naming another thread opens /proc/self/task/TID/comm */
	pthread_setname_np(pthread_self(), "display");
	s->init_err = open_window(s);
	if (!s->init_err && sandbox_enter("display", lists, 1))
		s->init_err = -EPERM;
	if (!s->init_err) {
		display_set_listener(s->o.disp, wake, s);
		redraw(s);
	}
	sem_post(&s->ready);
	if (s->init_err) {
		close_window(s);
		return NULL;
	}
	loop(s);
	display_set_listener(s->o.disp, NULL, NULL);
	if (s->screenshot)
		s->shot_err = window_screenshot(s, s->screenshot);
	close_window(s);
	return NULL;
}

int display_sdl_start(struct display_sdl **out, const struct display_sdl_opts *opts)
{
	struct display_sdl *s;
	char why[256];
	int err;

	if (sdl_api_load(why, sizeof(why))) {
		log_error("--display sdl: %s (install libsdl2-2.0-0, or use --gpu --screenshot)",
			  why);
		return -ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *opts;
	if (!s->o.close_timeout_ms)
		s->o.close_timeout_ms = DISPLAY_SDL_CLOSE_TIMEOUT_MS;
	if (!s->o.title)
		s->o.title = "vmm";
	sem_init(&s->ready, 0, 0);
	err = -pthread_create(&s->thread, NULL, thread_main, s);
	if (!err) {
		while (sem_wait(&s->ready) && errno == EINTR)
			;
		err = s->init_err;
		if (err)
			pthread_join(s->thread, NULL);
	}
	if (err) {
		sem_destroy(&s->ready);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int display_sdl_stop(struct display_sdl *s, const char *screenshot)
{
	SDL_Event ev;
	int err;

	if (!s)
		return 0;
	s->screenshot = screenshot;
	atomic_store(&s->stop, true);
	ev = (SDL_Event){.type = s->wake_event};
	sdl.PushEvent(&ev);
	pthread_join(s->thread, NULL);
	err = s->shot_err;
	sem_destroy(&s->ready);
	free(s);
	return err;
}

#endif
