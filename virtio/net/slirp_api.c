/* dlopen() of libslirp for --net user (see virtio/net/slirp_api.h). */
#ifdef HAVE_LIBSLIRP

#include "virtio/net/slirp_api.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#define SLIRP_LIBRARY "libslirp.so.0"

struct slirp_api slirp_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	void *lib = dlopen(SLIRP_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(load_error, sizeof(load_error), "cannot load %s: %s", SLIRP_LIBRARY,
			 dlerror());
		return;
	}
#define SLIRP_API_LOOKUP(name)                                                                     \
	if (!load_error[0]) {                                                                      \
		*(void **)&slirp_fn.name = dlsym(lib, #name);                                      \
		if (!slirp_fn.name)                                                                \
			snprintf(load_error, sizeof(load_error), "%s lacks %s", SLIRP_LIBRARY,     \
				 #name);                                                           \
	}
	SLIRP_API_FUNCTIONS(SLIRP_API_LOOKUP)
#undef SLIRP_API_LOOKUP
}

int slirp_api_load(char *err, size_t len)
{
	pthread_once(&once, load);
	if (!load_error[0])
		return 0;
	snprintf(err, len, "%s", load_error);
	return -ENOTSUP;
}

#endif
