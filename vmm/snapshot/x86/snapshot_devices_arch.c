/* x86's platform devices in a snapshot: the i8042's and the CMOS RTC's sections, the POST code
 * in the misc state (vmm/snapshot/snapshot_arch.h). */
#include "vmm/snapshot/snapshot_arch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/x86/snapshot_tags.h"
#include "devices/x86/i8042.h"
#include "devices/x86/post_port.h"
#include "devices/x86/rtc_cmos.h"
#include "vmm/vm/x86/vm_devices_arch.h"

int snapshot_arch_devices_save(struct vm *vm, snap_put_fn put, void *w, struct vm_misc_state *m,
			       char *err, size_t errlen)
{
	struct i8042_state k;
	struct rtc_cmos_state c;
	int r = 0;

	if (vm_devices_i8042(vm)) {
		i8042_save(vm_devices_i8042(vm), &k);
		r = snap_dev_put_section(put, w, SNAP_DEV_I8042, 0, &k, sizeof(k), "i8042", err,
					 errlen);
	}
	if (!r && vm_devices_rtc(vm)) {
		rtc_cmos_save(vm_devices_rtc(vm), &c);
		r = snap_dev_put_section(put, w, SNAP_DEV_RTC, 0, &c, sizeof(c), "rtc", err,
					 errlen);
	}
	if (!r && vm_devices_post(vm))
		m->post_code = atomic_load(&vm_devices_post(vm)->last);
	return r;
}

int snapshot_arch_devices_restore(struct vm *vm, snap_get_fn get, void *rd, char *err,
				  size_t errlen)
{
	struct i8042_state k;
	struct rtc_cmos_state c;
	const void *p;

	if (vm_devices_i8042(vm)) {
		p = snap_dev_get_exact(get, rd, SNAP_DEV_I8042, 0, sizeof(k), "i8042", err, errlen);
		if (!p)
			return -EINVAL;
		memcpy(&k, p, sizeof(k));
		if (i8042_restore(vm_devices_i8042(vm), &k)) {
			snprintf(err, errlen, "i8042: invalid saved state");
			return -EINVAL;
		}
	}
	if (vm_devices_rtc(vm)) {
		p = snap_dev_get_exact(get, rd, SNAP_DEV_RTC, 0, sizeof(c), "rtc", err, errlen);
		if (!p)
			return -EINVAL;
		memcpy(&c, p, sizeof(c));
		if (rtc_cmos_restore(vm_devices_rtc(vm), &c)) {
			snprintf(err, errlen, "rtc: invalid saved state");
			return -EINVAL;
		}
	}
	return 0;
}

void snapshot_arch_misc_restore(struct vm *vm, const struct vm_misc_state *m)
{
	if (vm_devices_post(vm))
		atomic_store(&vm_devices_post(vm)->last, m->post_code);
}
