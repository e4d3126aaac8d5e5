/* The CPU model in snapshots and migration streams, and the check that refuses a host that cannot
 * present what the guest saw (docs/cpu.md).
 *
 * A snapshot's state carries SNAP_CPU_MODEL (host/kvm/x86/cpu_model.h: vCPU 0's CPUID and the
 * MSRs of its state); a migration's HELLO carries the model of vCPU 0's CPUID (its MSR list is
 * checked with the final state, which carries SNAP_CPU_MODEL too). A restore, a migration's
 * destination at HELLO and at the final state, and `vmm --check-cpu DIR` compare it with
 * KVM_GET_SUPPORTED_CPUID here (cpu_model_compare()) before the guest runs. A snapshot made
 * before the model existed has none: it loads with a warning, unchecked. */
#ifndef VMM_SNAPSHOT_CPU_CHECK_H
#define VMM_SNAPSHOT_CPU_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/snapshot/format/snap_format.h"

struct vm;

/* The first 8 bytes of an aarch64 model (vmm/snapshot/aarch64/cpu_check.c): so that each
 * architecture can tell the other's snapshot from a damaged one and say so. */
#define CPU_MODEL_AARCH64_MAGIC "AA64MODL"

/* Adds SNAP_CPU_MODEL to `w`: vm->guest_cpuid (else the vCPU 0 SNAP_VCPU_CPUID section already
 * in `w`) and the MSR indexes of vCPU 0's SNAP_VCPU_MSRS. A VM with neither gets no model (a
 * debug line). Returns 0 or -errno with the reason in err. */
int cpu_check_put_model(const struct vm *vm, struct snap_writer *w, char *err, size_t errlen);

/* After a restore: vm->guest_cpuid becomes the CPUID of the snapshot's model (else its vCPU 0
 * SNAP_VCPU_CPUID), so that a later snapshot or migration carries what the guest saw first, not
 * this host's table. */
void cpu_check_note_restored(struct vm *vm, struct snap_reader *r);

/* The encoded model of vm->guest_cpuid (no MSR list) for a migration's HELLO, malloc'd, its
 * length in *len; NULL (with *len 0) when the VM has no CPUID recorded or out of memory. */
uint8_t *cpu_check_encode_vm(const struct vm *vm, size_t *len);

/* The check of an encoded model (`bytes` NULL: none, which warns "`what` carries no CPU model
 * (made by an older vmm): the CPU is not checked" and passes) against the host at `kvm_path`.
 * Refused: -EINVAL with "`what`: this host cannot run the guest: <cpu_verdict_text()>; (vmm
 * --cpu-check off accepts the risk)" in err; with `enforce` false the same is logged as a warning
 * and 0 returned. A model that does not decode is -EINVAL whatever `enforce` says, and a host
 * whose CPUID cannot be read is that error. */
int cpu_check_model(const void *bytes, size_t len, const char *what, const char *kvm_path,
		    bool enforce, char *err, size_t errlen);

/* cpu_check_model() of the SNAP_CPU_MODEL section of a parsed snapshot. */
int cpu_check_reader(struct snap_reader *r, const char *what, const char *kvm_path, bool enforce,
		     char *err, size_t errlen);

/* vmm --check-cpu DIR: reads DIR/state, checks its model against the host at `kvm_path` and
 * prints the verdict on stdout ("ok: ..." or "refused: ..."). Returns 0 (it can run here), 1
 * (refused) or 2 (the state file cannot be read, or the host's CPUID), the reason on stderr. */
int cpu_check_snapshot_dir(const char *dir, const char *kvm_path);

#endif
