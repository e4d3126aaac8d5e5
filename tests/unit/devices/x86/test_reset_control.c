/* The reset control register at 0xCF9, alone on the port bus and behind the PCI bus's
 * configuration window. */
#include <criterion/criterion.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/pci/pci.h"
#include "devices/x86/reset_control.h"
#include "tests/unit/fixtures/vm_stop_rec.h"

static uint8_t read_byte(struct io_bus *bus, uint64_t port)
{
	uint8_t v = 0;
	cr_assert_eq(io_bus_read(bus, port, &v, 1), 1);
	return v;
}

static void write_byte(struct io_bus *bus, uint64_t port, uint8_t v)
{
	io_bus_write(bus, port, &v, 1);
}

/* SeaBIOS's hard reset: 0x02 (SYS_RST) then 0x06 (SYS_RST | RST_CPU). */
static void check_reset_sequence(struct io_bus *bus, struct stop_rec *r)
{
	write_byte(bus, PORT_RESET_CONTROL, RESET_CONTROL_SYS_RST);
	cr_assert_eq(r->calls, 0, "SYS_RST alone only picks the kind of reset");
	cr_assert_eq(read_byte(bus, PORT_RESET_CONTROL), RESET_CONTROL_SYS_RST);
	write_byte(bus, PORT_RESET_CONTROL, RESET_CONTROL_SYS_RST | RESET_CONTROL_RST_CPU);
	cr_assert_eq(r->calls, 1);
	cr_assert_eq(r->why, VM_STOP_RESET);
	cr_assert_eq(r->status, VMM_EXIT_OK);
	cr_assert_eq(read_byte(bus, PORT_RESET_CONTROL), RESET_CONTROL_SYS_RST,
		     "RST_CPU reads back 0");
}

Test(reset_control, own_port_resets_on_rst_cpu)
{
	struct io_bus bus;
	struct reset_control rc;
	struct stop_rec r = {0};
	struct vm_control ctl = {.stop = rec_stop, .opaque = &r};

	io_bus_init(&bus, "pio");
	reset_control_init(&rc, &ctl);
	cr_assert_eq(reset_control_attach(&rc, &bus), 0);
	cr_assert_eq(read_byte(&bus, PORT_RESET_CONTROL), 0);
	check_reset_sequence(&bus, &r);
	/* A wider access is not the register. */
	uint16_t w = 0x0606;
	io_bus_write(&bus, PORT_RESET_CONTROL, &w, 2);
	cr_assert_eq(r.calls, 1);
	reset_control_detach(&rc, &bus);
	io_bus_destroy(&bus);
}

Test(reset_control, behind_the_pci_window)
{
	struct io_bus pio, mmio;
	struct pci_bus pci;
	struct reset_control rc;
	struct stop_rec r = {0};
	struct vm_control ctl = {.stop = rec_stop, .opaque = &r};

	io_bus_init(&pio, "pio");
	io_bus_init(&mmio, "mmio");
	cr_assert_eq(pci_bus_init(&pci, &mmio), 0);
	cr_assert_eq(io_bus_register(&pio, PORT_PCI_CONFIG, 8, &pci_conf1_ops, &pci, "conf1"), 0);
	cr_assert_eq(read_byte(&pio, PORT_RESET_CONTROL), 0xff, "no register before the hook");
	reset_control_init(&rc, &ctl);
	pci_bus_set_cf9(&pci, &reset_control_ops, &rc);
	/* The configuration address latch is a dword at 0xCF8 and stays untouched. */
	uint32_t addr = 0x80000000u, got = 0;
	io_bus_write(&pio, PORT_PCI_CONFIG, &addr, 4);
	check_reset_sequence(&pio, &r);
	cr_assert_eq(io_bus_read(&pio, PORT_PCI_CONFIG, &got, 4), 1);
	cr_assert_eq(got, addr);
	io_bus_destroy(&pio);
	io_bus_destroy(&mmio);
}
