/* A scratch vCPU for the CPU template commands (cpu_probe.h). */
#include "vmm/vm/x86/cpu_probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm/x86/kvm_x86.h"
#include "vmm/vm/cpu_template_json.h"

#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_FAST_STRING 1ull

int cpu_probe_open(struct cpu_probe *p, const char *kvm_path, const struct cpuid_table *cpuid,
		   char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->vcpu_fd = -1;
	int r = kvm_open_vm(&p->kvm, kvm_path);
	if (r) {
		snprintf(err, errlen, "%s: cannot create a VM: %s", kvm_path, strerror(-r));
		return r;
	}
	const char *step = "the irqchip";
	r = kvm_create_chips(&p->kvm);
	if (!r) {
		step = "KVM_CREATE_VCPU";
		p->vcpu_fd = kvm_ioctl(p->kvm.vm_fd, KVM_CREATE_VCPU, 0);
		r = p->vcpu_fd < 0 ? -errno : 0;
	}
	if (!r) {
		step = "KVM_SET_CPUID2";
		r = kvm_ioctl(p->vcpu_fd, KVM_SET_CPUID2, &cpuid->header) < 0 ? -errno : 0;
	}
	if (r) {
		snprintf(err, errlen, "%s: %s failed: %s", kvm_path, step, strerror(-r));
		cpu_probe_close(p);
		return r;
	}
	/* as vcpu.c's setup: a vCPU's MISC_ENABLE has fast strings on (best effort there too) */
	uint64_t misc = MISC_ENABLE_FAST_STRING;
	cpu_probe_msr(p, true, MSR_IA32_MISC_ENABLE, &misc);
	return 0;
}

void cpu_probe_close(struct cpu_probe *p)
{
	if (p->vcpu_fd >= 0)
		close(p->vcpu_fd);
	p->vcpu_fd = -1;
	kvm_close(&p->kvm);
}

bool cpu_probe_msr(struct cpu_probe *p, bool set, uint32_t addr, uint64_t *v)
{
	return kvm_vcpu_msr(p->vcpu_fd, set, addr, v);
}

int cpu_probe_cpuid(struct cpu_probe *p, struct cpuid_table *out)
{
	memset(out, 0, sizeof(*out));
	out->header.nent = CPUID_MAX_ENTRIES;
	return kvm_ioctl(p->vcpu_fd, KVM_GET_CPUID2, &out->header) < 0 ? -errno : 0;
}

bool cpu_msr_dumped(uint32_t i)
{
	static const uint32_t skipped[][2] = {
	    {0x10, 0x10},	      /* IA32_TSC */
	    {0xc1, 0xd2},	      /* architectural performance counters */
	    {0x17a, 0x17b},	      /* MCG_STATUS, MCG_CTL */
	    {0x186, 0x197},	      /* performance event selects */
	    {0x309, 0x30b},	      /* fixed-function counters */
	    {0x38d, 0x390},	      /* their control and the global status and control */
	    {0x480, 0x491},	      /* VMX capabilities */
	    {0x4d0, 0x4d0},	      /* MCG_EXT_CTL */
	    {0x40000000, 0x400000ff}, /* Hyper-V's */
	    {0x40000100, 0x40000118}, /* Hyper-V's crash and TSC emulation */
	    {0xc0010000, 0xc0010007}, /* AMD's K7 performance counters */
	    {0xc0010200, 0xc001020c}, /* AMD's family 15h performance counters */
	};
	for (size_t k = 0; k < sizeof(skipped) / sizeof(skipped[0]); k++)
		if (i >= skipped[k][0] && i <= skipped[k][1])
			return false;
	return true;
}

static int by_index(const void *a, const void *b)
{
	uint32_t x = ((const struct kvm_msr_entry *)a)->index;
	uint32_t y = ((const struct kvm_msr_entry *)b)->index;
	return x < y ? -1 : x > y;
}

int cpu_probe_msrs(struct cpu_probe *p, struct kvm_msr_entry *out, unsigned max, unsigned *n,
		   char *err, size_t errlen)
{
	/* KVM_GET_MSR_INDEX_LIST: the MSRs a snapshot saves for every vCPU (kvm_state.h) */
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + CPU_PROBE_MAX_MSRS * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = CPU_PROBE_MAX_MSRS;
	if (kvm_ioctl(p->kvm.dev_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int r = -errno;
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-r));
		free(l);
		return r;
	}
	*n = 0;
	for (uint32_t k = 0; k < l->nmsrs && *n < max; k++) {
		uint64_t v = 0;
		/* one at a time: KVM_GET_MSRS stops at the first MSR it cannot read */
		if (cpu_msr_dumped(l->indices[k]) && cpu_probe_msr(p, false, l->indices[k], &v))
			out[(*n)++] = (struct kvm_msr_entry){.index = l->indices[k], .data = v};
	}
	free(l);
	qsort(out, *n, sizeof(*out), by_index);
	return 0;
}

json_t *cpu_msrs_json(const struct kvm_msr_entry *m, unsigned n)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < n; i++) {
		if (json_array_append_new(a,
					  json_pack("{s:o, s:o}", "addr", tmpl_json_hex(m[i].index),
						    "bitmap", tmpl_json_bits(m[i].data, 64)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
