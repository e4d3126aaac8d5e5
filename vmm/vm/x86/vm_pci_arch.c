/* x86's port access to the PCI configuration space: the 0xCF8/0xCFC mechanism (PCI 3.0 §3.2.2.3.2)
 * on ports 0xCF8-0xCFF (vmm/vm/arch_vm.h). */
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
