/* A filtered thread may allocate and free as much as it likes: glibc's malloc must not make a
 * system call the filters refuse. Without sandbox_init()'s trim threshold, freeing a burst of
 * buffers shrinks the thread arena's heap, and glibc opens /proc/sys/vm/overcommit_memory the
 * first time it does so: a thread under the base list (no openat) then dies by SIGSYS, and this
 * test crashes. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host/sandbox/sandbox.h"

#define ASAN_BUILD SANDBOX_SANITIZED

#define BLOCKS 64
#define BLOCK  100000 /* below the mmap threshold: from the thread's arena heap */

static void *churn(void *arg)
{
	const struct sandbox_list *lists[] = {&sandbox_base};
	static void *blocks[BLOCKS];

	(void)arg;
	if (sandbox_enter("malloc-test", lists, 1))
		return (void *)1;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < BLOCKS; i++) {
			blocks[i] = malloc(BLOCK);
			if (!blocks[i])
				return (void *)2;
			memset(blocks[i], round, BLOCK);
		}
		for (int i = BLOCKS - 1; i >= 0; i--)
			free(blocks[i]);
	}
	return NULL;
}

Test(sandbox_malloc, freeing_a_burst_in_a_filtered_thread_stays_inside_the_filter)
{
	pthread_t t;
	void *ret = (void *)-1;

#if ASAN_BUILD
	/* The sanitizer's allocator replaces glibc's and makes system calls of its own. */
	cr_skip_test("glibc's malloc only (AddressSanitizer replaces it)");
#endif
	cr_assert_eq(sandbox_init(SANDBOX_ON), 0);
	cr_assert_eq(pthread_create(&t, NULL, churn, NULL), 0);
	cr_assert_eq(pthread_join(t, &ret), 0);
	cr_expect_null(ret, "the thread could not enter its sandbox or allocate (%p)", ret);
}
