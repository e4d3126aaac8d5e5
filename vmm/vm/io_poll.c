/* The I/O threads' default polling window cap (see io_poll.h). */
#include "vmm/vm/io_poll.h"

#include <sched.h>

unsigned io_poll_default_us(unsigned host_cpus, unsigned vcpus, unsigned io_threads)
{
	if (host_cpus == 0 || vcpus + io_threads > host_cpus)
		return IO_POLL_SHARED_US;
	return IO_POLL_SPARE_US;
}

unsigned host_usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	return (unsigned)CPU_COUNT(&set);
}
