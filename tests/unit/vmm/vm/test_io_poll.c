/* vmm/vm/io_poll.c: the default polling window cap from the host's CPUs. */
#include <criterion/criterion.h>
#include <sched.h>

#include "vmm/cli/cli.h"
#include "vmm/vm/io_poll.h"

Test(io_poll, long_window_when_every_io_thread_has_a_cpu)
{
	cr_expect_eq(io_poll_default_us(2, 1, 1), IO_POLL_SPARE_US, "1 vCPU + 1 thread on 2 CPUs");
	cr_expect_eq(io_poll_default_us(8, 2, 4), IO_POLL_SPARE_US);
	cr_expect_eq(io_poll_default_us(4, 1, 0), IO_POLL_SPARE_US, "no virtio device at all");
}

Test(io_poll, short_window_when_threads_share_cpus)
{
	cr_expect_eq(io_poll_default_us(2, 1, 2), IO_POLL_SHARED_US, "blk num-queues=2, 1 vCPU");
	cr_expect_eq(io_poll_default_us(2, 2, 1), IO_POLL_SHARED_US);
	cr_expect_eq(io_poll_default_us(1, 1, 1), IO_POLL_SHARED_US);
	cr_expect_eq(io_poll_default_us(4, 64, 1), IO_POLL_SHARED_US, "more vCPUs than CPUs");
}

Test(io_poll, unknown_host_counts_as_shared)
{
	cr_expect_eq(io_poll_default_us(0, 1, 1), IO_POLL_SHARED_US);
}

Test(io_poll, spare_window_outlasts_the_shared_one)
{
	cr_expect_gt(IO_POLL_SPARE_US, IO_POLL_SHARED_US);
	cr_expect_leq(IO_POLL_SPARE_US, VM_MAX_IO_POLL_US, "within --io-poll's range");
}

Test(io_poll, host_cpus_is_the_affinity_mask)
{
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	cr_expect_eq(host_usable_cpus(), (unsigned)CPU_COUNT(&set));
	cr_expect_gt(host_usable_cpus(), 0);
}
