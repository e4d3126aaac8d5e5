/* The CPU time a VM's guest has had (its vCPU threads' CPU clocks), which the I/O threads' polling
 * looks at (virtio_dev guest_cpu_ns, virtio/core/poll.h): a window in which the guest did not run
 * is cut, so a VMM whose threads share CPUs with other busy threads (several VMs on a host, more
 * queues than CPUs) stops spinning on a CPU the guest, or another VM, waits for. */
#ifndef VMM_VM_GUEST_CPU_H
#define VMM_VM_GUEST_CPU_H

#include <stdint.h>

struct vm;
struct virtio_dev;

/* The CPU time (ns) of the VM's running vCPU threads, summed; `vm` is a struct vm. */
uint64_t vm_guest_cpu_ns(const void *vm);

/* Gives dev the VM's polling: the window cap (--io-poll; the shared default until
 * vm_virtio_choose_io_poll() has counted every device's I/O threads) and the guest's clock. */
void vm_io_poll_attach(struct vm *vm, struct virtio_dev *dev);

#endif
