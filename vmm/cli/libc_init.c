/* libc_init_early(): see vmm/cli/libc_init.h. */
#include "vmm/cli/libc_init.h"

#include <jansson.h>
#include <malloc.h>
#include <sys/random.h>
#include <unistd.h>

/* glibc's default: 8 arenas per CPU on 64-bit (NARENAS_FROM_NCORES). */
#define ARENAS_PER_CPU 8

void libc_init_early(void)
{
	size_t seed = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed) || !seed)
		seed = (size_t)getpid() * 2654435761u + 1; /* 0 would ask jansson to seed itself */
	json_object_seed(seed);
	mallopt(M_ARENA_MAX, (int)(ARENAS_PER_CPU * (cpus > 0 ? cpus : 1)));
}
