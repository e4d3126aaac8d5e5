/* What the VM's generic code (vm.c, vcpu.c, vm_devices.c, vm_pci.c, vm_virtio_devices.c) asks of
 * the architecture: its platform devices, a vCPU's set-up, the boot vCPU's registers, the
 * guest's address width, the console UART's and the boot timer's places, the PCI bus's
 * configuration ports. Implemented in vmm/vm/<arch>/ (x86: vm_arch.c, vm_devices_arch.c,
 * vm_pci_arch.c); only vmm/vm includes it. */
#ifndef VMM_VM_ARCH_VM_H
#define VMM_VM_ARCH_VM_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct boot_entry;
struct cpuid_table;
struct io_bus;
struct pci_bus;

/* KVM's supported CPU features (x86: the CPUID table, shared by every vCPU and kept for the
 * process) in *supported, and the VM's CPU template checked against them. Returns 0 or -errno
 * (logged). */
int vm_arch_cpu_features(struct vm *vm, const struct cpuid_table **supported);

/* The registers of a vCPU KVM just made: the features of `supported` (with the template, and
 * patched for its index; vCPU 0's become vm->guest_cpuid), FPU, MSRs and interrupt lines.
 * Returns 0 or -errno (logged). */
int vcpu_arch_setup(struct vcpu *vcpu, const struct cpuid_table *supported);

/* Once every vCPU exists, before any runs (aarch64: the GIC, which KVM sizes by the vCPUs; x86:
 * nothing). Returns 0 or -errno (logged). */
int vm_arch_vcpus_created(struct vm *vm);

/* What the halt watch samples of a vCPU (vcpu.c, metrics): its program counter, whether it takes
 * interrupts, its page-table root. vcpu_arch_sample() reads them on the vCPU's thread; returns 0
 * or -errno. vcpu_arch_seen_names are their keys in the metrics document. */
struct vcpu_arch_seen {
	uint64_t pc, pt_root;
	bool irqs_on;
};
int vcpu_arch_sample(struct vcpu *vcpu, struct vcpu_arch_seen *seen);
extern const struct vcpu_arch_seen_names {
	const char *pc, *pt_root;
} vcpu_arch_seen_names;

/* An exit the generic loop does not know (vcpu.c's handle_exit()): true when the architecture
 * handled it (aarch64: KVM_EXIT_ARM_NISV, answered with an external data abort to the guest),
 * false for the loop to stop the VM with an error. On the vCPU's thread. */
bool vcpu_arch_handle_exit(struct vcpu *vcpu);

/* Prints a vCPU's registers at error level (a guest that failed). */
void vcpu_arch_dump_registers(struct vcpu *vcpu);

/* The boot vCPU's registers for the loaded kernel's `entry`. Returns 0 or the exit status
 * (logged). */
int vm_arch_boot_cpu(struct vm *vm, const struct boot_entry *entry);

/* The guest's clock, so that a pause does not show as elapsed time: read at the pause, put back
 * at the resume (x86: kvmclock, KVM_GET_CLOCK / KVM_SET_CLOCK; aarch64: the virtual counter,
 * vCPU 0's KVM_REG_ARM_TIMER_CNT, which moves every vCPU's). Every vCPU parked. Each returns 0 or
 * -errno. */
int vm_arch_clock_get(struct vm *vm, uint64_t *clock);
int vm_arch_clock_set(struct vm *vm, uint64_t clock);

/* The guest's physical-address width as its vCPUs see it, or the layout's where no vCPU exists
 * (vm_describe()). */
unsigned vm_arch_guest_phys_bits(const struct vm *vm);

/* The architecture's platform devices on the VM's buses (x86: i8042, CMOS RTC, POST port, reset
 * control, debug-exit with --debug-exit, the ACPI PM registers unless ACPI is off), described
 * in vm->machine. Called once, after COM1, before the generic ACPI devices; their state is
 * allocated here and freed by vm_arch_devices_destroy(), which undoes only what was done.
 * Returns 0 or -errno. */
int vm_arch_devices_attach(struct vm *vm);
void vm_arch_devices_destroy(struct vm *vm);

/* Their threads while the VM runs (vm_devices_start(), once the VM exists; stopped and joined
 * after the vCPUs, and by vm_arch_devices_destroy()): aarch64's PL031 alarm timer
 * (vmm/vm/rtc_alarm.h); none on x86. Start returns 0 or -errno (logged); stop is safe to repeat. */
int vm_arch_devices_start(struct vm *vm);
void vm_arch_devices_stop(struct vm *vm);

/* The console UART every guest gets (vm_devices.c attaches it): x86's COM1, a 16550 on the port
 * bus; aarch64's PL011 on the MMIO bus. Its first port or MMIO address and its interrupt line. */
enum vm_arch_uart_kind { VM_UART_16550_PIO, VM_UART_PL011_MMIO };
struct vm_arch_uart {
	enum vm_arch_uart_kind kind;
	uint64_t base;
	uint32_t irq;
};
struct vm_arch_uart vm_arch_console_uart(void);

/* The boot timer's port beside its MMIO page (x86: 0x3F0, older Firecracker's), 0 where the
 * architecture has none (the MMIO page alone then). */
uint16_t vm_arch_boot_timer_port(void);

/* The PCI bus's configuration access through ports, beside the generic ECAM (x86: the 0xCF8/0xCFC
 * mechanism on ports 0xCF8-0xCFF of `pio`), for vm_pci_create(): 0 when claimed, 1 where the
 * architecture has none, or -errno; vm_arch_pci_config_detach() releases what was claimed. */
int vm_arch_pci_config_attach(struct io_bus *pio, struct pci_bus *bus);
void vm_arch_pci_config_detach(struct io_bus *pio);

/* Around the PCI bus's creation (vm_pci_ensure()): before, the architecture releases the ports
 * the bus is about to claim (x86: the reset control register 0xCF9, devices/x86/reset_control.h,
 * inside 0xCF8-0xCFF); after, once vm->pci exists, it hands the bus what the bus must pass on
 * (x86: 0xCF9's byte accesses). */
void vm_arch_pci_before_create(struct vm *vm);
/* Writes the VM_PCI_DEFAULT_ROUTES default GSI routes (vm_pci.h) into `out` (zeroed) and
 * returns how many. */
struct kvm_irq_routing_entry;
int vm_arch_default_routes(struct kvm_irq_routing_entry *out);
void vm_arch_pci_created(struct vm *vm);
/* Whether an MSI (`addr`, `data`) raises an interrupt line (*line, a GSI routed to the
 * interrupt controller's input) instead of going to KVM as an MSI: aarch64's GICv2m frame on a
 * GICv2 VM (devices/gicv2m.h); x86 never. `kvm` NULL: no VM (unit tests), false. */
struct kvm;
bool vm_arch_msi_line(const struct kvm *kvm, uint64_t addr, uint32_t data, unsigned *line);

#endif
