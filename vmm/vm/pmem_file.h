/* A virtio-pmem backing file (--pmem path=FILE): opened, checked and mapped for the guest.
 *
 * A file that shrinks under a running VM must not kill the VMM with SIGBUS. The rules:
 *   - only a regular file whose size is a non-zero multiple of 2 MiB is taken (the window is the
 *     whole file, so no page of the window lies past its end at the start);
 *   - the VMM itself never reads or writes the mapping: the window is not guest RAM for the
 *     device models (guest_mem does not know it, a virtqueue buffer there fails the bounds
 *     check), so no VMM thread can fault on a page that was truncated away;
 *   - only KVM touches it, for the guest: a guest access past a shrunk end makes KVM_RUN fail
 *     (EFAULT, no signal), and the VMM stops that VM with an error.
 * A read-only file is opened O_RDONLY, mapped PROT_READ and given to KVM as a read-only slot
 * (the guest's writes become MMIO exits that nothing claims and are dropped). */
#ifndef VMM_PMEM_FILE_H
#define VMM_PMEM_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pmem_file {
	int fd;
	void *host;
	uint64_t size;
	bool read_only;
};

/* Opens `path` (read-only or read-write) and checks it (see above). Returns 0, or -errno with the
 * reason in `err`. Nothing is mapped yet (pmem_file_map()). */
int pmem_file_open(struct pmem_file *f, const char *path, bool read_only, char *err, size_t errlen);
/* Maps the whole file MAP_SHARED (PROT_READ for a read-only file). Returns 0 or -errno. */
int pmem_file_map(struct pmem_file *f);
/* Unmaps and closes (fd -1: already handed on). */
void pmem_file_close(struct pmem_file *f);

#endif
