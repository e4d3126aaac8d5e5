/* The modern virtio-pci transport driven as Linux's virtio_pci_modern driver drives it: identity,
 * the capability chain (4.1.4), common configuration (4.1.4.3), MSI-X (masking, pending bits,
 * NO_VECTOR), the ISR and INTx fallback, the PCI configuration access window, and an echo
 * device served end to end through the BAR registers with the mock driver's rings. */
#include <criterion/criterion.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "tests/mock_driver/echo_device.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/core/device.h"
#include "virtio/transport/virtio_pci.h"

#define QSIZE 16
#define NQ    2
#define SLOT  5

/* What the VMM would see. */
struct host_rec {
	int msis;
	uint16_t vector;
	uint64_t addr;
	uint32_t data;
	int intx_changes;
	int intx_level;
	int moves;
	bool notify_on;
	uint64_t notify_base;
};

static void rec_msi(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct host_rec *h = opaque;
	h->msis++;
	h->vector = vector;
	h->addr = addr;
	h->data = data;
}

static void rec_intx(void *opaque, int level)
{
	struct host_rec *h = opaque;
	h->intx_changes++;
	h->intx_level = level;
}

static void rec_moved(void *opaque, bool was_on, uint64_t old, bool on, uint64_t base)
{
	(void)was_on;
	(void)old;
	struct host_rec *h = opaque;
	h->moves++;
	h->notify_on = on;
	h->notify_base = base;
}

static struct mock_ram ram;
static struct mock_vq mv;
static struct echo_device echo;
static struct virtio_pci t;
static struct host_rec host;
static struct io_bus mmio;
static struct pci_bus bus;

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(mock_vq_init(&mv, &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	memset(&host, 0, sizeof(host));
	cr_assert_eq(echo_device_init(&echo, NQ, &ram.mem), 0);
	struct virtio_pci_host h = {rec_msi, rec_intx, rec_moved, &host};
	cr_assert_eq(virtio_pci_init(&t, &echo.dev, &h), 0);
	io_bus_init(&mmio, "mmio");
	cr_assert_eq(pci_bus_init(&bus, &mmio), 0);
	cr_assert_eq(pci_bus_add(&bus, &t.func, SLOT), SLOT);
}

static void teardown(void)
{
	pci_bus_destroy(&bus);
	io_bus_destroy(&mmio);
	virtio_dev_destroy(&echo.dev);
	mock_vq_free(&mv);
	mock_ram_free(&ram);
}

/* Configuration space through ECAM. */
static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_bus_config_read(&bus, 0, PCI_DEVFN(SLOT, 0), off, &v, len);
	return v;
}

static void cfg_wr(uint32_t off, uint32_t v, uint32_t len)
{
	pci_bus_config_write(&bus, 0, PCI_DEVFN(SLOT, 0), off, &v, len);
}

/* BAR accesses through the MMIO bus, where the guest reaches them. */
static uint64_t bar_base(int bar)
{
	return pci_func_bar_addr(&t.func, bar);
}

static uint64_t mem_rd(int bar, uint64_t off, uint32_t len)
{
	uint64_t v = 0;
	cr_assert_eq(io_bus_read(&mmio, bar_base(bar) + off, &v, len), 1);
	return v;
}

static void mem_wr(int bar, uint64_t off, uint64_t v, uint32_t len)
{
	cr_assert_eq(io_bus_write(&mmio, bar_base(bar) + off, &v, len), 1);
	virtio_dev_process_pending(&echo.dev); /* what the I/O thread does after a kick */
}

static uint64_t common_rd(uint32_t off, uint32_t len)
{
	return mem_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_COMMON_OFF + off, len);
}

static void common_wr(uint32_t off, uint64_t v, uint32_t len)
{
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_COMMON_OFF + off, v, len);
}

static uint8_t status(void)
{
	return (uint8_t)common_rd(VIRTIO_PCI_COMMON_STATUS, 1);
}

static void set_status(uint8_t s)
{
	common_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
}

static void negotiate(void)
{
	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, 1, 4); /* VERSION_1 */
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(status() & VIRTIO_CONFIG_S_FEATURES_OK);
}

/* Queue 0 on the mock ring, as vp_modern_setup_vq does: two 32-bit halves per address. */
static void setup_queue0(uint16_t vector)
{
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)mv.desc, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, mv.desc >> 32, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)mv.driver, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, mv.device, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

static void driver_ok(void)
{
	set_status(0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(virtio_dev_running(&echo.dev));
}

/* Programs MSI-X vector v with (addr, data) and its mask bit. */
static void msix_entry(uint16_t v, uint64_t addr, uint32_t data, bool masked)
{
	uint64_t e = VIRTIO_PCI_MSIX_TABLE_OFF + 16u * v;
	mem_wr(VIRTIO_PCI_MSIX_BAR, e, addr, 8);
	mem_wr(VIRTIO_PCI_MSIX_BAR, e + 8, data, 4);
	mem_wr(VIRTIO_PCI_MSIX_BAR, e + 12, masked, 4);
}

static void msix_control(uint16_t bits)
{
	cfg_wr(t.msix.cap + PCI_MSIX_FLAGS, bits, 2);
}

static void echo_once(void)
{
	uint64_t out = mock_fill(&mv, "ping", 4);
	uint64_t in = mock_alloc(&mv, 4);
	struct mock_buf bufs[] = {{out, 4, false}, {in, 4, true}};
	cr_assert_geq(mock_split_add(&mv, bufs, 2), 0);
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_NOTIFY_OFF + 0, 0, 2); /* Linux: 16-bit queue index */
	uint32_t id, len;
	cr_assert_eq(mock_split_get_used(&mv, &id, &len), 1);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(mock_ram_host(&ram, in), "ping", 4), 0);
}

TestSuite(virtio_pci, .init = setup, .fini = teardown);

Test(virtio_pci, identity)
{
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	cr_assert_eq(cfg_rd(PCI_DEVICE_ID, 2), 0x1040 + ECHO_DEVICE_ID);
	cr_assert_eq(cfg_rd(PCI_REVISION_ID, 1), 1);
	cr_assert_eq(cfg_rd(PCI_CLASS_REVISION, 4) >> 8, 0xff0000);
	cr_assert_eq(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	cr_assert_eq(cfg_rd(PCI_SUBSYSTEM_ID, 2), 0x1100);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_LINE, 1), pci_intx_ioapic_pin(SLOT, 0));
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_0, 4) & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_2, 4) & 0xf, 0);
	cr_assert_eq(virtio_pci_class(1), 0x020000);
	cr_assert_eq(virtio_pci_class(2), 0x018000);
	cr_assert_eq(virtio_pci_class(3), 0x078000);
}

Test(virtio_pci, bar_sizes)
{
	cfg_wr(PCI_COMMAND, 0, 2);
	cfg_wr(PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cfg_wr(PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	cfg_wr(PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_0, 4), (uint32_t)-VIRTIO_PCI_BAR_SIZE | 4);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_2, 4), (uint32_t)-VIRTIO_PCI_MSIX_BAR_SIZE);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_4, 4), 0);
}

/* Walks the chain: every virtio capability with its type, BAR, offset and length, and the 4.1.4
 * alignment rules. */
Test(virtio_pci, capability_chain)
{
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	const uint8_t want[] = {VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG,
				VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_DEVICE_CFG,
				VIRTIO_PCI_CAP_PCI_CFG};
	int nv = 0, nmsix = 0, hops = 0;
	for (uint8_t p = (uint8_t)cfg_rd(PCI_CAPABILITY_LIST, 1); p;
	     p = (uint8_t)cfg_rd(p + 1, 1)) {
		cr_assert_eq(p % 4, 0, "dword-aligned capability");
		cr_assert_geq(p, 0x40);
		cr_assert_lt(++hops, 16, "the chain ends");
		uint8_t id = (uint8_t)cfg_rd(p, 1);
		if (id == PCI_CAP_ID_MSIX) {
			nmsix++;
			cr_assert_eq(cfg_rd(p + PCI_MSIX_FLAGS, 2), NQ, "table size N-1 = queues");
			cr_assert_eq(cfg_rd(p + PCI_MSIX_TABLE, 4),
				     VIRTIO_PCI_MSIX_TABLE_OFF | VIRTIO_PCI_MSIX_BAR);
			cr_assert_eq(cfg_rd(p + PCI_MSIX_PBA, 4),
				     VIRTIO_PCI_MSIX_PBA_OFF | VIRTIO_PCI_MSIX_BAR);
			continue;
		}
		cr_assert_eq(id, PCI_CAP_ID_VNDR);
		cr_assert_lt(nv, 5);
		uint8_t type = (uint8_t)cfg_rd(p + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		uint8_t len = (uint8_t)cfg_rd(p + VIRTIO_PCI_CAP_LEN, 1);
		uint32_t bar = cfg_rd(p + VIRTIO_PCI_CAP_BAR, 1);
		uint32_t off = cfg_rd(p + VIRTIO_PCI_CAP_OFFSET, 4);
		uint32_t length = cfg_rd(p + VIRTIO_PCI_CAP_LENGTH, 4);
		cr_assert_eq(type, want[nv++]);
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			cr_assert_eq(len, 16);
			cr_assert_eq(bar, 0);
			cr_assert_eq(off % 4, 0);
			cr_assert_eq(off, 0);
			cr_assert_eq(length, 0x38);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG: {
			cr_assert_eq(len, 20);
			uint32_t mult = cfg_rd(p + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
			cr_assert_eq(mult, 4);
			cr_assert_eq(off % 2, 0);
			cr_assert_eq(off, 0x3000);
			cr_assert_geq(length, (NQ - 1) * mult + 2, "4.1.4.4.1");
			break;
		}
		case VIRTIO_PCI_CAP_ISR_CFG:
			cr_assert_eq(off, 0x1000);
			cr_assert_geq(length, 1);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			cr_assert_eq(off % 4, 0);
			cr_assert_eq(off, 0x2000);
			cr_assert_eq(length, 8);
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			cr_assert_eq(len, 20);
			break;
		}
		cr_assert_leq((uint64_t)off + length, VIRTIO_PCI_BAR_SIZE, "inside the BAR");
	}
	cr_assert_eq(nv, 5);
	cr_assert_eq(nmsix, 1);
}

Test(virtio_pci, capability_fields_read_only)
{
	uint8_t p = (uint8_t)cfg_rd(PCI_CAPABILITY_LIST, 1);
	cfg_wr(p + VIRTIO_PCI_CAP_OFFSET, 0x1234, 4);
	cfg_wr(p + VIRTIO_PCI_CAP_BAR, 3, 1);
	cr_assert_eq(cfg_rd(p + VIRTIO_PCI_CAP_OFFSET, 4), 0);
	cr_assert_eq(cfg_rd(p + VIRTIO_PCI_CAP_BAR, 1), 0);
	cfg_wr(t.msix.cap + PCI_MSIX_FLAGS, 0x07ff, 2);
	cr_assert_eq(cfg_rd(t.msix.cap + PCI_MSIX_FLAGS, 2), NQ, "table size read-only");
}

Test(virtio_pci, common_config_identity_and_features)
{
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_DF, 4), 1u << VIRTIO_RING_F_EVENT_IDX);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_DF, 4), 1);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 2, 4);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	common_wr(VIRTIO_PCI_COMMON_NUMQ, 7, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ, "read-only");
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_DF, 1), 0, "wrong width reads 0");
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_NUMQ - 1, 2), 0, "unaligned");
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_GF, 4), 1);
	cr_assert_eq(echo.dev.driver_features, 1ULL << VIRTIO_F_VERSION_1);
}

Test(virtio_pci, queue_select_bounds)
{
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64, "max until written");
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	for (uint32_t q = NQ; q <= 0xffff; q += 0x3fff) {
		common_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), q);
		cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0, "absent queue %u", q);
		cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
		cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 8);
		cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	}
}

Test(virtio_pci, vector_out_of_range_reads_no_vector)
{
	common_wr(VIRTIO_PCI_COMMON_MSIX, NQ + 1, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_wr(VIRTIO_PCI_COMMON_MSIX, NQ, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), NQ, "last table entry");
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 0x1234, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	set_status(0);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR, "reset");
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR, "reset");
}

Test(virtio_pci, queue_registers_64bit_and_halves)
{
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x89abcdef, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 0x01234567, 4);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x0123456789abcdefULL);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_DESCHI, 4), 0x01234567);
	cr_assert_eq(echo.dev.vqs[1].desc_addr, 0x0123456789abcdefULL);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 0x1122334455667788ULL, 8);
	cr_assert_eq(echo.dev.vqs[1].device_addr, 0x1122334455667788ULL);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_AVAILLO, 8), 0, "2-byte access ignored");
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 32, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);
}

Test(virtio_pci, enabled_queue_is_frozen_and_default_size)
{
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, mv.desc, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, mv.driver, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, mv.device, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	cr_assert_eq(echo.dev.vqs[0].num, 64, "the size the driver read");
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x5000, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 0, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), mv.desc);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1, "0 is not a driver write");
}

Test(virtio_pci, device_config_and_generation)
{
	cr_assert_eq(mem_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_DEVICE_OFF, 4), 0x04030201);
	cr_assert_eq(mem_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_DEVICE_OFF + 5, 1), 6);
	cr_assert_eq(mem_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_DEVICE_OFF + 8, 4), 0, "past the end");
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 0);
	pthread_mutex_lock(&echo.dev.lock);
	virtio_dev_config_changed(&echo.dev);
	pthread_mutex_unlock(&echo.dev.lock);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1);
}

Test(virtio_pci, notify_area_follows_the_bar)
{
	cr_assert_eq(host.moves, 1, "bound when added");
	cr_assert(host.notify_on);
	cr_assert_eq(host.notify_base, bar_base(0) + VIRTIO_PCI_NOTIFY_OFF);
	cfg_wr(PCI_COMMAND, 0, 2);
	cr_assert_eq(host.moves, 2);
	cr_assert_not(host.notify_on);
	cfg_wr(PCI_BASE_ADDRESS_0, 0xe8000000 | 4, 4);
	cr_assert_eq(host.moves, 2, "no decoding, nothing to bind");
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(host.moves, 3);
	cr_assert(host.notify_on);
	cr_assert_eq(host.notify_base, 0xe8000000 + VIRTIO_PCI_NOTIFY_OFF);
	cfg_wr(PCI_BASE_ADDRESS_2, 0xe9000000, 4);
	cr_assert_eq(host.moves, 3, "the MSI-X BAR holds no notify address");
}

Test(virtio_pci, init_sequence_with_msix)
{
	msix_control(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_entry(0, 0xfee00000, 0x4041, false);
	msix_entry(1, 0xfee01000, 0x4051, false);
	msix_control(PCI_MSIX_FLAGS_ENABLE);
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);
	setup_queue0(1);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	driver_ok();
	echo_once();
	cr_assert_eq(echo.notifies, 1);
	cr_assert_eq(host.msis, 1);
	cr_assert_eq(host.vector, 1);
	cr_assert_eq(host.addr, 0xfee01000);
	cr_assert_eq(host.data, 0x4051);
	cr_assert_eq(host.intx_changes, 0, "no INTx with MSI-X");
	pthread_mutex_lock(&echo.dev.lock);
	virtio_dev_config_changed(&echo.dev);
	pthread_mutex_unlock(&echo.dev.lock);
	cr_assert_eq(host.msis, 2);
	cr_assert_eq(host.vector, 0, "config vector");
}

Test(virtio_pci, msix_masking_and_pending)
{
	msix_control(PCI_MSIX_FLAGS_ENABLE);
	msix_entry(1, 0xfee00000, 0x31, true);
	negotiate();
	setup_queue0(1);
	driver_ok();
	echo_once();
	cr_assert_eq(host.msis, 0, "masked");
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 8), 1u << 1, "pending");
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, 16 + 12, 4), 1, "mask bit reads back");
	mem_wr(VIRTIO_PCI_MSIX_BAR, 16 + 12, 0, 4); /* unmask delivers */
	cr_assert_eq(host.msis, 1);
	cr_assert_eq(host.vector, 1);
	cr_assert_eq(host.data, 0x31);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 4), 0);
	/* Function mask: pending again, delivered when the mask is cleared. */
	msix_control(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	echo_once();
	cr_assert_eq(host.msis, 1);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 4), 1u << 1);
	msix_control(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(host.msis, 2);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 4), 0);
	mem_wr(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 0xff, 4);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 4), 0, "read-only");
}

Test(virtio_pci, msix_table_semantics)
{
	for (uint16_t v = 0; v <= NQ; v++)
		cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, 16u * v + 12, 4), 1, "masked at reset");
	mem_wr(VIRTIO_PCI_MSIX_BAR, 0, 0xfee0000c, 4);
	mem_wr(VIRTIO_PCI_MSIX_BAR, 4, 0x1, 4);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, 0, 8), 0x1fee0000cULL);
	mem_wr(VIRTIO_PCI_MSIX_BAR, 12, 0xfffffffe, 4);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, 12, 4), 0, "reserved control bits read 0");
	mem_wr(VIRTIO_PCI_MSIX_BAR, 8, 0x1234, 2);
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, 8, 4), 0, "2-byte access ignored");
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, 16u * (NQ + 1), 4), 0, "past the table");
	mem_wr(VIRTIO_PCI_MSIX_BAR, 16u * (NQ + 1), 0x1234, 4); /* ignored, no overflow */
}

Test(virtio_pci, no_vector_sends_nothing)
{
	msix_control(PCI_MSIX_FLAGS_ENABLE);
	msix_entry(0, 0xfee00000, 0x31, false);
	negotiate();
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	echo_once();
	cr_assert_eq(host.msis, 0);
	cr_assert_eq(host.intx_changes, 0, "and no INTx either (4.1.5.4)");
	cr_assert_eq(mem_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 4), 0);
}

Test(virtio_pci, intx_fallback_and_isr_clear_on_read)
{
	negotiate();
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cr_assert_eq(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	echo_once();
	cr_assert_eq(host.msis, 0);
	cr_assert_eq(host.intx_changes, 1);
	cr_assert_eq(host.intx_level, 1);
	cr_assert(virtio_pci_intx_asserted(&t));
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	echo_once();
	cr_assert_eq(host.intx_changes, 1, "still asserted: no new edge");
	cr_assert_eq(mem_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
	cr_assert_eq(host.intx_changes, 2);
	cr_assert_eq(host.intx_level, 0, "reading the ISR deasserts");
	cr_assert_eq(mem_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_ISR_OFF, 1), 0, "cleared on read");
	cr_assert_eq(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	cr_assert_not(virtio_pci_intx_asserted(&t));
}

Test(virtio_pci, intx_disable_bit)
{
	negotiate();
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
	echo_once();
	cr_assert_eq(host.intx_changes, 0);
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, "status still shows it");
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(host.intx_level, 1, "asserted once enabled");
}

Test(virtio_pci, msix_enable_moves_off_intx)
{
	negotiate();
	setup_queue0(0);
	driver_ok();
	echo_once();
	cr_assert_eq(host.intx_level, 1);
	msix_control(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(host.intx_level, 0);
}

Test(virtio_pci, pci_cfg_access_window)
{
	uint8_t c = t.cfg_cap;
	cfg_wr(c + VIRTIO_PCI_CAP_BAR, 0, 1);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_NUMQ, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 2, 4);
	cr_assert_eq(cfg_rd(c + 16, 2), NQ);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_STATUS, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 1, 4);
	cfg_wr(c + 16, VIRTIO_CONFIG_S_ACKNOWLEDGE, 4);
	cr_assert_eq(echo.dev.status, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_DEVICE_OFF, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cr_assert_eq(cfg_rd(c + 16, 4), 0x04030201);
	/* The MSI-X BAR is reachable too; bad lengths, misaligned offsets, bad BARs do nothing. */
	cfg_wr(c + VIRTIO_PCI_CAP_BAR, 2, 1);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, 12, 4);
	cr_assert_eq(cfg_rd(c + 16, 4), 1);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 3, 4);
	cfg_wr(c + 16, 0xdeadbeef, 4);
	cr_assert_eq(cfg_rd(c + 16, 4), 0xdeadbeef, "no access: data stays");
	cfg_wr(c + VIRTIO_PCI_CAP_BAR, 5, 1);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cr_assert_eq(cfg_rd(c + 16, 4), 0xdeadbeef);
	cfg_wr(c + VIRTIO_PCI_CAP_BAR, 0, 1);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, 0x3ffe, 4);
	cr_assert_eq(cfg_rd(c + 16, 4), 0xdeadbeef, "past the BAR");
}

Test(virtio_pci, notify_bounds_and_kicks_before_driver_ok)
{
	negotiate();
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	cr_assert_eq(echo.notifies, 0, "before DRIVER_OK");
	driver_ok();
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_NOTIFY_OFF + 2, 0, 2);
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_NOTIFY_OFF + 4 * NQ, 0, 2);
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE - 4, 0, 4);
	cr_assert_eq(echo.notifies, 0, "not a queue's notify address");
	mem_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_NOTIFY_OFF + 4, 1, 2);
	cr_assert_eq(echo.notifies, 1, "queue 1, not ready: harmless");
}

Test(virtio_pci, bad_queue_fails_device_with_config_interrupt)
{
	msix_control(PCI_MSIX_FLAGS_ENABLE);
	msix_entry(0, 0xfee00000, 0x22, false);
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 3, 2); /* not a power of two */
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	set_status(0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(host.msis, 1);
	cr_assert_eq(host.vector, 0);
	set_status(0);
	cr_assert_eq(status(), 0);
}

/* Found by fuzz_virtio_pci: a device failed with INTx asserted (config interrupt), then reset
 * by the driver, kept the line asserted although the reset cleared the ISR (4.1.4.5). */
Test(virtio_pci, reset_deasserts_intx)
{
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 3, 2); /* not a power of two */
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	set_status(0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(host.intx_level, 1, "config interrupt over INTx");
	set_status(0);
	cr_assert_eq(host.intx_level, 0, "the reset cleared the ISR: INTx deasserted");
	cr_assert_not(virtio_pci_intx_asserted(&t));
	cr_assert_eq(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
}

/* 4.1.4.3 / 2.7: a queue_size of 0 is refused at DRIVER_OK as virtio-mmio refuses a QueueNum of
 * 0 (test_virtio_mmio.c, zero_queue_size_needs_reset); it used to become the maximum. */
Test(virtio_pci, zero_queue_size_needs_reset_like_mmio)
{
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64, "the maximum before a write");
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 0, 2);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0, "reads back what was written");
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, mv.desc, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, mv.driver, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, mv.device, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	set_status(0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(status() & VIRTIO_CONFIG_S_NEEDS_RESET, "size 0 refused");
	cr_assert_not(virtio_dev_running(&echo.dev));
	set_status(0);
	cr_assert_eq(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64, "reset: the maximum again");
	negotiate();
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	echo_once();
}

/* Sizes above the maximum or not a power of two fail the same way on both transports. */
Test(virtio_pci, oversized_queue_needs_reset)
{
	negotiate();
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 128, 2); /* > max 64 */
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, mv.desc, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, mv.driver, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, mv.device, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	set_status(0xf & ~VIRTIO_CONFIG_S_FAILED);
	cr_assert(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
}
