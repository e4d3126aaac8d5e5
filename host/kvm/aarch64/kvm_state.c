/* KVM's part of a snapshot on aarch64 (host/kvm/kvm_state.h): not built yet. The state to save
 * is the vCPUs' registers through KVM_GET_REG_LIST and KVM_GET_ONE_REG, the GICv3's and the
 * ITS's through their device attributes, and the timers (issue 67); until it exists a snapshot
 * of an arm64 VM is refused with that reason, and nothing is written. The dirty log is generic
 * (kvm_dirty_log.c). */
#include "host/kvm/kvm_state.h"

#include <errno.h>
#include <stdio.h>

#define NOT_YET "snapshots of aarch64 VMs are not supported yet"

int kvm_vcpu_save(int dev_fd, int vcpu_fd, unsigned index, snap_put_fn put, void *w, char *err,
		  size_t errlen)
{
	(void)dev_fd, (void)vcpu_fd, (void)index, (void)put, (void)w;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}

int kvm_vcpu_restore(int dev_fd, int vcpu_fd, unsigned index, snap_get_fn get, void *r, char *err,
		     size_t errlen)
{
	(void)dev_fd, (void)vcpu_fd, (void)index, (void)get, (void)r;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}

int kvm_vm_save(int vm_fd, snap_put_fn put, void *w, char *err, size_t errlen)
{
	(void)vm_fd, (void)put, (void)w;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}

int kvm_vm_restore(int vm_fd, snap_get_fn get, void *r, bool clock_realtime, char *err,
		   size_t errlen)
{
	(void)vm_fd, (void)get, (void)r, (void)clock_realtime;
	snprintf(err, errlen, NOT_YET);
	return -ENOTSUP;
}
