/* vmm --cpu-template-dump and --cpu-template-verify on arm64 (vmm/vm/cpu_template_dump.h): a
 * scratch vCPU as this VMM makes them (host/kvm/aarch64/cpu_ids.h), the template set on it
 * (cpu_template_vcpu_apply(): what a VM's vCPUs get), then
 *   dump:   every feature ID register KVM lists for it (op0 3, op1 0/1/3, CRn 0, CRm 0-7), as a
 *           Firecracker custom template whose every bit is fixed (reg_modifiers, 64 bits each),
 *           which --cpu-template-file takes back;
 *   verify: each register the template names read back, each fixed bit compared: "ok: ..."
 *           (exit 0) or "refused: ..." and a line per problem (exit 1). */
#include "vmm/vm/cpu_template_dump.h"

#include <errno.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/aarch64/cpu_ids.h"
#include "host/kvm/aarch64/cpu_template.h"
#include "host/kvm/kvm.h"
#include "vmm/vm/cpu_template_json.h"

/* KVM_GET_REG_LIST of the vCPU, malloc'd, or NULL. */
static struct kvm_reg_list *reg_list(int fd)
{
	struct kvm_reg_list probe = {.n = 0};
	if (kvm_ioctl(fd, KVM_GET_REG_LIST, &probe) == 0 || errno != E2BIG || probe.n > 65536)
		return NULL;
	struct kvm_reg_list *l = malloc(sizeof(*l) + probe.n * sizeof(l->reg[0]));
	if (l) {
		l->n = probe.n;
		if (kvm_ioctl(fd, KVM_GET_REG_LIST, l) < 0) {
			free(l);
			l = NULL;
		}
	}
	return l;
}

/* The feature ID registers of the vCPU as reg_modifiers (new reference), or NULL. */
static json_t *dump_regs(int fd)
{
	struct kvm_reg_list *l = reg_list(fd);
	json_t *a = l ? json_array() : NULL;
	for (uint64_t i = 0; a && i < l->n; i++) {
		uint64_t id = l->reg[i], v;
		if (arm64_id_range_index(id) < 0 || (id & KVM_REG_SIZE_MASK) != KVM_REG_SIZE_U64 ||
		    arm64_get_reg(fd, id, &v))
			continue;
		json_array_append_new(a, json_pack("{s:o, s:o}", "addr", tmpl_json_hex(id),
						   "bitmap", tmpl_json_bits(v, 64)));
	}
	free(l);
	return a;
}

static int dump(int fd)
{
	json_t *regs = dump_regs(fd);
	if (!regs) {
		fputs("vmm: --cpu-template-dump: cannot list the vCPU's registers\n", stderr);
		return VMM_EXIT_ERROR;
	}
	return tmpl_json_print(json_pack("{s:[], s:[], s:o}", "kvm_capabilities", "vcpu_features",
					 "reg_modifiers", regs));
}

/* Each modifier's fixed bits against the vCPU's register. */
static int verify(const struct cpu_template *t, int fd)
{
	unsigned bad = 0;
	char name[96];
	for (unsigned i = 0; i < t->nregs; i++) {
		const struct cpu_template_reg *m = &t->regs[i];
		uint64_t v = 0;
		arm64_reg_name(m->id, name, sizeof(name));
		if (arm64_get_reg(fd, m->id, &v) || (v & m->filter) != m->value) {
			if (!bad++)
				printf("refused: CPU template %s does not hold on this host:\n",
				       t->name);
			printf("- %s is 0x%016llx: bits 0x%016llx should be 0x%016llx\n", name,
			       (unsigned long long)v, (unsigned long long)m->filter,
			       (unsigned long long)m->value);
		}
	}
	if (!bad)
		printf("ok: CPU template %s applies on this host: %u register modifier%s hold%s\n",
		       t->name, t->nregs, t->nregs == 1 ? "" : "s", t->nregs == 1 ? "s" : "");
	return bad ? 1 : VMM_EXIT_OK;
}

int cpu_template_dump(const struct vm_config *cfg)
{
	const struct cpu_template *t = cfg->cpu_template;
	struct arm64_scratch s;
	char err[512];
	int r = arm64_scratch_open(&s, cfg->kvm_path, err, sizeof(err));
	if (r) {
		fprintf(stderr, "vmm: %s: a vCPU to ask cannot be made: %s\n", cfg->kvm_path, err);
		return VMM_EXIT_USAGE;
	}
	if (t && cpu_template_vcpu_apply(t, s.vm, s.vcpu, err, sizeof(err))) {
		if (cfg->cpu_template_verify)
			printf("refused: %s\n", err);
		else
			fprintf(stderr, "vmm: %s\n", err);
		arm64_scratch_close(&s);
		return cfg->cpu_template_verify ? 1 : VMM_EXIT_USAGE;
	}
	r = cfg->cpu_template_verify ? verify(t, s.vcpu) : dump(s.vcpu);
	arm64_scratch_close(&s);
	return r;
}
