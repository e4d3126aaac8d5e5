/* Where the device table's devices land (vmm/vm_virtio_devices.c), without KVM: the PCI bus
 * exists only once a device asks for PCI, and placement failures are the VMM's (exit 1). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdlib.h>

#include "../mock_driver/mock_driver.h"
#include "vmm/base/errors.h"
#include "vmm/device_table.h"
#include "vmm/vm.h"
#include "vmm/vm_pci.h"
#include "vmm/vm_virtio.h"

static struct vm vm;
static struct vm_config cfg;
static struct mock_ram ram;

static void noop_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev, (void)q;
}

static const struct virtio_dev_ops ops = {.queue_notify = noop_notify};

static void setup(void)
{
	cr_redirect_stderr();
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	vm = (struct vm){.cfg = &cfg, .kvm = {.dev_fd = -1, .vm_fd = -1}, .mem = ram.mem};
	io_bus_init(&vm.pio, "pio");
	io_bus_init(&vm.mmio, "mmio");
	machine_init(&vm.machine);
	vm.virtio = calloc(1, sizeof(*vm.virtio));
	cr_assert_not_null(vm.virtio);
}

static void teardown(void)
{
	vm_virtio_destroy(&vm);
	vm_pci_destroy(vm.pci);
	io_bus_destroy(&vm.pio);
	io_bus_destroy(&vm.mmio);
	mock_ram_free(&ram);
}

static struct virtio_dev *new_dev(void)
{
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	cr_assert_not_null(dev);
	*dev = (struct virtio_dev){
	    .name = "d", .device_id = 4, .num_queues = 1, .queue_max_size = 16, .ops = &ops};
	return dev;
}

Test(vm_virtio_devices, pci_bus_comes_with_the_first_pci_device, .init = setup, .fini = teardown)
{
	/* Without KVM the mmio window cannot bind its ioeventfds: placement fails, as ours. */
	int err = vm_virtio_init_and_place(&vm, new_dev(), TRANSPORT_MMIO);
	cr_assert_eq(vmm_exit_status(err), VMM_EXIT_ERROR, "got %d", err);
	cr_assert_null(vm.pci, "an mmio device creates no PCI bus");
	cr_assert_not(vm.machine.pci.present);
	err = vm_virtio_init_and_place(&vm, new_dev(), TRANSPORT_PCI);
	cr_assert_eq(vmm_exit_status(err), VMM_EXIT_ERROR, "KVM_IRQFD on no VM is ours");
	cr_assert_not_null(vm.pci, "the first PCI device created the bus");
	cr_assert(vm.machine.pci.present, "and described it");
	struct vm_pci *first = vm.pci;
	vm_virtio_init_and_place(&vm, new_dev(), TRANSPORT_PCI);
	cr_assert_eq(vm.pci, first, "one bus");
}

Test(vm_virtio_devices, nothing_asked_nothing_created, .init = setup, .fini = teardown)
{
	cfg = (struct vm_config){0};
	cr_assert_eq(vm_virtio_create_devices(&vm), 0);
	cr_assert_eq(vm.virtio->count, 0);
	cr_assert_null(vm.pci);
	cr_assert_null(vm.display);
}
