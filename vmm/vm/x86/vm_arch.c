/* x86's part of a VM and its vCPUs (vmm/vm/arch_vm.h): CPUID, the CPU template, FPU, MSRs, the
 * LAPIC's interrupt lines, the boot vCPU's registers. */
#include "vmm/vm/arch_vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "host/kvm/kvm.h"
#include "host/kvm/x86/cpuid.h"
#include "loaders/boot.h"
#include "loaders/x86/boot_cpu.h"
#include "vmm/vm/vcpu.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/x86/cpu_template_vm.h"

#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_FAST_STRING 1ULL
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_EXTINT	0x7
#define APIC_MODE_NMI		0x4

int vm_arch_cpu_features(struct vm *vm, const struct cpuid_table **supported)
{
	static struct cpuid_table cpuid;
	int err = cpuid_get_supported_cached(vm->kvm.dev_fd, &cpuid);
	if (err) {
		log_error("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-err));
		return err;
	}
	*supported = &cpuid;
	if (vm->cfg->cpu_template)
		return cpu_template_vm_check(vm->cfg->cpu_template, vm->kvm.dev_fd, &cpuid);
	return 0;
}

static int setup_cpuid(struct vcpu *vcpu, const struct cpuid_table *supported)
{
	struct cpuid_table *t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t, supported, sizeof(*t));
	if (vcpu->vm->cfg->cpu_template) /* first, then the normalization: as Firecracker */
		cpu_template_apply(vcpu->vm->cfg->cpu_template, t);
	cpuid_patch_for_vcpu(t, vcpu->index, vcpu->vm->ncpus, vcpu->vm->cfg->smt ? 2 : 1);
	int err = vcpu_ioctl(vcpu, KVM_SET_CPUID2, t, "KVM_SET_CPUID2");
	if (!err && vcpu->index == 0 && !vcpu->vm->guest_cpuid)
		vcpu->vm->guest_cpuid = t; /* the CPU model (vm.h) */
	else
		free(t);
	return err;
}

/* x87 control word and MXCSR at their reset values (Intel SDM vol. 1, 8.1.5 and 10.2.3). */
static int setup_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	return vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

static int setup_msrs(struct vcpu *vcpu)
{
	/* struct kvm_msrs ends in a flexible array: give it room for one entry. */
	union {
		struct kvm_msrs hdr;
		uint8_t storage[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} msrs = {0};
	msrs.hdr.nmsrs = 1;
	msrs.hdr.entries[0] =
	    (struct kvm_msr_entry){.index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING};
	if (kvm_ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
		log_debug("vCPU %u: MSR_IA32_MISC_ENABLE not set", vcpu->index);
	const struct cpu_template *tmpl = vcpu->vm->cfg->cpu_template;
	return tmpl ? cpu_template_vm_msrs(tmpl, vcpu->fd, vcpu->index) : 0;
}

/* LINT0 as ExtINT and LINT1 as NMI, as a PC BIOS leaves them (MP spec 1.4, 3.6.2.2 and 5.1). */
static int setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	int err = vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");
	if (err)
		return err;
	uint32_t lvt0, lvt1;
	memcpy(&lvt0, &lapic.regs[APIC_LVT0], 4);
	memcpy(&lvt1, &lapic.regs[APIC_LVT1], 4);
	lvt0 = (lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	lvt1 = (lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&lapic.regs[APIC_LVT0], &lvt0, 4);
	memcpy(&lapic.regs[APIC_LVT1], &lvt1, 4);
	return vcpu_ioctl(vcpu, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
}

int vcpu_arch_setup(struct vcpu *vcpu, const struct cpuid_table *supported)
{
	int err = setup_cpuid(vcpu, supported);
	if (!err)
		err = setup_fpu(vcpu);
	if (!err)
		err = setup_msrs(vcpu);
	if (!err)
		err = setup_lapic(vcpu);
	return err;
}

bool vcpu_arch_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

int vm_arch_clock_get(struct vm *vm, uint64_t *clock)
{
	struct kvm_clock_data data;
	memset(&data, 0, sizeof(data));
	if (kvm_ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &data) < 0)
		return -errno;
	*clock = data.clock;
	return 0;
}

/* KVM_SET_CLOCK with no flags: exactly this kvmclock value. With KVM_CLOCK_REALTIME KVM would add
 * the host time elapsed since a saved `realtime`, i.e. count the pause. */
int vm_arch_clock_set(struct vm *vm, uint64_t clock)
{
	struct kvm_clock_data data = {.clock = clock, .flags = 0};
	return kvm_ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &data) < 0 ? -errno : 0;
}

int vm_arch_boot_cpu(struct vm *vm, const struct boot_entry *entry)
{
	struct vcpu *bsp = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	if (kvm_ioctl(bsp->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_error("KVM_GET_SREGS failed: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	int err = boot_cpu_setup(&vm->mem, entry, &sregs, &regs);
	if (err) {
		log_error("cannot set up the boot CPU state: %s", strerror(-err));
		return VMM_EXIT_ERROR;
	}
	if (kvm_ioctl(bsp->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    kvm_ioctl(bsp->fd, KVM_SET_REGS, &regs) < 0) {
		log_error("setting the boot vCPU's registers failed: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	return 0;
}

/* The guest's physical-address width as its CPUID says (0x80000008 EAX[7:0]; 36 without the
 * leaf, as Intel's SDM has it), or the layout's 40 bits where no vCPU exists (vm_describe()). */
unsigned vm_arch_guest_phys_bits(const struct vm *vm)
{
	const struct cpuid_table *t = vm->guest_cpuid;
	if (!t)
		return 40;
	for (uint32_t i = 0; i < t->header.nent; i++)
		if (t->header.entries[i].function == 0x80000008)
			return t->header.entries[i].eax & 0xff;
	return 36;
}
