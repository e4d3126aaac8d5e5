/* The KVM glue of the PCI bus, without KVM: the GSI routing table it installs (defaults kept),
 * the buses it registers on, the MP-table entry of a slot, and failure cleanup when KVM is absent.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "firmware/x86/mptable.h"
#include "tests/mock_driver/mock_driver.h"
#include "vmm/vm/vm_pci.h"

Test(vm_pci, default_routes_match_kvm)
{
	struct kvm_irq_routing_entry e[VM_PCI_DEFAULT_ROUTES];
	cr_assert_eq(vm_pci_build_routes(NULL, e, VM_PCI_DEFAULT_ROUTES, NULL, 0), 40);
	int ioapic = 0, master = 0, slave = 0;
	for (int i = 0; i < 40; i++) {
		cr_assert_eq(e[i].type, KVM_IRQ_ROUTING_IRQCHIP);
		if (e[i].u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			cr_assert_eq(e[i].u.irqchip.pin, e[i].gsi, "IOAPIC pin = GSI");
			ioapic++;
		} else if (e[i].u.irqchip.irqchip == KVM_IRQCHIP_PIC_MASTER) {
			cr_assert_lt(e[i].gsi, 8);
			cr_assert_eq(e[i].u.irqchip.pin, e[i].gsi);
			master++;
		} else {
			cr_assert_eq(e[i].u.irqchip.irqchip, KVM_IRQCHIP_PIC_SLAVE);
			cr_assert_geq(e[i].gsi, 8);
			cr_assert_lt(e[i].gsi, 16);
			cr_assert_eq(e[i].u.irqchip.pin, e[i].gsi - 8);
			slave++;
		}
	}
	cr_assert_eq(ioapic, 24);
	cr_assert_eq(master, 8);
	cr_assert_eq(slave, 8);
}

Test(vm_pci, msi_routes_appended)
{
	struct vm_pci_msi_route msi[3] = {
	    {.gsi = 24, .addr = 0xfee00000, .data = 0x41, .valid = true},
	    {.gsi = 25, .valid = false},
	    {.gsi = 26, .addr = 0x1fee01000ULL, .data = 0x51, .valid = true},
	};
	struct kvm_irq_routing_entry e[44];
	cr_assert_eq(vm_pci_build_routes(NULL, e, 44, msi, 3), 42,
		     "unprogrammed vectors get no route");
	cr_assert_eq(e[40].type, KVM_IRQ_ROUTING_MSI);
	cr_assert_eq(e[40].gsi, 24);
	cr_assert_eq(e[40].u.msi.address_lo, 0xfee00000);
	cr_assert_eq(e[40].u.msi.data, 0x41);
	cr_assert_eq(e[41].gsi, 26);
	cr_assert_eq(e[41].u.msi.address_hi, 1);
	cr_assert_eq(e[41].u.msi.address_lo, 0xfee01000);
	cr_assert_eq(vm_pci_build_routes(NULL, e, 41, msi, 3), -ENOSPC);
	cr_assert_eq(vm_pci_build_routes(NULL, e, 39, NULL, 0), -ENOSPC);
}

static struct io_bus pio, mmio;
static struct kvm kvm = {.dev_fd = -1, .vm_fd = -1};

static void setup(void)
{
	io_bus_init(&pio, "pio");
	io_bus_init(&mmio, "mmio");
}

static void teardown(void)
{
	io_bus_destroy(&pio);
	io_bus_destroy(&mmio);
}

Test(vm_pci, registers_conf1_and_ecam, .init = setup, .fini = teardown)
{
	struct vm_pci *p = vm_pci_create(&kvm, &pio, &mmio);
	cr_assert_not_null(p);
	uint32_t addr = 0x80000000, v = 0;
	cr_assert_eq(io_bus_write(&pio, PORT_PCI_CONFIG, &addr, 4), 1);
	cr_assert_eq(io_bus_read(&pio, PORT_PCI_CONFIG + 4, &v, 4), 1);
	cr_assert_eq(v, 0x00081b36, "host bridge through 0xCFC");
	cr_assert_eq(io_bus_read(&mmio, PCI_ECAM_BASE, &v, 4), 1);
	cr_assert_eq(v, 0x00081b36, "and through ECAM");
	cr_assert_eq(io_bus_read(&mmio, PCI_ECAM_BASE + PCI_ECAM_SIZE - 4, &v, 4), 1);
	cr_assert_eq(v, 0xffffffff);
	cr_assert_eq(p->ndevs, 0);
	vm_pci_destroy(p);
	cr_assert_eq(io_bus_read(&pio, PORT_PCI_CONFIG + 4, &v, 4), 0, "unregistered");
	vm_pci_destroy(NULL);
}

static void no_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev;
	(void)q;
}

static const struct virtio_dev_ops ops = {.queue_notify = no_notify};

Test(vm_pci, add_without_kvm_fails_cleanly, .init = setup, .fini = teardown)
{
	struct mock_ram ram;
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	struct vm_pci *p = vm_pci_create(&kvm, &pio, &mmio);
	cr_assert_not_null(p);
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	*dev = (struct virtio_dev){
	    .name = "d", .device_id = 4, .num_queues = 1, .queue_max_size = 16, .ops = &ops};
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
	cr_assert_eq(vm_pci_add_virtio(p, dev), -EBADF, "KVM_IRQFD on no VM");
	uint32_t addr = 0x80000800, v = 0; /* 00:01.0 */
	io_bus_write(&pio, PORT_PCI_CONFIG, &addr, 4);
	io_bus_read(&pio, PORT_PCI_CONFIG + 4, &v, 4);
	cr_assert_eq(v, 0xffffffff, "not on the bus");
	vm_pci_destroy(p); /* frees dev */
	mock_ram_free(&ram);
}

Test(vm_pci, mp_irq_of_a_slot)
{
	struct mp_irq e = mptable_pci_irq(2, 0, (int)pci_intx_ioapic_pin(2, 0));
	cr_assert_eq(e.bus, MP_BUS_PCI);
	cr_assert_eq(e.bus_irq, 2 << 2);
	cr_assert_eq(e.pin, 22);
	cr_assert_eq(e.flags, MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_LOW);
}
