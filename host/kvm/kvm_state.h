/* KVM's part of a snapshot: the state KVM keeps for each vCPU and for the VM, saved as sections
 * through base/snapshot_io.h, and the dirty-page log that diff snapshots of guest RAM need.
 * The interface is the same on every architecture; what the sections hold is the
 * architecture's (x86: registers, FPU/XSAVE, MSRs, LAPIC, pending events, PIC, IOAPIC, PIT,
 * kvmclock: host/kvm/x86/kvm_state.c, its sections listed in kvm_state_x86.h). The dirty log is
 * generic (host/kvm/kvm_dirty_log.c).
 *
 * A snapshot is untrusted input: every section is checked for presence and exact length, counts
 * are bounded, and what KVM itself would refuse is reported naming the section. Messages go into
 * `err` (errlen bytes); nothing here logs at error level. */
#ifndef VMM_KVM_STATE_H
#define VMM_KVM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/snapshot_io.h"

struct kvm;
struct guest_mem;

/* Puts every section of vCPU `index` (see above) with instance = index. `dev_fd` is /dev/kvm's
 * fd (struct kvm's dev_fd): the MSR index list and the capabilities are system ioctls.
 *
 * The vCPU must be out of KVM_RUN (parked), and an exit to user space (KVM_EXIT_IO, _MMIO) must
 * have been completed by re-entering KVM_RUN once with kvm_run->immediate_exit set: KVM finishes
 * such an instruction (e.g. moves RIP past an OUT) only on the next KVM_RUN, and that pending
 * part is in no state this saves (KVM API doc, "KVM_RUN"). Returns 0, -errno of the first ioctl
 * that fails, or what `put` returns; `err` says which. */
int kvm_vcpu_save(int dev_fd, int vcpu_fd, unsigned index, snap_put_fn put, void *w, char *err,
		  size_t errlen);

/* Restores vCPU `index` from the sections of kvm_vcpu_save() into a freshly created vCPU of a
 * VM whose irqchip, PIT and clock are restored or about to be (before any vCPU runs). Order:
 * CPUID, SREGS (with the APIC base), REGS, XSAVE, XCRS, LAPIC (after the APIC base), MSRS (after
 * CPUID and LAPIC: the TSC first, the TSC deadline last, as KVM ignores a deadline while the
 * LAPIC timer is not in TSC-deadline mode), DEBUGREGS, EVENTS, MP_STATE.
 * Returns 0; -EINVAL when a section is missing, has the wrong length or bad content (message
 * names the section); -errno of a failing ioctl (message names the ioctl and the section). */
int kvm_vcpu_restore(int dev_fd, int vcpu_fd, unsigned index, snap_get_fn get, void *r, char *err,
		     size_t errlen);

/* Puts the VM's own sections: x86: SNAP_VM_IRQCHIP (instances 0, 1, 2), SNAP_VM_PIT and
 * SNAP_VM_CLOCK of a VM with an in-kernel irqchip and PIT; aarch64: the GICv3's distributor,
 * each vCPU's redistributor and CPU interface (hence the vCPUs' fds, `ncpus` of them, in index
 * order) and the ITS, whose tables KVM first writes into guest RAM (so before RAM is saved).
 * Call with every vCPU parked. Returns 0 or -errno (`err` says). */
int kvm_vm_save(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_put_fn put,
		void *w, char *err, size_t errlen);

/* Has KVM write into guest RAM the state it keeps there for the guest (aarch64: the LPIs' pending
 * bits and the ITS's tables, where the guest put them; x86: nothing), so that RAM saved or sent
 * from here on holds it: before a diff snapshot's or a migration's last dirty log is taken
 * (kvm_vm_save() does it again, to the same bytes, for a full snapshot). Every vCPU parked.
 * Returns 0 or -errno (`err` says). */
int kvm_vm_flush_to_ram(const struct kvm *kvm, char *err, size_t errlen);

/* Restores them into a new VM (kvm_create_chips() made its irqchip and PIT; aarch64: the GIC and
 * ITS exist, guest RAM holds the snapshot's) before its vCPUs run: x86: irqchips, then the PIT,
 * then kvmclock; aarch64: the distributor, the redistributors and CPU interfaces, then the ITS
 * (its registers, its tables from guest RAM, its GITS_CTLR last). Without clock_realtime kvmclock
 * is set to the saved clock (flags 0), so the guest sees no jump in time; with it, KVM_SET_CLOCK
 * gets KVM_CLOCK_REALTIME and the saved wall-clock stamp, so kvmclock moves on by the wall time
 * since the snapshot (Firecracker's clock_realtime). Returns 0, -EINVAL for a missing or bad
 * section or a snapshot without a realtime stamp (clock_realtime), -EOPNOTSUPP when this host's KVM
 * lacks KVM_CLOCK_REALTIME (clock_realtime), or -errno of the ioctl; `err` says which. */
int kvm_vm_restore(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
		   void *r, bool clock_realtime, char *err, size_t errlen);

/* What a restore does once every vCPU's registers are back (kvm_vcpu_restore()): x86 nothing;
 * aarch64, with clock_realtime, moves the guest's virtual counter on by the wall time since the
 * save (SNAP_VM_TIMER_STAMP: the counter and the wall time read together, the frequency), as
 * x86's kvmclock moves (the registers it follows hold the counter of the pause). Returns 0, or
 * -EINVAL for a missing or bad stamp, or -errno of the ioctl; `err` says which. */
int kvm_vm_restore_late(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
			void *r, bool clock_realtime, char *err, size_t errlen);

/* ---- dirty pages of guest RAM (diff snapshots) ----
 *
 * Page i of guest RAM is the i-th 4 KiB page counting through mem's regions in order (region 0,
 * then region 1): the memory file's page order. A bitmap covers kvm_dirty_bitmap_words(mem)
 * 64-bit words, bit i of word i / 64 for page i.
 *
 * KVM logs only the guest's own writes (its vCPUs, through its page tables). Writes the VMM
 * makes to guest RAM itself (virtio devices filling buffers and used rings, loaders) are NOT in
 * the log: a diff snapshot must add the pages its device models wrote, or save with devices
 * quiesced and their rings in the device state. */

/* Re-registers every slot of kvm_map_memory() (slot i = region i) with KVM_MEM_LOG_DIRTY_PAGES.
 * From then on KVM logs the pages the guest writes. Returns 0 or -errno (logged). */
int kvm_dirty_log_start(struct kvm *kvm, const struct guest_mem *mem);

/* Re-registers the slots without dirty logging (a failed migration gives the guest back its
 * full write speed). Returns 0 or -errno (logged). */
int kvm_dirty_log_stop(struct kvm *kvm, const struct guest_mem *mem);

/* Fills `bitmap` (kvm_dirty_bitmap_words(mem) words) with the pages written since logging
 * started or since the last call: KVM_GET_DIRTY_LOG of each slot, which also clears KVM's log.
 * Returns 0 or -errno (logged; -ENOENT-like errors when logging was not started). */
int kvm_dirty_log_get(struct kvm *kvm, const struct guest_mem *mem, uint64_t *bitmap);

#endif
