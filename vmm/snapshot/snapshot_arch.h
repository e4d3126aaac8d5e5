/* What saving and restoring the VM's devices (vm_snapshot_devices.c) asks of the architecture:
 * its platform devices' sections (vm_snapshot_devices.h lists them; x86: i8042, CMOS RTC and the
 * POST code, in vmm/snapshot/x86/snapshot_devices_arch.c), and the section helpers both sides
 * use. Only vmm/snapshot includes it. */
#ifndef VMM_SNAPSHOT_ARCH_H
#define VMM_SNAPSHOT_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/snapshot/vm_snapshot_devices.h"

/* put(w, tag, inst, data, len); a failure is described in err naming `what`. Returns 0 or what
 * put returned. */
int snap_dev_put_section(snap_put_fn put, void *w, uint32_t tag, uint32_t inst, const void *data,
			 size_t len, const char *what, char *err, size_t errlen);

/* The section's bytes when it exists with exactly `len` bytes; NULL with a message otherwise. */
const void *snap_dev_get_exact(snap_get_fn get, void *rd, uint32_t tag, uint32_t inst, size_t len,
			       const char *what, char *err, size_t errlen);

/* Puts the platform devices' sections (right after COM1's) and their part of the misc state in
 * *m. Returns 0 or put's error, described in err. */
int snapshot_arch_devices_save(struct vm *vm, snap_put_fn put, void *w, struct vm_misc_state *m,
			       char *err, size_t errlen);

/* Restores the platform devices' sections (right after COM1's), each checked. Returns 0 or
 * -EINVAL with the reason in err. */
int snapshot_arch_devices_restore(struct vm *vm, snap_get_fn get, void *rd, char *err,
				  size_t errlen);

/* The platform's part of the checked misc state back into its devices, last of the restore. */
void snapshot_arch_misc_restore(struct vm *vm, const struct vm_misc_state *m);

#endif
