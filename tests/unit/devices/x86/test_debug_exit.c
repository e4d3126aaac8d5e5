#include <criterion/criterion.h>
#include <string.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/x86/debug_exit.h"
#include "devices/x86/debug_exit_test.h"
#include "tests/unit/fixtures/vm_stop_rec.h"

Test(debug_exit, status_is_value_shifted_or_one_in_8_bits)
{
	cr_assert_eq(debug_exit_status(0), 1);
	cr_assert_eq(debug_exit_status(1), 3);
	cr_assert_eq(debug_exit_status(0x10), 0x21);
	cr_assert_eq(debug_exit_status(0x31), 0x63);
	cr_assert_eq(debug_exit_status(0x7f), 0xff);
	cr_assert_eq(debug_exit_status(0x80), 1, "(0x80 << 1) | 1 = 0x101: exit keeps 8 bits");
	cr_assert_eq(debug_exit_status(0xffffffff), 0xff);
}

Test(debug_exit, any_width_any_port_stops_with_status)
{
	struct io_bus bus;
	struct debug_exit d;
	struct stop_rec r = {0};
	struct vm_control ctl = {.stop = rec_stop, .opaque = &r};
	uint8_t b = 0x10;
	uint16_t w = 0x0021;
	uint32_t l = 0x00000002;
	uint32_t readback = 0x12345678;

	io_bus_init(&bus, "pio");
	cr_assert_eq(debug_exit_attach(&d, &bus, PORT_DEBUG_EXIT, &ctl), 0);
	io_bus_write(&bus, PORT_DEBUG_EXIT, &b, 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.why, VM_STOP_DEBUG_EXIT);
	cr_assert_eq(r.status, 0x21);
	io_bus_write(&bus, PORT_DEBUG_EXIT + 2, &w, 2);
	cr_assert_eq(r.status, 0x43);
	io_bus_write(&bus, PORT_DEBUG_EXIT, &l, 4);
	cr_assert_eq(r.status, 5);
	cr_assert_eq(r.calls, 3);
	cr_assert_eq(io_bus_read(&bus, PORT_DEBUG_EXIT, &readback, 4), 1);
	cr_assert_eq(readback, 0, "QEMU's isa-debug-exit reads 0");
	debug_exit_detach(&d, &bus);
	cr_assert_eq(io_bus_read(&bus, PORT_DEBUG_EXIT, &readback, 4), 0);
	io_bus_destroy(&bus);
}
