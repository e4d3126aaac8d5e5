/* dlopen() of SDL2 for the --display sdl window (see host/ui/sdl_api.h). */
#ifdef HAVE_SDL2

#include "host/ui/sdl_api.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#define SDL_LIBRARY "libSDL2-2.0.so.0"

struct sdl_api sdl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	void *lib = dlopen(SDL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(load_error, sizeof(load_error), "cannot load %s: %s", SDL_LIBRARY,
			 dlerror());
		return;
	}
#define SDL_API_LOOKUP(name)                                                                       \
	if (!load_error[0]) {                                                                      \
		*(void **)&sdl.name = dlsym(lib, "SDL_" #name);                                    \
		if (!sdl.name)                                                                     \
			snprintf(load_error, sizeof(load_error), "%s lacks SDL_%s", SDL_LIBRARY,   \
				 #name);                                                           \
	}
	SDL_API_FUNCTIONS(SDL_API_LOOKUP)
#undef SDL_API_LOOKUP
}

int sdl_api_load(char *err, size_t len)
{
	pthread_once(&once, load);
	if (!load_error[0])
		return 0;
	snprintf(err, len, "%s", load_error);
	return -ENOENT;
}

#endif
