/* Seccomp filters compiled ahead of their use. See filter_cache.h. */
#include "host/sandbox/filter_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A few roles with a couple of variants each (control.c prepares ~6): a small fixed table. */
#define FILTER_CACHE_SLOTS 16

struct cached_filter {
	const struct sandbox_list *lists[FILTER_CACHE_LISTS];
	size_t n;
	struct sock_fprog prog;
};

static struct cached_filter cache[FILTER_CACHE_SLOTS];
static size_t used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct cached_filter *find(const struct sandbox_list *const *lists, size_t n)
{
	for (size_t i = 0; i < used; i++)
		if (cache[i].n == n && !memcmp(cache[i].lists, lists, n * sizeof(*lists)))
			return &cache[i];
	return NULL;
}

int filter_cache_put(const struct sandbox_list *const *lists, size_t n,
		     const struct sock_filter *insns, unsigned short len)
{
	if (n > FILTER_CACHE_LISTS)
		return -E2BIG;
	struct sock_filter *copy = malloc((size_t)len * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, insns, (size_t)len * sizeof(*copy));
	pthread_mutex_lock(&lock);
	int r = find(lists, n) ? -EEXIST : used == FILTER_CACHE_SLOTS ? -ENOSPC : 0;
	if (!r) {
		struct cached_filter *c = &cache[used];
		memcpy(c->lists, lists, n * sizeof(*lists));
		c->n = n;
		c->prog = (struct sock_fprog){len, copy};
		used++; /* after the entry is whole: get() reads under the lock anyway */
	}
	pthread_mutex_unlock(&lock);
	if (r)
		free(copy);
	return r;
}

const struct sock_fprog *filter_cache_get(const struct sandbox_list *const *lists, size_t n)
{
	pthread_mutex_lock(&lock);
	struct cached_filter *c = n <= FILTER_CACHE_LISTS ? find(lists, n) : NULL;
	pthread_mutex_unlock(&lock);
	return c ? &c->prog : NULL;
}
