/* CPU templates on arm64 (docs/cpu.md): changes to the registers a vCPU has, mostly the ID
 * registers that say what the CPU offers, as Firecracker defines them (its "reg_modifiers"): each
 * a KVM register ID and a bitmap (host/kvm/cpu_bitmap.h) whose fixed bits replace the register's.
 * KVM lets user space lower an ID register's feature fields before the VM first runs from Linux
 * 6.7 (earlier kernels take back only the value they gave). The static template is Firecracker's
 * V1N1 (a Neoverse V1 shown as an N1); a custom one comes from Firecracker's JSON
 * (vmm/vm/aarch64/cpu_template_json.c parses it into this form).
 *
 * The pure part (the static table, the bitmaps applied, the check against the host's ID
 * registers) is unit-tested; cpu_template_vcpu_apply() is where it meets KVM. */
#ifndef VMM_KVM_AARCH64_CPU_TEMPLATE_H
#define VMM_KVM_AARCH64_CPU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/kvm/aarch64/cpu_ids.h"

#define CPU_TEMPLATE_MAX_REGS 512 /* a whole dump (KVM lists ~200-500 registers) */
#define CPU_TEMPLATE_MAX_CAPS 32

struct cpu_template_reg {
	uint64_t id;		/* KVM's register ID: an arm64 register of 64 bits */
	uint64_t filter, value; /* value has no bit outside filter */
};

struct cpu_template {
	char name[8]; /* "V1N1"; "custom" for a JSON one */
	bool custom;
	unsigned nregs, ncaps;
	struct cpu_template_reg regs[CPU_TEMPLATE_MAX_REGS];
	int32_t caps[CPU_TEMPLATE_MAX_CAPS]; /* KVM capabilities: N required, -N-1 "!N" */
};

/* Fills `t` with the static template `name` ("V1N1"). Returns 0, or -ENOENT for another name
 * ("None" included: no template). */
int cpu_template_static(const char *name, struct cpu_template *t);

/* The value `v` of register `id` with every modifier of `t` for it applied (`v` when there is
 * none). */
uint64_t cpu_template_reg(const struct cpu_template *t, uint64_t id, uint64_t v);

/* Can `t` apply to a host whose KVM gives vCPUs the ID registers `host` and lets user space
 * change their bits `writable` (cpu_ids.h's arm64_cpu_ids_of_host())? A modifier of one of those
 * registers that changes a bit KVM does not let change is refused, naming the register and the
 * bits ("this host's KVM cannot lower ID registers" when it lets none). Other registers are
 * left to KVM (cpu_template_vcpu_apply()). Returns 0 or -EINVAL with the reason in err. Pure. */
int cpu_template_check(const struct cpu_template *t, const uint64_t host[ARM64_CPU_IDS],
		       const uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen);

/* Sets the modifiers of `t` on a vCPU of the VM `vm_fd` after KVM_ARM_VCPU_INIT and before the
 * VM first runs: each register read, the bitmaps applied, written back, read again to see that
 * it holds. Returns 0 or -errno with the reason in err: the register named, and why KVM refused
 * (it cannot lower ID registers at all, before Linux 6.7; bits it does not let change; a field
 * raised above the host's). */
int cpu_template_vcpu_apply(const struct cpu_template *t, int vm_fd, int vcpu_fd, char *err,
			    size_t errlen);

#endif
