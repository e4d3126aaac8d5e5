#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/i8042.h"
#include "vmm/base/io_bus.h"
#include "vmm/base/layout.h"

struct stop_rec {
	int calls;
	enum vm_stop_reason why;
	int status;
};

static struct io_bus bus;
static struct i8042 kbc;
static struct stop_rec stops;

static void rec_stop(void *opaque, enum vm_stop_reason why, int status)
{
	struct stop_rec *r = opaque;

	r->calls++;
	r->why = why;
	r->status = status;
}

static const struct vm_control control = {.stop = rec_stop, .opaque = &stops};

static void setup(void)
{
	memset(&stops, 0, sizeof(stops));
	io_bus_init(&bus, "pio");
	cr_assert_eq(i8042_attach(&kbc, &bus, &control, 0), 0);
}

static void teardown(void)
{
	i8042_detach(&kbc, &bus);
	io_bus_destroy(&bus);
}

static uint8_t inb(uint16_t port)
{
	uint8_t v = 0;

	io_bus_read(&bus, port, &v, 1);
	return v;
}

static void outb(uint16_t port, uint8_t v)
{
	cr_assert_eq(io_bus_write(&bus, port, &v, 1), 1);
}

/* What Linux's i8042_command does: wait for IBF clear, write, wait for OBF, read. */
static uint8_t command_with_reply(uint8_t cmd)
{
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x02, 0);
	outb(PORT_I8042_CMD, cmd);
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x01, 1, "reply to 0x%02x waiting", cmd);
	return inb(PORT_I8042_DATA);
}

TestSuite(i8042, .init = setup, .fini = teardown);

Test(i8042, idle_status_and_empty_data)
{
	uint8_t st = inb(PORT_I8042_CMD);

	cr_assert_eq(st & 0x03, 0, "no output, input buffer empty");
	cr_assert_eq(st & 0x10, 0x10, "keyboard not inhibited");
	cr_assert_eq(st & 0x04, 0x04, "system flag: self-test done");
	cr_assert_eq(inb(PORT_I8042_DATA), 0);
}

Test(i8042, pulse_reset_stops_the_vm)
{
	outb(PORT_I8042_CMD, 0xfe);
	cr_assert_eq(stops.calls, 1);
	cr_assert_eq(stops.why, VM_STOP_RESET);
	cr_assert_eq(stops.status, VMM_EXIT_OK);
}

Test(i8042, other_pulses_without_bit0_low_do_not_reset)
{
	outb(PORT_I8042_CMD, 0xff);
	outb(PORT_I8042_CMD, 0xfd);
	cr_assert_eq(stops.calls, 0);
	outb(PORT_I8042_CMD, 0xf0);
	cr_assert_eq(stops.calls, 1);
}

Test(i8042, output_port_write_with_reset_low_resets)
{
	outb(PORT_I8042_CMD, 0xd1);
	outb(PORT_I8042_DATA, 0x03);
	cr_assert_eq(stops.calls, 0);
	outb(PORT_I8042_CMD, 0xd1);
	outb(PORT_I8042_DATA, 0x02);
	cr_assert_eq(stops.calls, 1);
	cr_assert_eq(stops.why, VM_STOP_RESET);
}

Test(i8042, self_test_and_interface_tests)
{
	cr_assert_eq(command_with_reply(0xaa), 0x55);
	cr_assert_eq(command_with_reply(0xab), 0x00);
	cr_assert_neq(command_with_reply(0xa9), 0x00, "no AUX port");
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x01, 0, "reply consumed");
}

Test(i8042, command_byte_round_trip)
{
	uint8_t ctr = command_with_reply(0x20);

	cr_assert_eq(ctr, 0x65);
	outb(PORT_I8042_CMD, 0x60);
	outb(PORT_I8042_DATA, 0x47);
	cr_assert_eq(command_with_reply(0x20), 0x47);
	outb(PORT_I8042_CMD, 0xad);
	cr_assert_eq(command_with_reply(0x20), 0x57);
	outb(PORT_I8042_CMD, 0xae);
	outb(PORT_I8042_CMD, 0xa7);
	cr_assert_eq(command_with_reply(0x20), 0x67);
	cr_assert_eq(stops.calls, 0);
}

Test(i8042, aux_loop_answers_without_aux_flag)
{
	outb(PORT_I8042_CMD, 0xd3);
	outb(PORT_I8042_DATA, 0x5a);
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x21, 0x01, "byte waiting, AUXDATA clear");
	cr_assert_eq(inb(PORT_I8042_DATA), 0x5a);
}

Test(i8042, keyboard_data_without_command_is_dropped)
{
	outb(PORT_I8042_DATA, 0xff);
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x01, 0);
	cr_assert_eq(stops.calls, 0);
}

Test(i8042, port_b_not_claimed_by_default)
{
	uint8_t v = 0;

	cr_assert_eq(io_bus_read(&bus, PORT_SYSTEM_CONTROL_B, &v, 1), 0);
}

Test(i8042, port_b_when_asked_shows_pit_out2_and_refresh_toggle)
{
	struct io_bus b2;
	struct i8042 k2;
	uint8_t v1 = 0, v2 = 0, w = 0x03;

	io_bus_init(&b2, "pio2");
	cr_assert_eq(i8042_attach(&k2, &b2, &control, I8042_PORT_B), 0);
	io_bus_write(&b2, PORT_SYSTEM_CONTROL_B, &w, 1);
	io_bus_read(&b2, PORT_SYSTEM_CONTROL_B, &v1, 1);
	io_bus_read(&b2, PORT_SYSTEM_CONTROL_B, &v2, 1);
	cr_assert_eq(v1 & 0x2f, 0x23);
	cr_assert_eq(v2 & 0x2f, 0x23);
	cr_assert_eq((v1 ^ v2) & 0x10, 0x10, "bit 4 toggles");
	i8042_detach(&k2, &b2);
	io_bus_destroy(&b2);
}

Test(i8042, attach_fails_cleanly_when_port_taken)
{
	struct io_bus b2;
	struct i8042 k1, k2;

	io_bus_init(&b2, "pio2");
	cr_assert_eq(i8042_attach(&k1, &b2, &control, 0), 0);
	cr_assert_eq(i8042_attach(&k2, &b2, &control, 0), -EEXIST);
	i8042_detach(&k1, &b2);
	cr_assert_eq(i8042_attach(&k2, &b2, &control, 0), 0, "nothing left claimed");
	i8042_detach(&k2, &b2);
	io_bus_destroy(&b2);
}
