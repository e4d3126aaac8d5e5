/* x86's platform devices in a snapshot: the i8042's and the CMOS RTC's sections, the ACPI PM
 * block of a firmware boot (a legacy BIOS's fixed hardware, or UEFI's PIIX4 PM function), the POST
 * code in the misc state (vmm/snapshot/snapshot_arch.h). */
#include "vmm/snapshot/snapshot_arch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/x86/snapshot_tags.h"
#include "devices/acpi_pm1.h"
#include "devices/pci/piix4_pm.h"
#include "devices/x86/i8042.h"
#include "devices/x86/post_port.h"
#include "devices/x86/rtc_cmos.h"
#include "vmm/vm/x86/vm_devices_arch.h"

/* The firmware boot's ACPI PM block, if it has one. */
static int save_pm(struct vm *vm, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct acpi_pm1_state a;
	struct piix4_pm_state f;

	if (vm_devices_acpi_pm1(vm)) {
		acpi_pm1_save(vm_devices_acpi_pm1(vm), &a);
		return snap_dev_put_section(put, w, SNAP_DEV_ACPI_PM1, 0, &a, sizeof(a), "acpi-pm1",
					    err, errlen);
	}
	if (vm_firmware_piix4_pm(vm)) {
		piix4_pm_save(vm_firmware_piix4_pm(vm), &f);
		return snap_dev_put_section(put, w, SNAP_DEV_PIIX4_PM, 0, &f, sizeof(f), "piix4-pm",
					    err, errlen);
	}
	return 0;
}

/* Back into the block the VM has. Optional: a snapshot from before they were saved has none (the
 * registers stay at reset, and a UEFI guest's power-off reaches no block until OVMF maps it). */
static int restore_pm(struct vm *vm, snap_get_fn get, void *rd, char *err, size_t errlen)
{
	uint32_t tag = vm_devices_acpi_pm1(vm)	  ? SNAP_DEV_ACPI_PM1
		       : vm_firmware_piix4_pm(vm) ? SNAP_DEV_PIIX4_PM
						  : 0;
	const char *what = tag == SNAP_DEV_ACPI_PM1 ? "acpi-pm1" : "piix4-pm";
	struct acpi_pm1_state a;
	struct piix4_pm_state f;
	size_t len = 0;
	int r;

	if (!tag)
		return 0;
	if (!get(rd, tag, 0, &len)) {
		log_warn(
		    "%s: the snapshot has no state for it (an older VMM's): its registers start "
		    "from reset",
		    what);
		return 0;
	}
	if (tag == SNAP_DEV_ACPI_PM1) {
		const void *p = snap_dev_get_exact(get, rd, tag, 0, sizeof(a), what, err, errlen);
		if (!p)
			return -EINVAL;
		memcpy(&a, p, sizeof(a));
		r = acpi_pm1_restore(vm_devices_acpi_pm1(vm), &a);
	} else {
		const void *p = snap_dev_get_exact(get, rd, tag, 0, sizeof(f), what, err, errlen);
		if (!p)
			return -EINVAL;
		memcpy(&f, p, sizeof(f));
		r = piix4_pm_restore(vm_firmware_piix4_pm(vm), &f);
	}
	if (r)
		snprintf(err, errlen, "%s: %s", what,
			 r == -EBUSY ? "its saved ports are taken" : "invalid saved state");
	return r ? -EINVAL : 0;
}

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
	if (!r)
		r = save_pm(vm, put, w, err, errlen);
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
	return restore_pm(vm, get, rd, err, errlen);
}

void snapshot_arch_misc_restore(struct vm *vm, const struct vm_misc_state *m)
{
	if (vm_devices_post(vm))
		atomic_store(&vm_devices_post(vm)->last, m->post_code);
}
