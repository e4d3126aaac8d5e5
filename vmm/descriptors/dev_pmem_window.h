/* The guest windows of the VM's virtio-pmem devices (private to vmm/descriptors/dev_pmem*.c):
 * each a host file mapped into 2 MiB-aligned guest-physical space above the RAM and the
 * virtio-mem region (base/layout.h), with a KVM memory slot of its own, DEV_PMEM_FIRST_SLOT + k
 * for window k (0..DEV_PMEM_MAX-1). Boot devices open theirs at creation; a hot-added one opens
 * its own while the VM runs (on the hotplug thread) and closes it once the guest released the
 * device. Window k is not the device's index in the configuration: removes shift those.
 *
 * One VM per process: the windows belong to the VM that opened the first (pmem_windows_begin()).
 * Threads: the main thread at creation and teardown, the hotplug thread in between (one call at
 * a time: the API's lock). */
#ifndef VMM_DEV_PMEM_WINDOW_H
#define VMM_DEV_PMEM_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/pmem/pmem.h"

struct vm;
struct virtio_dev;

/* The windows of `vm` from here on (a VM with no window so far starts empty). 0, or -EBUSY when
 * another VM of this process has them. */
int pmem_windows_begin(struct vm *vm);
/* Closes every window of `vm` (its devices went with their transports). */
void pmem_windows_end(struct vm *vm);

/* A window no device has, or -1: as many pmem devices as a VM may have. */
int pmem_window_free(void);
/* Opens window k for device `id` with options `o`: the file opened and checked (a non-zero
 * `size` must be its size), its guest address `gpa` (0: the lowest free one; else checked
 * against the other windows), mapped, its KVM slot set, and the device created on it (not
 * initialised). *dev gets the device; *gpa_out (may be NULL) its address. 0, or -errno with the
 * reason in err (the window stays free). */
int pmem_window_open(struct vm *vm, int k, const char *id, const struct virtio_pmem_opts *o,
		     uint64_t gpa, uint64_t size, struct virtio_dev **dev, uint64_t *gpa_out,
		     char *err, size_t errlen);
/* Window k's KVM slot removed, its mapping and file closed (its device is gone already or is
 * the transport's to destroy). */
void pmem_window_close(struct vm *vm, int k);
/* The window of device `id`, or -1; its device (NULL: none). */
int pmem_window_find(const char *id);
struct virtio_dev *pmem_window_dev(int k);
/* Window k's guest address, or 0: not open. */
uint64_t pmem_window_gpa(int k);

#endif
