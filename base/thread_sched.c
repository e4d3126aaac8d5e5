/* thread_sched_short_slice(): see base/thread_sched.h. */
#include "base/thread_sched.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct sched_attr (include/uapi/linux/sched/types.h, SCHED_ATTR_SIZE_VER1);
 * glibc before 2.41 has neither the structure nor a wrapper. */
struct kernel_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

#define POLICY_OTHER	   0u	 /* SCHED_OTHER (SCHED_NORMAL) */
#define FLAG_RESET_ON_FORK 0x01u /* SCHED_FLAG_RESET_ON_FORK */

static int get_attr(struct kernel_sched_attr *a)
{
	memset(a, 0, sizeof(*a));
	if (syscall(SYS_sched_getattr, 0, a, (unsigned)sizeof(*a), 0u))
		return -errno;
	return 0;
}

int thread_sched_short_slice(uint64_t slice_ns)
{
	struct kernel_sched_attr a;
	int r = get_attr(&a);
	if (r)
		return r;
	if (a.sched_policy != POLICY_OTHER || a.sched_nice < 0)
		return 1;
	a.size = (uint32_t)sizeof(a);
	a.sched_flags = FLAG_RESET_ON_FORK;
	a.sched_runtime = slice_ns;
	a.sched_deadline = a.sched_period = 0;
	if (syscall(SYS_sched_setattr, 0, &a, 0u))
		return -errno;
	return 0;
}

int64_t thread_sched_slice(void)
{
	struct kernel_sched_attr a;
	int r = get_attr(&a);
	return r ? r : (int64_t)a.sched_runtime;
}
