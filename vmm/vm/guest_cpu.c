/* The guest's CPU time for the I/O threads' polling (see guest_cpu.h). */
#include "vmm/vm/guest_cpu.h"

#include <time.h>

#include "virtio/core/device.h"
#include "vmm/vm/io_poll.h"
#include "vmm/vm/vm.h"

uint64_t vm_guest_cpu_ns(const void *opaque)
{
	const struct vm *vm = opaque;
	uint64_t sum = 0;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		clockid_t c = __atomic_load_n(&vm->vcpus[i].cpu_clock, __ATOMIC_ACQUIRE);
		struct timespec t;

		/* a thread that ended meanwhile: EINVAL, its time no longer counts */
		if (c && clock_gettime(c, &t) == 0)
			sum += (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	}
	return sum;
}

void vm_io_poll_attach(struct vm *vm, struct virtio_dev *dev)
{
	unsigned us =
	    vm->cfg->io_poll_us == VM_IO_POLL_AUTO ? IO_POLL_SHARED_US : vm->cfg->io_poll_us;

	dev->poll_max_ns = us * 1000u;
	dev->guest_cpu_ns = vm_guest_cpu_ns;
	dev->guest_cpu_ctx = vm;
}
