/* devices/pci/piix4_pm.h: the PIIX4 PM function at 00:01.3 as OVMF programs it (PMBA, then
 * PMREGMISC.PMIOSE), its I/O block appearing and moving on the port bus with the PM timer in it,
 * PM1_CNT's soft off (what OVMF's ResetSystem writes) through the block; and the i440FX host
 * bridge identity. The registers themselves: test_acpi_pm1.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pci/piix4_pm.h"
#include "tests/unit/devices/fake_power.h"

static struct io_bus mmio, pio;
static struct pci_bus bus;
static struct piix4_pm pm;
static void setup(void)
{
	io_bus_init(&mmio, "mmio");
	io_bus_init(&pio, "pio");
	cr_assert_eq(pci_bus_init(&bus, &mmio), 0);
	stops = 0;
	cr_assert_eq(piix4_pm_attach(&pm, &bus, &pio, &control), 0);
	pm.pm1.now_ns = fake_clock;
}

static void teardown(void)
{
	piix4_pm_detach(&pm, &bus);
	pci_bus_destroy(&bus);
	io_bus_destroy(&pio);
	io_bus_destroy(&mmio);
}

TestSuite(piix4_pm, .init = setup, .fini = teardown);

static uint32_t cfg_read(uint8_t devfn, uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_bus_config_read(&bus, 0, devfn, off, &v, len);
	return v;
}

static void cfg_write(uint32_t off, uint32_t v, uint32_t len)
{
	pci_bus_config_write(&bus, 0, PIIX4_PM_DEVFN, off, &v, len);
}

static bool claimed(uint16_t port)
{
	uint32_t v;
	return io_bus_read(&pio, port, &v, 4) > 0;
}

static uint32_t port_read(uint16_t port, uint32_t len)
{
	uint32_t v = 0;
	io_bus_read(&pio, port, &v, len);
	return v;
}

Test(piix4_pm, identity_at_00_01_3)
{
	cr_assert_eq(cfg_read(PIIX4_PM_DEVFN, 0, 4), 0x71138086);
	cr_assert_eq(cfg_read(PIIX4_PM_DEVFN, PIIX4_PM_PMBA, 4), 1, "PMBA: I/O, no base yet");
	pci_bus_set_host_bridge_id(&bus, PCI_I440FX_VENDOR, PCI_I440FX_DEVICE);
	cr_assert_eq(cfg_read(0, 0, 4), 0x12378086);
}

Test(piix4_pm, block_appears_with_pmiose_and_moves)
{
	fake_ns = 1000000000ULL; /* 1 s: 3579545 ticks */
	cfg_write(PIIX4_PM_PMBA, 0xb000, 4);
	cr_assert_eq(cfg_read(PIIX4_PM_DEVFN, PIIX4_PM_PMBA, 4), 0xb001);
	cr_assert_not(claimed(0xb008), "no block before PMIOSE");
	cfg_write(PIIX4_PM_PMREGMISC, 1, 1);
	cr_assert_eq(port_read(0xb008, 4), 3579545 & 0xffffff);
	fake_ns += 1000000ULL; /* 1 ms later */
	cr_assert_eq(port_read(0xb008, 4), (3579545 + 3579) & 0xffffff);
	cfg_write(PIIX4_PM_PMBA, 0x600, 4);
	cr_assert_not(claimed(0xb008), "moved away");
	cr_assert(claimed(0x608));
	cfg_write(PIIX4_PM_PMREGMISC, 0, 1);
	cr_assert_not(claimed(0x608), "off again");
}

Test(piix4_pm, a_taken_base_leaves_the_block_off)
{
	static const struct io_ops none = {0};
	cr_assert_eq(io_bus_register(&pio, 0xc000, 4, &none, NULL, "other"), 0);
	cfg_write(PIIX4_PM_PMBA, 0xc000, 4);
	cfg_write(PIIX4_PM_PMREGMISC, 1, 1);
	cr_assert_not(acpi_pm1_claimed(&pm.pm1));
	io_bus_unregister(&pio, 0xc000);
}

/* OVMF's ResetShutdown on i440FX: SLP_TYP (bits 12:10) cleared, then SLP_EN (bit 13) set. */
Test(piix4_pm, soft_off_stops_the_vm_with_status_0)
{
	uint16_t v;

	cfg_write(PIIX4_PM_PMBA, 0xb000, 4);
	cfg_write(PIIX4_PM_PMREGMISC, 1, 1);
	v = 0x0001; /* SCI_EN */
	io_bus_write(&pio, 0xb004, &v, 2);
	cr_assert_eq(stops, 0, "no SLP_EN: nothing");
	v = 0x0001 | 0x2000;
	io_bus_write(&pio, 0xb004, &v, 2);
	cr_assert_eq(stops, 1);
	cr_assert_eq(stop_why, VM_STOP_POWEROFF);
	cr_assert_eq(stop_status, VMM_EXIT_OK);
	cr_assert_eq(port_read(0xb004, 2), 0x0001, "SLP_EN is write-only, SCI_EN stays");
}

/* A snapshot of a UEFI guest: OVMF mapped the block at boot, and no firmware runs on a restore,
 * so the restored function must map it again or the guest's power-off reaches nothing. */
Test(piix4_pm, saved_and_restored_the_block_where_ovmf_put_it)
{
	struct piix4_pm_state s;
	struct piix4_pm other;
	struct pci_bus other_bus;
	struct io_bus other_pio;
	uint16_t v = 0x0001 | 0x2000;

	fake_ns = 1000000000ULL;
	cfg_write(PIIX4_PM_PMBA, 0xb000, 4);
	cfg_write(PIIX4_PM_PMREGMISC, 1, 1);
	piix4_pm_save(&pm, &s);
	cr_assert_eq(s.pmba, 0xb001);
	cr_assert_eq(s.pmregmisc, 1);
	cr_assert_eq(s.pm1.timer, 3579545);

	io_bus_init(&other_pio, "pio2");
	cr_assert_eq(pci_bus_init(&other_bus, &mmio), 0);
	cr_assert_eq(piix4_pm_attach(&other, &other_bus, &other_pio, &control), 0);
	other.pm1.now_ns = fake_clock;
	cr_assert_eq(piix4_pm_restore(&other, &s), 0);
	uint32_t r = 0;
	pci_bus_config_read(&other_bus, 0, PIIX4_PM_DEVFN, PIIX4_PM_PMBA, &r, 4);
	cr_assert_eq(r, 0xb001);
	cr_assert_gt(io_bus_read(&other_pio, 0xb008, &r, 4), 0, "the block is mapped again");
	cr_assert_eq(r, 3579545);
	io_bus_write(&other_pio, 0xb004, &v, 2);
	cr_assert_eq(stops, 1, "the restored guest's power-off reaches the block");

	/* what no guest can write: refused, nothing changed */
	s.pmba = 0xb0c1; /* bits 7:6 are writable, 5:1 are not */
	s.pmba |= 0x2;
	cr_assert_eq(piix4_pm_restore(&other, &s), -EINVAL);
	s.pmba = 0xb001;
	s.pmregmisc = 0x3;
	cr_assert_eq(piix4_pm_restore(&other, &s), -EINVAL);
	s.pmregmisc = 1;
	s.pm1.cnt = 0;
	cr_assert_eq(piix4_pm_restore(&other, &s), -EINVAL);
	cr_assert_gt(io_bus_read(&other_pio, 0xb008, &r, 4), 0, "still mapped");

	piix4_pm_detach(&other, &other_bus);
	pci_bus_destroy(&other_bus);
	io_bus_destroy(&other_pio);
}

Test(piix4_pm, a_restore_whose_ports_are_taken_is_refused)
{
	static const struct io_ops none = {0};
	struct piix4_pm_state s;

	cfg_write(PIIX4_PM_PMBA, 0xb000, 4);
	cfg_write(PIIX4_PM_PMREGMISC, 1, 1);
	piix4_pm_save(&pm, &s);
	cfg_write(PIIX4_PM_PMREGMISC, 0, 1);
	cr_assert_eq(io_bus_register(&pio, 0xb000, 4, &none, NULL, "other"), 0);
	cr_assert_eq(piix4_pm_restore(&pm, &s), -EBUSY);
	io_bus_unregister(&pio, 0xb000);
}
