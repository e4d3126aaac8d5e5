/* vmm/vm/io_poll.c: the default polling window cap from the host's CPUs; vmm/vm/guest_cpu.c: the
 * guest's CPU clock the polling looks at. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "base/clock.h"
#include "virtio/core/device.h"
#include "vmm/cli/cli.h"
#include "vmm/vm/guest_cpu.h"
#include "vmm/vm/io_poll.h"
#include "vmm/vm/vm.h"

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

/* ---- the guest's CPU clock (vmm/vm/guest_cpu.c) ---- */

static void *ended_thread(void *clock)
{
	pthread_getcpuclockid(pthread_self(), clock);
	return NULL;
}

Test(guest_cpu, sums_the_running_vcpu_threads_clocks)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	pthread_t t;
	clockid_t gone;

	cr_assert_not_null(vm);
	vm->ncpus = 3;
	cr_assert_eq(pthread_getcpuclockid(pthread_self(), &vm->vcpus[0].cpu_clock), 0);
	/* vcpus[1]: no thread yet (0); vcpus[2]: a thread that ended (its clock is EINVAL) */
	cr_assert_eq(pthread_create(&t, NULL, ended_thread, &gone), 0);
	pthread_join(t, NULL);
	vm->vcpus[2].cpu_clock = gone;
	uint64_t before = vm_guest_cpu_ns(vm), wall = mono_ns();
	while (mono_ns() - wall < 5000000) /* 5 ms of this "vCPU" spinning */
		;
	uint64_t ran = vm_guest_cpu_ns(vm) - before;
	cr_expect_gt(ran, 0, "this thread's CPU time counted");
	cr_expect_leq(ran, mono_ns() - wall, "no more than the wall time, the others counted 0");
	free(vm);
}

Test(guest_cpu, attach_gives_the_cap_and_the_clock)
{
	struct vm_config cfg = {.io_poll_us = 100};
	struct vm vm = {.cfg = &cfg};
	struct virtio_dev dev = {0};

	vm_io_poll_attach(&vm, &dev);
	cr_expect_eq(dev.poll_max_ns, 100000);
	cr_expect_eq(dev.guest_cpu_ns, vm_guest_cpu_ns);
	cr_expect_eq(dev.guest_cpu_ctx, &vm);
	cfg.io_poll_us = VM_IO_POLL_AUTO;
	vm_io_poll_attach(&vm, &dev);
	cr_expect_eq(dev.poll_max_ns, IO_POLL_SHARED_US * 1000u,
		     "shared until the devices are counted");
}
