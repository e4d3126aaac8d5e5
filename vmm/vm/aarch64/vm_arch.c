/* aarch64's part of a VM and its vCPUs (vmm/vm/arch_vm.h): KVM_ARM_VCPU_INIT with the host's
 * preferred target and PSCI 0.2 (secondary vCPUs start powered off, for the guest's PSCI CPU_ON),
 * then the CPU template's registers (host/kvm/aarch64/cpu_template.h),
 * the GIC once every vCPU exists (a GICv3, or a GICv2 on a host that has only that), and the boot
 * vCPU at the kernel's entry in EL1 with the device tree's address in x0 (Linux
 * Documentation/arch/arm64/booting.rst). */
#include "vmm/vm/arch_vm.h"

#include <asm/ptrace.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "base/errors.h"
#include "base/layout.h"
#include "base/log.h"
#include "firmware/machine.h"
#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/aarch64/cpu_template.h"
#include "host/kvm/aarch64/gic.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_caps.h"
#include "loaders/boot.h"
#include "vmm/vm/vcpu.h"
#include "vmm/vm/vm.h"

int vm_arch_cpu_features(struct vm *vm, const struct cpuid_table **supported)
{
	*supported = NULL; /* no CPUID: KVM's preferred target below */
	const struct cpu_template *t = vm->cfg->cpu_template;
	if (!t)
		return 0;
	if (kvm_caps_required(vm->kvm.dev_fd, t->caps, t->ncaps, t->name))
		return -EINVAL;
	log_info("CPU template %s: %u register modifier%s", t->name, t->nregs,
		 t->nregs == 1 ? "" : "s");
	return 0;
}

int vcpu_arch_setup(struct vcpu *vcpu, const struct cpuid_table *supported)
{
	(void)supported;
	struct kvm_vcpu_init init;
	memset(&init, 0, sizeof(init));
	if (kvm_ioctl(vcpu->vm->kvm.vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		int err = -errno;
		log_error("KVM_ARM_PREFERRED_TARGET failed: %s", strerror(-err));
		return err;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (vcpu->index > 0) /* started by the guest's PSCI CPU_ON */
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	int err = vcpu_ioctl(vcpu, KVM_ARM_VCPU_INIT, &init, "KVM_ARM_VCPU_INIT");
	const struct cpu_template *t = vcpu->vm->cfg->cpu_template;
	char why[512];
	/* the ID registers are the VM's (Linux 6.7): each vCPU sets the same values */
	if (!err && t &&
	    (err = cpu_template_vcpu_apply(t, vcpu->vm->kvm.vm_fd, vcpu->fd, why, sizeof(why))))
		log_error("vCPU %u: %s", vcpu->index, why);
	return err;
}

/* The GIC the host's KVM offers: a GICv3 (machine_set_arch_intc() described it), else a GICv2,
 * which the description then says instead (at most 8 vCPUs, no ITS: MSIs through the GICv2m
 * frame vm_devices_arch.c attaches). */
static int choose_gic(struct vm *vm, struct kvm_gic_config *c)
{
	c->version = kvm_gic_host_version(&vm->kvm);
	if (c->version == KVM_GIC_NONE) {
		log_error("this host's KVM can create neither a GICv3 nor a GICv2 for the VM");
		return -ENODEV;
	}
	if (c->version == KVM_GIC_V3)
		return 0;
	if (vm->ncpus > GIC_V2_MAX_CPUS) {
		log_error("this host's KVM offers a GICv2 only, which serves at most %d vCPUs; the "
			  "VM has %u (--cpus, and max_vcpus for hotplug)",
			  GIC_V2_MAX_CPUS, vm->ncpus);
		return -EINVAL;
	}
	log_info("this host's KVM offers a GICv2 only: the VM gets one, and PCI devices' MSIs go "
		 "through the VMM's GICv2m frame (a GICv2 has no ITS)");
	c->cpu_base = GIC_V2_CPU_BASE;
	c->redist_base = c->its_base = 0;
	return machine_set_arch_gicv2(&vm->machine);
}

int vm_arch_vcpus_created(struct vm *vm)
{
	struct kvm_gic_config c = {
	    .dist_base = GIC_DIST_BASE,
	    .redist_base = GIC_REDIST_BASE(vm->ncpus),
	    .its_base = GIC_ITS_BASE(vm->ncpus),
	    .nr_irqs = 32 + GIC_SPI_MAX,
	};
	int err = choose_gic(vm, &c);
	if (!err)
		err = kvm_gic_create(&vm->kvm, &c);
	if (!err && vm->kvm.its_fd < 0) /* the device tree then names no ITS */
		vm->machine.intc.its = (struct machine_range){0, 0};
	return err;
}

/* A guest's access to device memory without an instruction syndrome (kvm_aarch64.c enables the
 * exit): no device can be told what was meant, so the guest gets what hardware gives for an
 * access the bus cannot complete, an external data abort; its kernel decides what to do (kill
 * the task, or panic). Logged at most a few times per vCPU. */
static bool nisv_abort(struct vcpu *vcpu)
{
	static _Thread_local unsigned logged;
	struct kvm_vcpu_events ev;
	memset(&ev, 0, sizeof(ev));
	ev.exception.ext_dabt_pending = 1;
	if (logged < 3 && ++logged)
		log_warn("vCPU %u: the guest accessed device memory at 0x%llx with an instruction "
			 "KVM cannot decode (no syndrome: a load/store pair?); it gets an external "
			 "data abort",
			 vcpu->index, (unsigned long long)vcpu->run->arm_nisv.fault_ipa);
	return vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS (data abort)") == 0;
}

bool vcpu_arch_handle_exit(struct vcpu *vcpu)
{
	return vcpu->run->exit_reason == KVM_EXIT_ARM_NISV && nisv_abort(vcpu);
}

int vm_arch_clock_get(struct vm *vm, uint64_t *clock)
{
	return arm64_get_reg(vm->vcpus[0].fd, KVM_REG_ARM_TIMER_CNT, clock);
}

int vm_arch_clock_set(struct vm *vm, uint64_t clock)
{
	return arm64_set_reg(vm->vcpus[0].fd, KVM_REG_ARM_TIMER_CNT, clock);
}

int vm_arch_boot_cpu(struct vm *vm, const struct boot_entry *entry)
{
	int fd = vm->vcpus[0].fd;
	/* EL1 with SP_EL1, every exception masked (booting.rst: "All forms of interrupts must be
	 * masked in PSTATE.DAIF") */
	uint64_t pstate = PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;
	int err = arm64_set_reg(fd, ARM64_CORE_REG(regs.pstate), pstate);
	if (!err)
		err = arm64_set_reg(fd, ARM64_CORE_REG(regs.pc), entry->entry);
	if (!err) /* x0: the device tree; x1-x3 are zero after KVM_ARM_VCPU_INIT */
		err = arm64_set_reg(fd, ARM64_CORE_REG(regs.regs[0]), entry->boot_info);
	if (err) {
		log_error("vCPU 0: KVM_SET_ONE_REG failed: %s", strerror(-err));
		return VMM_EXIT_ERROR;
	}
	return 0;
}

unsigned vm_arch_guest_phys_bits(const struct vm *vm)
{
	(void)vm;
	return 40; /* KVM_CREATE_VM's default IPA size (base/aarch64/arch/layout.h) */
}

const struct vcpu_arch_seen_names vcpu_arch_seen_names = {"pc", "ttbr1"};

int vcpu_arch_sample(struct vcpu *vcpu, struct vcpu_arch_seen *seen)
{
	uint64_t pstate;
	int err = arm64_get_reg(vcpu->fd, ARM64_CORE_REG(regs.pc), &seen->pc);
	if (!err)
		err = arm64_get_reg(vcpu->fd, ARM64_CORE_REG(regs.pstate), &pstate);
	if (!err)
		err = arm64_get_reg(vcpu->fd, ARM64_REG_TTBR1_EL1, &seen->pt_root);
	seen->irqs_on = !err && !(pstate & PSR_I_BIT);
	return err;
}

void vcpu_arch_dump_registers(struct vcpu *vcpu)
{
	uint64_t pc = 0, sp = 0, pstate = 0, x[31] = {0};
	int err = arm64_get_reg(vcpu->fd, ARM64_CORE_REG(regs.pc), &pc);
	if (!err)
		err = arm64_get_reg(vcpu->fd, ARM64_CORE_REG(regs.pstate), &pstate);
	if (!err)
		err = arm64_get_reg(vcpu->fd, ARM64_CORE_REG(sp_el1), &sp);
	for (int i = 0; !err && i < 31; i++)
		err = arm64_get_reg(vcpu->fd, ARM64_CORE_REG(regs.regs[i]), &x[i]);
	if (err) {
		log_error("vCPU %u: cannot read registers: %s", vcpu->index, strerror(-err));
		return;
	}
	log_error("vCPU %u registers:", vcpu->index);
	log_error("  pc=%016llx sp_el1=%016llx pstate=%016llx", (unsigned long long)pc,
		  (unsigned long long)sp, (unsigned long long)pstate);
	for (int i = 0; i < 31; i += 4)
		log_error("  x%-2d=%016llx x%-2d=%016llx x%-2d=%016llx x%-2d=%016llx", i,
			  (unsigned long long)x[i], i + 1, (unsigned long long)x[i + 1], i + 2,
			  (unsigned long long)x[i + 2], i + 3,
			  (unsigned long long)(i + 3 < 31 ? x[i + 3] : 0));
}
