/* SDL2, loaded on demand: the VMM links no SDL2 library; `--display sdl` dlopen()s
 * libSDL2-2.0.so.0 and looks up the functions the window uses. Every other run then starts
 * without SDL2's ~30 shared libraries (X11, Wayland, PulseAudio, ...), which is most of the VMM's
 * start-up time and resident memory. Only built with HAVE_SDL2 (SDL2's headers give the types). */
#ifndef VMM_SDL_API_H
#define VMM_SDL_API_H

#include <SDL.h>
#include <stddef.h>

/* The SDL functions virtio/display/display_sdl.c calls, as X(name). */
#define SDL_API_FUNCTIONS(X)                                                                       \
	X(CreateRenderer)                                                                          \
	X(CreateTexture)                                                                           \
	X(CreateWindow)                                                                            \
	X(Delay)                                                                                   \
	X(DestroyRenderer)                                                                         \
	X(DestroyTexture)                                                                          \
	X(DestroyWindow)                                                                           \
	X(GetError)                                                                                \
	X(GetRendererOutputSize)                                                                   \
	X(GetTicks)                                                                                \
	X(GetWindowSize)                                                                           \
	X(Init)                                                                                    \
	X(PumpEvents)                                                                              \
	X(PushEvent)                                                                               \
	X(QueryTexture)                                                                            \
	X(Quit)                                                                                    \
	X(RegisterEvents)                                                                          \
	X(RenderClear)                                                                             \
	X(RenderCopy)                                                                              \
	X(RenderPresent)                                                                           \
	X(RenderReadPixels)                                                                        \
	X(SetHint)                                                                                 \
	X(SetRenderDrawColor)                                                                      \
	X(SetWindowGrab)                                                                           \
	X(SetWindowSize)                                                                           \
	X(SetWindowTitle)                                                                          \
	X(UpdateTexture)                                                                           \
	X(WaitEventTimeout)

struct sdl_api {
#define SDL_API_POINTER(name) __typeof__(SDL_##name) *name;
	SDL_API_FUNCTIONS(SDL_API_POINTER)
#undef SDL_API_POINTER
};

/* The loaded functions; valid after sdl_api_load() returned 0. */
extern struct sdl_api sdl;

/* Loads libSDL2 and every function (once; later calls return the first result). Returns 0, or
 * -ENOENT with the reason in err[0..len) (library missing, a symbol missing). */
int sdl_api_load(char *err, size_t len);

#endif
