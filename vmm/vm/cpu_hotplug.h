/* vCPU hotplug and unplug while the VM runs (docs/hotplug.md#vcpus), through ACPI CPU hotplug:
 * the controller's registers (devices/acpi_cpuhp.h), the processor devices' _STA/_MAT/_EJ0 and
 * CSCN in the DSDT (firmware/acpi/dsdt_cpuhp.c) and the Generic Event Device's
 * ACPI_GED_CPU_HOTPLUG event.
 *
 * A VM has it when it was started with a maximum (--cpus boot=N,max=M, M >= N; ACPI needed):
 * vCPUs 1..M-1 may come and go, vCPU 0 stays. Every possible vCPU is created at boot, its
 * KVM vCPU set up as the others (CPUID, MSRs, LAPIC) and its thread started by the main thread
 * with the vCPU filter like any other; an absent vCPU's thread stands by, parked before KVM_RUN
 * (struct vcpu's `standby`, vm_pause_point()), until a resize makes it present. Why not
 * KVM_CREATE_VCPU at the resize: seccomp filters stack and a thread inherits its creator's, so a
 * vCPU thread started later by a confined control thread could not end up with exactly the
 * vCPU filter; and KVM cannot destroy a vCPU, so a removed one is parked and reused anyway
 * (as Cloud Hypervisor does). A removed vCPU goes back to standby once the guest ejected it.
 *
 * Threads: vm_cpuhp_resize() from one control thread at a time (the API's, under its lock); the
 * registers from vCPU threads. */
#ifndef VMM_VM_CPU_HOTPLUG_H
#define VMM_VM_CPU_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

#define VM_CPUHP_REMOVE_TIMEOUT_MS 10000u /* how long a shrink waits for the guest's _EJ0s */
#define VM_CPUHP_TIMEOUT_MAX_MS	   600000u

/* After the devices (the Generic Event Device) and the vCPUs are described, before the ACPI
 * tables are written: the controller, when the VM was given a maximum.
 * 0, or -errno (logged: -EINVAL without ACPI). */
int vm_cpuhp_setup(struct vm *vm);
void vm_cpuhp_destroy(struct vm *vm);

/* Whether the VM has vCPU hotplug; how many vCPUs are present now and may be at most. */
bool vm_cpuhp_enabled(const struct vm *vm);
unsigned vm_cpuhp_present(const struct vm *vm);
unsigned vm_cpuhp_max(const struct vm *vm);

/* Makes `desired` vCPUs present: the lowest absent ones are woken and the guest told
 * (returns at once: the guest brings them up and user space onlines them), or the highest
 * present ones are asked of the guest, which offlines and ejects them, waited for up to
 * timeout_ms (0: VM_CPUHP_REMOVE_TIMEOUT_MS); then their threads stand by again. 0, or -errno
 * with the reason in err: -ENODEV (no vCPU hotplug), -EINVAL (desired 0 or above the maximum),
 * -ETIMEDOUT (the guest did not eject
 * every vCPU asked: those stay present and the request is taken back; err says how many went).
 */
int vm_cpuhp_resize(struct vm *vm, unsigned desired, unsigned timeout_ms, char *err, size_t errlen);

/* Whether a snapshot, fork or migration may be taken now: its configuration records the present
 * vCPUs as --cpus boot=N,max=M (control_resize.c) and its state has every possible vCPU's, so
 * the restore stands the same vCPUs by. -EBUSY with the reason in err while the guest has a
 * vCPU event to answer (it would never see it again) or when the present vCPUs are not
 * 0..N-1 (a shrink the guest answered in part: N cannot say which); else 0. */
int vm_cpuhp_check_snapshot(const struct vm *vm, char *err, size_t errlen);

/* Whether vCPU `index` stands by (absent: no halt-watch sample, vm.c). Any thread. */
bool vm_cpuhp_standby(const struct vm *vm, unsigned index);

#endif
