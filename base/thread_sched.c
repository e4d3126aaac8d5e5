/* thread_sched_short_slice(): see base/thread_sched.h. */
#include "base/thread_sched.h"

#include <errno.h>
#include <linux/sched.h>       /* SCHED_NORMAL, SCHED_FLAG_RESET_ON_FORK */
#include <linux/sched/types.h> /* struct sched_attr: glibc before 2.41 has none */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int get_attr(struct sched_attr *a)
{
	memset(a, 0, sizeof(*a));
	if (syscall(SYS_sched_getattr, 0, a, (unsigned)sizeof(*a), 0u))
		return -errno;
	return 0;
}

int thread_sched_short_slice(uint64_t slice_ns)
{
	struct sched_attr a;
	int r = get_attr(&a);
	if (r)
		return r;
	if (a.sched_policy != SCHED_NORMAL || a.sched_nice < 0)
		return 1;
	a.size = (uint32_t)sizeof(a);
	a.sched_flags = SCHED_FLAG_RESET_ON_FORK;
	a.sched_runtime = slice_ns;
	a.sched_deadline = a.sched_period = 0;
	if (syscall(SYS_sched_setattr, 0, &a, 0u))
		return -errno;
	return 0;
}

int64_t thread_sched_slice(void)
{
	struct sched_attr a;
	int r = get_attr(&a);
	return r ? r : (int64_t)a.sched_runtime;
}
