/* vmm/vm/vm_vfio: a passed-through device on the VM's PCI bus over the fake VFIO layer and a fake
 * KVM: opened, reset and its DMA mapped at start; its BARs placed in the window with the MSI-X
 * table trapped on the MMIO bus; MSI-X on through VFIO_DEVICE_SET_IRQS; a vector the guest
 * programs and unmasks routed to its GSI with an irqfd, masked detached; INTx a resample irqfd
 * on the slot's IOAPIC pin, off while MSI-X is on; reset and unmapped at the end; refusals
 * reported with the device's message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <unistd.h>

#include "base/layout.h"
#include "tests/mock_driver/mock_driver.h"
#include "tests/unit/fixtures/fake_vfio.h"
#include "vmm/vm/vm_vfio.h"
#include "vmm/vm/vm_virtio.h"

#define MAX_CALLS 64
#define DEVFN	  PCI_DEVFN(1, 0)
#define PATH	  VFIO_SYSFS_PCI_DEV FAKE_BDF

static struct {
	struct kvm_irqfd irqfd[MAX_CALLS];
	int nirqfd;
	struct kvm_irq_routing_entry table[VM_PCI_DEFAULT_ROUTES + 256];
	uint32_t table_nr;
	bool resample; /* KVM takes resample irqfds (INTx wired) */
} fk;

static int fake_ioeventfd(void *ctx, const struct kvm_ioeventfd *io)
{
	(void)ctx, (void)io;
	return 0;
}

static int fake_irqfd(void *ctx, const struct kvm_irqfd *req)
{
	(void)ctx;
	cr_assert_lt(fk.nirqfd, MAX_CALLS);
	fk.irqfd[fk.nirqfd++] = *req;
	return 0;
}

static int fake_routing(void *ctx, const struct kvm_irq_routing *t)
{
	(void)ctx;
	cr_assert_leq(t->nr, sizeof(fk.table) / sizeof(fk.table[0]));
	memcpy(fk.table, t->entries, sizeof(t->entries[0]) * t->nr);
	fk.table_nr = t->nr;
	return 0;
}

static int fake_signal_msi(void *ctx, const struct kvm_msi *msi)
{
	(void)ctx, (void)msi;
	return 0;
}

static bool fake_can_resample(void *ctx)
{
	(void)ctx;
	return fk.resample;
}

static const struct kvm_notify_ops kvm_ops = {fake_ioeventfd, fake_irqfd, fake_routing,
					      fake_signal_msi, fake_can_resample};

static struct fake_vfio f;
static struct mock_ram ram;
static struct kvm kvm;
static struct io_bus pio, mmio;
static struct vm_pci *pci;
static struct vm_vfio *v;
static char err[512];

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	fake_vfio_init(&f);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	kvm = (struct kvm){.dev_fd = -1, .vm_fd = -1, .notify = {&kvm_ops, NULL}};
	io_bus_init(&pio, "pio");
	io_bus_init(&mmio, "mmio");
	pci = vm_pci_create(&kvm, &pio, &mmio);
	cr_assert_not_null(pci);
	struct vm_vfio_host h = {&kvm, &ram.mem, &pio, &mmio, pci, &fake_vfio_ops, &f, NULL};
	v = vm_vfio_create(&h);
	cr_assert_not_null(v);
	err[0] = '\0';
}

/* In the VM's order (vm_destroy(): the bus, then the device states): vm_vfio_destroy() frees
 * functions the bus would still read. */
static void end_vm(void)
{
	vm_pci_destroy(pci);
	pci = NULL;
	vm_vfio_destroy(v);
	v = NULL;
}

static void teardown(void)
{
	end_vm();
	io_bus_destroy(&pio);
	io_bus_destroy(&mmio);
	mock_ram_free(&ram);
	fake_vfio_fini(&f);
}

TestSuite(vm_vfio, .init = setup, .fini = teardown);

static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t val = 0;
	pci_bus_config_read(&pci->bus, 0, DEVFN, off, &val, len);
	return val;
}

static void cfg_wr(uint32_t off, uint32_t val, uint32_t len)
{
	pci_bus_config_write(&pci->bus, 0, DEVFN, off, &val, len);
}

static void mmio_wr32(uint64_t addr, uint32_t val)
{
	cr_assert_eq(io_bus_write(&mmio, addr, &val, 4), 1, "nothing trapped at 0x%llx",
		     (unsigned long long)addr);
}

static uint64_t bar0(void)
{
	return cfg_rd(PCI_BASE_ADDRESS_0, 4) & ~0xfull;
}

Test(vm_vfio, opens_resets_maps_and_plugs)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(f.resets, 1, "reset at start");
	cr_assert_eq(f.ndma, 1);
	cr_assert(f.dma[0].map);
	cr_assert_eq(f.dma[0].iova, MOCK_RAM_GPA, "IOVA = guest-physical");
	cr_assert_eq(f.dma[0].size, MOCK_RAM_SIZE);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 4), 0x00101b36, "the device's identity on bus 0");
	uint64_t b0 = bar0();
	cr_assert_geq(b0, PCI_MMIO32_BASE);
	cr_assert_eq(b0 & 0x3fff, 0, "naturally aligned");
	cr_assert(cfg_rd(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
	uint64_t b2 = cfg_rd(PCI_BASE_ADDRESS_2, 4) & ~0xfull;
	cr_assert_gt(b2, b0);
	cr_assert_leq(pci->bus.mmio32_next, PCI_MMIO32_BASE + PCI_MMIO32_SIZE);
	cr_assert_geq(pci->bus.mmio32_next, b2 + 65536, "the window moved past the BARs");
	/* BAR0's first 8 KiB are mmap'd (a memory slot), the table page trapped */
	uint32_t x;
	cr_assert_eq(io_bus_read(&mmio, b0, &x, 4), 0, "the mmap part is not on the MMIO bus");
	cr_assert_eq(io_bus_read(&mmio, b0 + 0x2000, &x, 4), 1, "the MSI-X table traps");
}

/* With the machine's 64-bit window (vm_pci_ensure() sets it on the bus), the 64-bit BAR0 goes
 * above 4 GiB: both register halves say so, its MSI-X table traps there; the 32-bit BAR2 stays
 * in the 32-bit window. */
Test(vm_vfio, bar64_placed_in_the_64bit_window)
{
	pci->bus.mmio64_next = LAYOUT_MMIO64_BASE;
	pci->bus.mmio64_end = LAYOUT_MMIO64_BASE + LAYOUT_MMIO64_SIZE;
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	uint64_t b0 = bar0() | (uint64_t)cfg_rd(PCI_BASE_ADDRESS_1, 4) << 32;
	cr_assert_eq(b0, LAYOUT_MMIO64_BASE, "BAR0 at 0x%llx", (unsigned long long)b0);
	cr_assert_eq(pci->bus.mmio64_next, LAYOUT_MMIO64_BASE + 0x4000);
	uint64_t b2 = cfg_rd(PCI_BASE_ADDRESS_2, 4) & ~0xfull;
	cr_assert_geq(b2, PCI_MMIO32_BASE, "the 32-bit BAR stays low");
	cr_assert_lt(b2, PCI_MMIO32_BASE + PCI_MMIO32_SIZE);
	uint32_t x;
	cr_assert_eq(io_bus_read(&mmio, b0, &x, 4), 0, "the mmap part is a memory slot");
	cr_assert_eq(io_bus_read(&mmio, b0 + 0x2000, &x, 4), 1, "the MSI-X table traps high");
}

Test(vm_vfio, msix_vector_routed_through_an_irqfd)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	uint64_t table = bar0() + 0x2000;
	cfg_wr(0x72, PCI_MSIX_FLAGS_ENABLE, 2);
	cr_assert_eq(f.irq_sets, 1, "VFIO_DEVICE_SET_IRQS on enable");
	cr_assert_eq(f.last_irq.index, VFIO_PCI_MSIX_IRQ_INDEX);
	cr_assert_eq(f.last_irq.count, 65, "every vector has its eventfd");
	cr_assert_geq(f.last_fds[3], 0);

	mmio_wr32(table + 3 * 16, 0xfee01000);
	mmio_wr32(table + 3 * 16 + 8, 0x4041);
	cr_assert_eq(fk.nirqfd, 0, "still masked");
	mmio_wr32(table + 3 * 16 + 12, 0); /* unmask */
	cr_assert_eq(fk.nirqfd, 1);
	cr_assert_eq(fk.irqfd[0].fd, (uint32_t)f.last_fds[3], "the vector's own eventfd");
	cr_assert_eq(fk.irqfd[0].flags & KVM_IRQFD_FLAG_DEASSIGN, 0);
	unsigned gsi = fk.irqfd[0].gsi;
	cr_assert_geq(gsi, VM_PCI_FIRST_MSI_GSI);
	bool routed = false;
	for (uint32_t i = 0; i < fk.table_nr; i++)
		routed |= fk.table[i].type == KVM_IRQ_ROUTING_MSI && fk.table[i].gsi == gsi &&
			  fk.table[i].u.msi.address_lo == 0xfee01000 &&
			  fk.table[i].u.msi.data == 0x4041;
	cr_assert(routed, "GSI %u routed to the guest's message", gsi);

	mmio_wr32(table + 3 * 16 + 12, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	cr_assert_eq(fk.nirqfd, 2);
	cr_assert(fk.irqfd[1].flags & KVM_IRQFD_FLAG_DEASSIGN, "masked: detached");

	cfg_wr(0x72, 0, 2);
	cr_assert_eq(f.irq_sets, 2);
	cr_assert_eq(f.last_irq.count, 0, "MSI-X off: the index off");
}

/* Each vector's route carries the function's requester ID, which an ITS translates by (arm64's
 * KVM_MSI_VALID_DEVID), as virtio-pci's routes do. */
Test(vm_vfio, msix_routes_carry_the_requester_id)
{
	int slot = vm_vfio_add(v, PATH, err, sizeof(err));
	cr_assert_gt(slot, 0, "%s", err);
	const struct vm_vfio_dev *d = vm_vfio_find_slot(v, slot);
	cr_assert_not_null(d);
	for (unsigned i = 0; i < 65; i++)
		cr_assert_eq(d->routes[i].devid, (uint32_t)slot << 3, "vector %u", i);
}

static uint64_t mmio_rd64(uint64_t addr)
{
	uint64_t val = 0;
	cr_assert_eq(io_bus_read(&mmio, addr, &val, 8), 1, "nothing trapped at 0x%llx",
		     (unsigned long long)addr);
	return val;
}

/* A masked vector the device signals (the kernel writes its eventfd, whose irqfd is detached)
 * reads pending in the PBA; unmasked, it is delivered once (written back to the eventfd after
 * the irqfd is attached again) and no longer pending. */
Test(vm_vfio, masked_vector_pending_in_the_pba)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	uint64_t table = bar0() + 0x2000, pba = bar0() + 0x3000;
	cfg_wr(0x72, PCI_MSIX_FLAGS_ENABLE, 2);
	mmio_wr32(table + 3 * 16, 0xfee01000);
	mmio_wr32(table + 3 * 16 + 8, 0x4041);
	cr_assert_eq(mmio_rd64(pba), 0, "nothing pending");
	uint64_t one = 1, got = 0;
	int fd = f.last_fds[3];
	cr_assert_eq(write(fd, &one, sizeof(one)), 8, "the device fires vector 3");
	cr_assert_eq(mmio_rd64(pba), 1ull << 3, "vector 3 pending while masked");
	cr_assert_eq(mmio_rd64(pba), 1ull << 3, "and stays so");
	cr_assert_eq(mmio_rd64(pba + 8), 0, "vector 64 not");
	mmio_wr32(table + 3 * 16 + 12, 0); /* unmask */
	cr_assert_eq(fk.nirqfd, 1, "the irqfd attached");
	cr_assert_eq(read(fd, &got, sizeof(got)), 8, "the message sent once");
	cr_assert_eq(got, 1);
	cr_assert_eq(mmio_rd64(pba), 0, "delivered: no longer pending");
}

Test(vm_vfio, guest_moves_a_bar)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	uint64_t old = bar0();
	cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) & ~PCI_COMMAND_MEMORY, 2);
	uint32_t x;
	cr_assert_eq(io_bus_read(&mmio, old + 0x2000, &x, 4), 0, "decoding off: no trap");
	cfg_wr(PCI_BASE_ADDRESS_0, 0xf4000000, 4);
	cfg_wr(PCI_COMMAND, cfg_rd(PCI_COMMAND, 2) | PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(io_bus_read(&mmio, 0xf4002000, &x, 4), 1, "the table traps at the new place");
	cr_assert_eq(io_bus_read(&mmio, old + 0x2000, &x, 4), 0);
}

/* Linux moves a 32-bit BAR without turning decoding off, so for a moment one BAR may lie over
 * another of the device: the part that cannot be mapped there waits and is mapped once the other
 * BAR moved away (the e1000e's BAR 0 passed over its MSI-X BAR in vfio_l1.sh). */
Test(vm_vfio, bar_over_another_waits_for_it_to_move)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	uint64_t b2 = cfg_rd(PCI_BASE_ADDRESS_2, 4) & ~0xfull;
	uint32_t x;
	/* BAR0's table and PBA pages (+0x2000..+0x4000) onto BAR2's trapped +0x4000..+0x8000 */
	cfg_wr(PCI_BASE_ADDRESS_0, (uint32_t)(b2 + 0x4000), 4);
	cr_assert_eq(bar0(), b2 + 0x4000);
	cfg_wr(PCI_BASE_ADDRESS_2, 0xf4000000, 4); /* BAR2 goes */
	cr_assert_eq(io_bus_read(&mmio, 0xf4004000, &x, 4), 1, "BAR2's trapped part moved");
	mmio_wr32(b2 + 0x6000, 0xfee01000); /* BAR0's table, vector 0's address */
	cr_assert_eq(io_bus_read(&mmio, b2 + 0x6000, &x, 4), 1);
	cr_assert_eq(x, 0xfee01000, "BAR0's MSI-X table is reachable there now");
}

Test(vm_vfio, end_resets_unmaps_and_turns_interrupts_off)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	cfg_wr(0x72, PCI_MSIX_FLAGS_ENABLE, 2);
	end_vm();
	cr_assert_eq(f.resets, 2, "reset at the end");
	cr_assert_eq(f.last_irq.count, 0, "MSI-X off");
	cr_assert_eq(f.ndma, 2);
	cr_assert_not(f.dma[1].map, "guest RAM unmapped");
	cr_assert_gt(f.munmaps, 0, "the BARs' mappings undone");
}

Test(vm_vfio, refusal_carries_the_devices_message)
{
	snprintf(f.devs[0].driver, sizeof(f.devs[0].driver), "nvme");
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "bound to nvme"), "%s", err);
	cr_assert_eq(f.ndma, 0, "nothing mapped");
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), 0xffff, "nothing on the bus");
}

/* Two devices of one IOMMU group: the kernel lets the group be opened once, and the message says
 * this VM holds it through the other device. A group another VM holds: named, with its other
 * devices. */
Test(vm_vfio, a_group_held_is_said_in_words)
{
	f.group_exclusive = true;
	fake_vfio_add_dev(&f, "0000:01:00.1", "vfio-pci");
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(vm_vfio_add(v, VFIO_SYSFS_PCI_DEV "0000:01:00.1", err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "0000:01:00.1: IOMMU group 7 is this VM's already, through "
			      "0000:01:00.0: the devices of a group are passed as one"),
		  "%s", err);
}

Test(vm_vfio, a_group_another_vm_holds)
{
	f.group_busy = true;
	fake_vfio_add_dev(&f, "0000:01:00.1", "vfio-pci");
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err,
			 "IOMMU group 7 (/dev/vfio/7, with 0000:01:00.1) is in use: another VM "
			 "or process has it open"),
		  "%s", err);
}

Test(vm_vfio, device_without_reset_refused)
{
	f.dev_flags &= ~VFIO_DEVICE_FLAGS_RESET;
	cr_assert_lt(vm_vfio_add(v, PATH, err, sizeof(err)), 0);
	cr_assert(strstr(err, "reset"), "%s", err);
}

Test(vm_vfio, intx_wired_and_off_while_msix_is_on)
{
	fk.resample = true;
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	unsigned gsi = pci_intx_ioapic_pin(1, 0); /* device 1, INTA */
	cr_assert_eq(fk.nirqfd, 1);
	cr_assert_eq(fk.irqfd[0].gsi, gsi);
	cr_assert(fk.irqfd[0].flags & KVM_IRQFD_FLAG_RESAMPLE, "level-triggered, resampled");
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_LINE, 1), gsi, "the line register names the pin");
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	cr_assert_eq(f.irq_sets, 2, "INTx trigger, then its unmask fd");
	cr_assert_eq(f.last_irq.index, VFIO_PCI_INTX_IRQ_INDEX);
	cr_assert(f.last_irq.flags & VFIO_IRQ_SET_ACTION_UNMASK);
	cr_assert_eq(f.last_fds[0], fk.irqfd[0].resamplefd);

	cfg_wr(0x72, PCI_MSIX_FLAGS_ENABLE, 2);
	cr_assert_eq(f.irq_sets, 4, "INTx off, then MSI-X on");
	cr_assert_eq(f.last_irq.index, VFIO_PCI_MSIX_IRQ_INDEX);
	cfg_wr(0x72, 0, 2);
	cr_assert_eq(f.irq_sets, 7, "MSI-X off, then INTx on again with its unmask fd");
	cr_assert_eq(f.last_irq.index, VFIO_PCI_INTX_IRQ_INDEX);

	end_vm();
	cr_assert(fk.irqfd[fk.nirqfd - 1].flags & KVM_IRQFD_FLAG_DEASSIGN, "detached at the end");
	cr_assert_eq(fk.irqfd[fk.nirqfd - 1].gsi, gsi);
}

Test(vm_vfio, rom_readable_where_the_guest_enables_it)
{
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	f.regions[VFIO_PCI_ROM_REGION_INDEX].data[0] = 0x55;
	f.regions[VFIO_PCI_ROM_REGION_INDEX].data[1] = 0xaa;
	uint16_t sig = 0;
	cfg_wr(PCI_ROM_ADDRESS, 0xf8000000, 4);
	cr_assert_eq(io_bus_read(&mmio, 0xf8000000, &sig, 2), 0, "not enabled: nothing there");
	cfg_wr(PCI_ROM_ADDRESS, 0xf8000001, 4);
	cr_assert_eq(io_bus_read(&mmio, 0xf8000000, &sig, 2), 1);
	cr_assert_eq(sig, 0xaa55, "the ROM's signature");
	uint8_t b = 0x12;
	io_bus_write(&mmio, 0xf8000000, &b, 1);
	cr_assert_eq(f.regions[VFIO_PCI_ROM_REGION_INDEX].data[0], 0x55, "read-only");
	cfg_wr(PCI_ROM_ADDRESS, 0xf8000000, 4);
	cr_assert_eq(io_bus_read(&mmio, 0xf8000000, &sig, 2), 0, "disabled again");
}

/* ---- hotplug (PUT /vmm/vm.add-device on a running VM) ---- */

#define HOT_SLOT 5

static uint32_t hot_rd(int slot, uint32_t off, uint32_t len)
{
	uint32_t val = 0;
	pci_bus_config_read(&pci->bus, 0, PCI_DEVFN(slot, 0), off, &val, len);
	return val;
}

Test(vm_vfio, hot_added_in_its_slot_removed_and_added_again)
{
	cr_assert_eq(vm_vfio_add_at(v, PATH, HOT_SLOT, err, sizeof(err)), HOT_SLOT, "%s", err);
	cr_assert_eq(hot_rd(HOT_SLOT, PCI_VENDOR_ID, 4), 0x00101b36, "in the hotplug slot");
	cr_assert_eq(f.resets, 1);
	cr_assert_eq(f.ndma, 1, "guest RAM mapped: the VM's first device");
	cr_assert_eq(vm_vfio_count(v), 1);
	struct vm_vfio_dev *d = vm_vfio_find_slot(v, HOT_SLOT);
	cr_assert_not_null(d);
	cr_assert_null(vm_vfio_find_slot(v, HOT_SLOT + 1));
	uint64_t table = (hot_rd(HOT_SLOT, PCI_BASE_ADDRESS_0, 4) & ~0xfull) + 0x2000;
	pci_bus_config_write(&pci->bus, 0, PCI_DEVFN(HOT_SLOT, 0), 0x72,
			     &(uint16_t){PCI_MSIX_FLAGS_ENABLE}, 2);
	cr_assert_eq(f.last_irq.index, VFIO_PCI_MSIX_IRQ_INDEX);

	/* the guest released it */
	vm_vfio_remove(v, d);
	cr_assert_eq(vm_vfio_count(v), 0);
	cr_assert_eq(hot_rd(HOT_SLOT, PCI_VENDOR_ID, 2), 0xffff, "off the bus");
	uint32_t x;
	cr_assert_eq(io_bus_read(&mmio, table, &x, 4), 0, "its trapped BAR parts gone");
	cr_assert_eq(f.last_irq.count, 0, "MSI-X off");
	cr_assert_eq(f.resets, 2, "reset as it leaves");
	cr_assert_eq(f.ndma, 2);
	cr_assert_not(f.dma[1].map, "the last device: guest RAM unmapped");
	cr_assert_eq(f.groups_in, 0, "its group out of the container");
	cr_assert_eq(f.opens, f.closes, "every fd closed");

	cr_assert_eq(vm_vfio_add_at(v, PATH, HOT_SLOT, err, sizeof(err)), HOT_SLOT, "%s", err);
	cr_assert_eq(hot_rd(HOT_SLOT, PCI_VENDOR_ID, 4), 0x00101b36, "back");
	cr_assert_eq(f.resets, 3);
	cr_assert_eq(f.ndma, 3);
	cr_assert(f.dma[2].map, "guest RAM mapped again");
	end_vm();
	cr_assert_eq(f.resets, 4, "reset at the end, once");
	cr_assert_not(f.dma[3].map);
}

Test(vm_vfio, refused_hot_add_leaves_nothing)
{
	snprintf(f.devs[0].driver, sizeof(f.devs[0].driver), "nvme");
	cr_assert_eq(vm_vfio_add_at(v, PATH, HOT_SLOT, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "bound to nvme"), "%s", err);
	cr_assert_eq(vm_vfio_count(v), 0);
	cr_assert_eq(f.ndma, 0);
	snprintf(f.devs[0].driver, sizeof(f.devs[0].driver), "vfio-pci");
	/* a failure after the device was opened, reset and RAM mapped: the slot is taken */
	cr_assert_lt(vm_vfio_add_at(v, PATH, 0, err, sizeof(err)), 0, "the host bridge's slot");
	cr_assert_eq(vm_vfio_count(v), 0);
	cr_assert_eq(f.ndma, 2);
	cr_assert_not(f.dma[1].map, "its DMA maps undone");
	cr_assert_eq(f.resets, 2, "reset as it went");
	cr_assert_eq(f.groups_in, 0);
	cr_assert_eq(f.opens, f.closes);
	cr_assert_eq(vm_vfio_add_at(v, PATH, HOT_SLOT, err, sizeof(err)), HOT_SLOT, "%s", err);
}

/* ---- memory that moves: virtio-mem's blocks mapped as plugged ---- */

static int no_kvm_slot(void *opaque, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	(void)opaque, (void)slot, (void)gpa, (void)size, (void)host;
	return 0;
}

Test(vm_vfio, plugged_memory_mapped_for_dma_and_unmapped_on_unplug)
{
	struct memhp hp;
	const struct memhp_region o = {MIB(128), MIB(2), MIB(128)};
	uint64_t base = GIB(4);
	cr_assert_eq(
	    memhp_init(&hp, &ram.mem, base, &o, 16, &(struct memhp_slots){no_kvm_slot, NULL}), 0);
	v->h.memhp = &hp;
	cr_assert_eq(memhp_plug(&hp, base, MIB(2)), 0, "plugged before the device came");
	cr_assert_eq(vm_vfio_add(v, PATH, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(f.ndma, 2, "RAM and the plugged block");
	cr_assert(f.dma[1].map && f.dma[1].iova == base && f.dma[1].size == MIB(2));
	cr_assert_eq(f.dma[1].vaddr, (uint64_t)(uintptr_t)hp.host);

	cr_assert_eq(memhp_plug(&hp, base + MIB(4), MIB(2)), 0);
	cr_assert_eq(f.ndma, 3);
	cr_assert(f.dma[2].map && f.dma[2].iova == base + MIB(4), "mapped as the guest plugs");
	cr_assert_eq(memhp_unplug(&hp, base, MIB(2)), 0);
	cr_assert_eq(f.ndma, 4);
	cr_assert(!f.dma[3].map && f.dma[3].iova == base && f.dma[3].size == MIB(2),
		  "unmapped when the guest gave it back");

	end_vm();
	cr_assert_eq(f.ndma, 6, "the block left and RAM unmapped at the end");
	cr_assert(!f.dma[4].map && f.dma[4].iova == base + MIB(4));
	cr_assert(!f.dma[5].map && f.dma[5].iova == MOCK_RAM_GPA);
	cr_assert_eq(memhp_plug(&hp, base + MIB(8), MIB(2)), 0);
	cr_assert_eq(f.ndma, 6, "no device: nothing mapped");
	memhp_free(&hp);
}
