/* aarch64's platform devices in a snapshot (vmm/snapshot/snapshot_arch.h): the PL031 real-time
 * clock (the PL011 console is the generic code's, SNAP_DEV_PL011). No firmware boots on arm64
 * yet, so no variable store to restore (flash_restore.h). */
#include "vmm/snapshot/snapshot_arch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "devices/pl031.h"
#include "vmm/snapshot/flash_restore.h"
#include "vmm/vm/aarch64/vm_devices_arch.h"

int snapshot_arch_devices_save(struct vm *vm, snap_put_fn put, void *w, struct vm_misc_state *m,
			       char *err, size_t errlen)
{
	struct pl031_state s;
	(void)m;
	if (!vm_devices_pl031(vm))
		return 0;
	pl031_save(vm_devices_pl031(vm), &s);
	return snap_dev_put_section(put, w, SNAP_DEV_PL031, 0, &s, sizeof(s), "PL031", err, errlen);
}

int snapshot_arch_devices_restore(struct vm *vm, snap_get_fn get, void *rd, char *err,
				  size_t errlen)
{
	struct pl031_state s;
	if (!vm_devices_pl031(vm))
		return 0;
	const void *p =
	    snap_dev_get_exact(get, rd, SNAP_DEV_PL031, 0, sizeof(s), "PL031", err, errlen);
	if (!p)
		return -EINVAL;
	memcpy(&s, p, sizeof(s));
	if (pl031_restore(vm_devices_pl031(vm), &s)) {
		snprintf(err, errlen, "PL031: invalid saved state");
		return -EINVAL;
	}
	return 0;
}

void snapshot_arch_misc_restore(struct vm *vm, const struct vm_misc_state *m)
{
	(void)vm, (void)m;
}

int flash_restore(struct pflash *f, const char *vars_path, const uint8_t *saved, size_t len,
		  char *err, size_t errlen)
{
	(void)f, (void)vars_path, (void)len;
	if (!saved)
		return 0;
	snprintf(err, errlen, "a firmware variable store: aarch64 VMs boot no firmware yet");
	return -EINVAL;
}
