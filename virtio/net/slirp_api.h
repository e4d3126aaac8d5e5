/* libslirp, loaded on demand: the VMM links no libslirp; `--net user` dlopen()s libslirp.so.0
 * (and with it GLib) and looks up the functions the user-mode backend calls, so every other run
 * starts without those libraries. Built only with HAVE_LIBSLIRP (libslirp's header gives the
 * types). */
#ifndef VIRTIO_SLIRP_API_H
#define VIRTIO_SLIRP_API_H

#include <libslirp.h>
#include <stddef.h>

/* The libslirp functions virtio/net/slirp.c calls, as X(name). */
#define SLIRP_API_FUNCTIONS(X)                                                                     \
	X(slirp_add_hostfwd)                                                                       \
	X(slirp_cleanup)                                                                           \
	X(slirp_handle_timer)                                                                      \
	X(slirp_input)                                                                             \
	X(slirp_new)                                                                               \
	X(slirp_pollfds_fill)                                                                      \
	X(slirp_pollfds_poll)

struct slirp_api {
#define SLIRP_API_POINTER(name) __typeof__(name) *name;
	SLIRP_API_FUNCTIONS(SLIRP_API_POINTER)
#undef SLIRP_API_POINTER
};

/* The loaded functions; valid after slirp_api_load() returned 0. */
extern struct slirp_api slirp_fn;

/* Loads libslirp and every function (once; later calls return the first result). Returns 0, or
 * -ENOTSUP with the reason in err[0..len) (library or a symbol missing). */
int slirp_api_load(char *err, size_t len);

#endif
