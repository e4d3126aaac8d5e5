/* arm64 CPU templates (cpu_template.h). */
#include "host/kvm/aarch64/cpu_template.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/aarch64/arm64_regs.h"

/* Firecracker's V1N1 (a Neoverse V1 presented as a Neoverse N1; the Arm ARM's ID register
 * fields): ID_AA64PFR0_EL1's SVE and DIT to 0; ID_AA64ISAR0_EL1's RNDR, TS (flagm), FHM, SM4,
 * SM3 and SHA3 to 0 and SHA2 to 1 (SHA-256 without SHA-512); ID_AA64ISAR1_EL1's I8MM, DGH, BF16,
 * FCMA and JSCVT to 0, LRCPC and DPB to 1; ID_AA64MMFR2_EL1's AT (uscat) to 0. */
static const struct cpu_template_reg v1n1[] = {
    {ARM64_SYS_REG(3, 0, 0, 4, 0), 0x000f000f00000000ull, 0},
    {ARM64_SYS_REG(3, 0, 0, 6, 0), 0xf0ff0fff0000f000ull, 0x0000000000001000ull},
    {ARM64_SYS_REG(3, 0, 0, 6, 1), 0x00fff00000fff00full, 0x0000000000100001ull},
    {ARM64_SYS_REG(3, 0, 0, 7, 2), 0x0000000f00000000ull, 0},
};

int cpu_template_static(const char *name, struct cpu_template *t)
{
	memset(t, 0, sizeof(*t));
	if (strcmp(name, "V1N1"))
		return -ENOENT;
	strcpy(t->name, "V1N1");
	t->nregs = sizeof(v1n1) / sizeof(v1n1[0]);
	memcpy(t->regs, v1n1, sizeof(v1n1));
	return 0;
}

uint64_t cpu_template_reg(const struct cpu_template *t, uint64_t id, uint64_t v)
{
	for (unsigned i = 0; i < t->nregs; i++)
		if (t->regs[i].id == id)
			v = (v & ~t->regs[i].filter) | t->regs[i].value;
	return v;
}

int cpu_template_check(const struct cpu_template *t, const uint64_t host[ARM64_CPU_IDS],
		       const uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen)
{
	bool any = false;
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++)
		any |= writable[i] != 0;
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++) {
		uint64_t id = arm64_cpu_id_regs[i];
		uint64_t changed = host[i] ^ cpu_template_reg(t, id, host[i]);
		if (!(changed & ~writable[i]))
			continue;
		if (!any)
			snprintf(err, errlen,
				 "CPU template %s changes %s (0x%016llx to 0x%016llx), and this "
				 "host's KVM cannot lower ID registers (Linux 6.7 and later can)",
				 t->name, arm64_cpu_id_names[i], (unsigned long long)host[i],
				 (unsigned long long)(host[i] ^ changed));
		else
			snprintf(err, errlen,
				 "CPU template %s changes bits 0x%016llx of %s, which this host's "
				 "KVM does not let user space change (it lets 0x%016llx)",
				 t->name, (unsigned long long)(changed & ~writable[i]),
				 arm64_cpu_id_names[i], (unsigned long long)writable[i]);
		return -EINVAL;
	}
	return 0;
}

/* Why KVM refused register `id` to go from `v` to `want`, from the VM's writable masks. */
static void refusal(int vm_fd, uint64_t id, uint64_t v, uint64_t want, char *why, size_t len)
{
	uint64_t masks[ARM64_ID_RANGE_SIZE];
	int k = arm64_id_range_index(id);
	if (k >= 0 && arm64_id_writable_masks(vm_fd, masks))
		snprintf(why, len,
			 "this host's KVM cannot lower ID registers (Linux 6.7 and later "
			 "can)");
	else if (k >= 0 && ((v ^ want) & ~masks[k]))
		snprintf(why, len, "KVM does not let user space change its bits 0x%016llx",
			 (unsigned long long)((v ^ want) & ~masks[k]));
	else if (k >= 0)
		snprintf(why, len,
			 "a feature above what this host offers: KVM lowers ID "
			 "registers' fields, never raises them");
	else
		snprintf(why, len, "KVM refused it");
}

/* One modifier on the vCPU: read, apply, write, read back. */
static int apply_one(const struct cpu_template *t, const struct cpu_template_reg *m, int vm_fd,
		     int fd, char *err, size_t errlen)
{
	char name[96], why[160];
	uint64_t v, want, now;
	arm64_reg_name(m->id, name, sizeof(name));
	int e = arm64_get_reg(fd, m->id, &v);
	if (e) {
		snprintf(err, errlen, "CPU template %s: this host's KVM has no %s (%s)", t->name,
			 name, strerror(-e));
		return e;
	}
	want = cpu_template_reg(t, m->id, v);
	if (want == v)
		return 0;
	e = arm64_set_reg(fd, m->id, want);
	if (!e && !(e = arm64_get_reg(fd, m->id, &now)) && now != want)
		e = -EINVAL;
	if (e) {
		refusal(vm_fd, m->id, v, want, why, sizeof(why));
		snprintf(err, errlen,
			 "CPU template %s: %s cannot be 0x%016llx on this host (it is 0x%016llx): "
			 "%s",
			 t->name, name, (unsigned long long)want, (unsigned long long)v, why);
	}
	return e;
}

int cpu_template_vcpu_apply(const struct cpu_template *t, int vm_fd, int vcpu_fd, char *err,
			    size_t errlen)
{
	for (unsigned i = 0; i < t->nregs; i++) {
		int e = apply_one(t, &t->regs[i], vm_fd, vcpu_fd, err, errlen);
		if (e)
			return e;
	}
	return 0;
}
