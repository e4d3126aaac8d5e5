/* x86's port access to the PCI configuration space: the 0xCF8/0xCFC mechanism (PCI 3.0 §3.2.2.3.2)
 * on ports 0xCF8-0xCFF (vmm/vm/arch_vm.h). */
#include <linux/kvm.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "vmm/vm/arch_vm.h"

#define CONF1_PORTS 8 /* 0xCF8-0xCFF */

int vm_arch_pci_config_attach(struct io_bus *pio, struct pci_bus *bus)
{
	return io_bus_register(pio, PORT_PCI_CONFIG, CONF1_PORTS, &pci_conf1_ops, bus, "pci-conf1");
}

void vm_arch_pci_config_detach(struct io_bus *pio)
{
	io_bus_unregister(pio, PORT_PCI_CONFIG);
}

int vm_arch_default_routes(struct kvm_irq_routing_entry *out)
{
	int n = 0;
	for (unsigned gsi = 0; gsi < 24; gsi++) {
		out[n].gsi = gsi;
		out[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		out[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		out[n++].u.irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		/* as KVM's own default table, which keeps GSI 2 on the master's pin 2 */
		out[n].gsi = gsi;
		out[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		out[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		out[n++].u.irqchip.pin = gsi % 8;
	}
	return n;
}

bool vm_arch_msi_line(const struct kvm *kvm, uint64_t addr, uint32_t data, unsigned *line)
{
	(void)kvm, (void)addr, (void)data, (void)line;
	return false; /* the LAPICs take every MSI */
}
