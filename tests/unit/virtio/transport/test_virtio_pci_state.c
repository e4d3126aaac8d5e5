/* The virtio-pci function through a snapshot (virtio/transport/virtio_pci.c
 * virtio_pci_save/restore, devices/pci pci_func_restore_config and pci_msix_save/restore): a BAR
 * the guest moved and an MSI-X table it programmed survive into a fresh function on a fresh bus,
 * which decodes the BAR at the saved address and moves its notify area there as a guest BAR write
 * does; hostile states are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "tests/mock_driver/echo_device.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/transport/virtio_pci.h"

#define NQ	 2
#define SLOT	 3
#define NEW_BAR0 0xf4000000ull

struct side {
	struct echo_device echo;
	struct virtio_pci t;
	struct io_bus mmio;
	struct pci_bus bus;
	int moves;
	bool notify_on;
	uint64_t notify_base;
	int intx_level;
};

static struct mock_ram ram;
static struct side A, B;

static void rec_moved(void *opaque, bool was_on, uint64_t old, bool on, uint64_t base)
{
	struct side *s = opaque;
	(void)was_on;
	(void)old;
	s->moves++;
	s->notify_on = on;
	s->notify_base = base;
}

static void rec_intx(void *opaque, int level)
{
	((struct side *)opaque)->intx_level = level;
}

static void side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(echo_device_init(&s->echo, NQ, &ram.mem), 0);
	struct virtio_pci_host h = {NULL, rec_intx, rec_moved, s};
	cr_assert_eq(virtio_pci_init(&s->t, &s->echo.dev, &h), 0);
	io_bus_init(&s->mmio, "mmio");
	cr_assert_eq(pci_bus_init(&s->bus, &s->mmio), 0);
	cr_assert_eq(pci_bus_add(&s->bus, &s->t.func, SLOT), SLOT);
}

static void side_fini(struct side *s)
{
	pci_bus_destroy(&s->bus);
	io_bus_destroy(&s->mmio);
	virtio_dev_destroy(&s->echo.dev);
}

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	side_init(&A);
	side_init(&B);
}

static void teardown(void)
{
	side_fini(&A);
	side_fini(&B);
	mock_ram_free(&ram);
}

TestSuite(virtio_pci_state, .init = setup, .fini = teardown);

static void cfg_wr(struct side *s, uint32_t off, uint32_t v, uint32_t len)
{
	pci_bus_config_write(&s->bus, 0, PCI_DEVFN(SLOT, 0), off, &v, len);
}

static uint32_t cfg_rd(struct side *s, uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_bus_config_read(&s->bus, 0, PCI_DEVFN(SLOT, 0), off, &v, len);
	return v;
}

static void bar_wr(struct side *s, int bar, uint64_t off, uint64_t v, uint32_t len)
{
	cr_assert_eq(io_bus_write(&s->mmio, pci_func_bar_addr(&s->t.func, bar) + off, &v, len), 1);
}

static uint64_t bar_rd(struct side *s, int bar, uint64_t off, uint32_t len)
{
	uint64_t v = 0;
	cr_assert_eq(io_bus_read(&s->mmio, pci_func_bar_addr(&s->t.func, bar) + off, &v, len), 1);
	return v;
}

/* What a driver does: move BAR 0, enable MSI-X, program vector 1, point queue 1 and the config
 * change at vectors. */
static void program_a(void)
{
	cfg_wr(&A, PCI_BASE_ADDRESS_0, (uint32_t)NEW_BAR0, 4);
	cfg_wr(&A, PCI_BASE_ADDRESS_1, 0, 4);
	cr_assert_eq(pci_func_bar_addr(&A.t.func, 0), NEW_BAR0);
	uint8_t cap = A.t.msix.cap;
	cfg_wr(&A, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	bar_wr(&A, VIRTIO_PCI_MSIX_BAR, 16 * 1 + 0, 0xfee01000, 4);
	bar_wr(&A, VIRTIO_PCI_MSIX_BAR, 16 * 1 + 8, 0x4041, 4);
	bar_wr(&A, VIRTIO_PCI_MSIX_BAR, 16 * 1 + 12, 0, 4); /* unmasked */
	bar_wr(&A, 0, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	bar_wr(&A, 0, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	bar_wr(&A, 0, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
}

Test(virtio_pci_state, moved_bar_and_msix_table_survive)
{
	struct virtio_pci_state st;

	program_a();
	virtio_pci_save(&A.t, &st);
	B.moves = 0;
	cr_assert_eq(virtio_pci_restore(&B.t, &st), 0);
	cr_assert_eq(pci_func_bar_addr(&B.t.func, 0), NEW_BAR0);
	cr_assert(B.t.func.bars[0].mapped, "BAR 0 decodes at the saved address");
	cr_assert_eq(B.moves, 1, "the notify area moved as after a guest BAR write");
	cr_assert(B.notify_on);
	cr_assert_eq(B.notify_base, NEW_BAR0 + VIRTIO_PCI_NOTIFY_OFF);
	cr_assert(pci_msix_enabled(&B.t.msix));
	for (uint32_t off = 0; off < 16 * (NQ + 1); off += 4)
		cr_assert_eq(bar_rd(&B, VIRTIO_PCI_MSIX_BAR, off, 4),
			     bar_rd(&A, VIRTIO_PCI_MSIX_BAR, off, 4), "table word at %u", off);
	for (uint32_t off = 0; off < PCI_CFG_SPACE; off += 4)
		cr_assert_eq(cfg_rd(&B, off, 4), cfg_rd(&A, off, 4), "config dword at 0x%x", off);
	bar_wr(&B, 0, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	cr_assert_eq(bar_rd(&B, 0, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	cr_assert_eq(bar_rd(&B, 0, VIRTIO_PCI_COMMON_MSIX, 2), 0);
	virtio_pci_sync_intx(&B.t);
	cr_assert_eq(B.intx_level, 0, "MSI-X is on: INTx stays low");
}

Test(virtio_pci_state, hostile_states_are_refused)
{
	struct virtio_pci_state st, bad;

	program_a();
	virtio_pci_save(&A.t, &st);
	bad = st;
	bad.config_vector = NQ + 1; /* beyond the MSI-X table */
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	bad = st;
	bad.queue_vector[NQ] = 0; /* a queue the device does not have */
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	bad = st;
	bad.msix.table[0][3] = 0x2; /* reserved control bits */
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	bad = st;
	bad.msix.table[NQ + 1][2] = 1; /* an entry past the table */
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	bad = st;
	bad.msix.pending = 1ull << (NQ + 1);
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	bad = st;
	bad.msix.nvec = 64;
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	bad = st;
	bad.cfg[PCI_DEVICE_ID] ^= 1; /* another kind of device */
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	cr_assert_neq(pci_func_bar_addr(&B.t.func, 0), NEW_BAR0, "nothing was applied");
	bad = st;
	bad.num_queues = NQ + 1;
	cr_assert_eq(virtio_pci_restore(&B.t, &bad), -EINVAL);
	cr_assert_eq(virtio_pci_restore(&B.t, &st), 0);
}
