/* The arch parts of snapshots and migrations on aarch64 (vmm/snapshot/cpu_check.h,
 * snapshot_arch.h, flash_restore.h): not built yet. host/kvm/aarch64/kvm_state.c refuses to save
 * or restore an arm64 VM's state; these refuse the CPU model (the ID registers an arm64 model
 * would compare) and the platform devices the same way, so a snapshot or a migration stream,
 * from x86 or from anywhere, is refused before anything runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/snapshot/cpu_check.h"
#include "vmm/snapshot/flash_restore.h"
#include "vmm/snapshot/snapshot_arch.h"

#define NOT_YET "snapshots and migration of aarch64 VMs are not supported yet"

int cpu_check_put_model(const struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	(void)vm, (void)w;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}

void cpu_check_note_restored(struct vm *vm, struct snap_reader *r)
{
	(void)vm, (void)r;
}

uint8_t *cpu_check_encode_vm(const struct vm *vm, size_t *len)
{
	(void)vm;
	*len = 0;
	return NULL;
}

int cpu_check_model(const void *bytes, size_t len, const char *what, const char *kvm_path,
		    bool enforce, char *err, size_t errlen)
{
	(void)bytes, (void)len, (void)kvm_path, (void)enforce;
	snprintf(err, errlen, "%s: %s", what, NOT_YET);
	return -ENOTSUP;
}

int cpu_check_reader(struct snap_reader *r, const char *what, const char *kvm_path, bool enforce,
		     char *err, size_t errlen)
{
	(void)r, (void)kvm_path, (void)enforce;
	snprintf(err, errlen, "%s: %s", what, NOT_YET);
	return -ENOTSUP;
}

int cpu_check_snapshot_dir(const char *dir, const char *kvm_path)
{
	(void)kvm_path;
	fprintf(stderr, "%s: %s\n", dir, NOT_YET);
	return 2;
}

int snapshot_arch_devices_save(struct vm *vm, snap_put_fn put, void *w, struct vm_misc_state *m,
			       char *err, size_t errlen)
{
	(void)vm, (void)put, (void)w, (void)m;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}

int snapshot_arch_devices_restore(struct vm *vm, snap_get_fn get, void *rd, char *err,
				  size_t errlen)
{
	(void)vm, (void)get, (void)rd;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}

void snapshot_arch_misc_restore(struct vm *vm, const struct vm_misc_state *m)
{
	(void)vm, (void)m;
}

int flash_restore(struct pflash *f, const char *vars_path, const uint8_t *saved, size_t len,
		  char *err, size_t errlen)
{
	(void)f, (void)vars_path, (void)saved, (void)len;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}
