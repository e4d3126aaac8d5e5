/* x86's part of the vCPU loop (vmm/vm/arch_vm.h): the registers the halt watch samples and a
 * failed guest's dump prints, and the state ioctls a vCPU thread makes. */
#include <asm/processor-flags.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "base/log.h"
#include "host/kvm/kvm.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/vcpu.h"

int vm_arch_vcpus_created(struct vm *vm)
{
	(void)vm;
	return 0;
}

const struct vcpu_arch_seen_names vcpu_arch_seen_names = {"rip", "cr3"};

int vcpu_arch_sample(struct vcpu *vcpu, struct vcpu_arch_seen *seen)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (kvm_ioctl(vcpu->fd, KVM_GET_REGS, &regs) || kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	seen->pc = regs.rip;
	seen->irqs_on = regs.rflags & X86_EFLAGS_IF;
	seen->pt_root = sregs.cr3;
	return 0;
}

static void dump_segment(const char *name, const struct kvm_segment *s)
{
	log_error("  %-4s sel=%04x base=%016llx limit=%08x type=%x dpl=%u l=%u db=%u p=%u", name,
		  s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->l, s->db,
		  s->present);
}

void vcpu_arch_dump_registers(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (kvm_ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_error("vCPU %u: cannot read registers: %s", vcpu->index, strerror(errno));
		return;
	}
	log_error("vCPU %u registers:", vcpu->index);
	log_error("  rip=%016llx rsp=%016llx rflags=%016llx", r.rip, r.rsp, r.rflags);
	log_error("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", r.rax, r.rbx, r.rcx, r.rdx);
	log_error("  rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx", r.rsi, r.rdi, r.rbp, r.r8);
	log_error("  r9 =%016llx r10=%016llx r11=%016llx r12=%016llx", r.r9, r.r10, r.r11, r.r12);
	log_error("  r13=%016llx r14=%016llx r15=%016llx", r.r13, r.r14, r.r15);
	log_error("  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx", s.cr0, s.cr2,
		  s.cr3, s.cr4, s.efer);
	dump_segment("cs", &s.cs);
	dump_segment("ds", &s.ds);
	dump_segment("ss", &s.ss);
	log_error("  gdt base=%016llx limit=%04x idt base=%016llx limit=%04x",
		  (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
		  s.idt.limit);
}
