/* Seccomp filters compiled ahead of their use (sandbox_prepare() in sandbox.h): the BPF program
 * libseccomp generates for a thread's lists, kept so that the thread that enters with those
 * lists installs it at once instead of generating it again (~0.2 ms a filter, several per
 * restore, each on the path from PUT /snapshot/load to the guest running). Internal to
 * host/sandbox. */
#ifndef VMM_SANDBOX_FILTER_CACHE_H
#define VMM_SANDBOX_FILTER_CACHE_H

#include <linux/filter.h>
#include <stddef.h>

#include "host/sandbox/sandbox.h"

/* The most lists a cached filter is made of (sandbox_enter() callers pass at most 6). */
#define FILTER_CACHE_LISTS 8

/* Keeps a copy of `prog` (its instructions: `len` of them) as the filter of `lists`. Returns 0,
 * -EEXIST when those lists have one already, -E2BIG for too many lists, -ENOSPC when the cache
 * is full, or -ENOMEM. Thread-safe. */
int filter_cache_put(const struct sandbox_list *const *lists, size_t n,
		     const struct sock_filter *insns, unsigned short len);

/* The filter kept for exactly `lists` (the same lists in the same order), or NULL. The program
 * stays valid until the process ends. Thread-safe. */
const struct sock_fprog *filter_cache_get(const struct sandbox_list *const *lists, size_t n);

#endif
