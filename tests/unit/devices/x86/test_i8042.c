#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "base/log.h"
#include "devices/x86/i8042.h"
#include "devices/x86/i8042_test.h"
#include "tests/unit/fixtures/vm_stop_rec.h"

static struct io_bus bus;
static struct i8042 kbc;
static struct stop_rec stops;

static const struct vm_control control = {.stop = rec_stop, .opaque = &stops};

/* IRQ 1 as the interrupt controller sees it: the level and the rising edges (the ISA pin is
 * edge-triggered, so each edge is one interrupt). */
struct irq_rec {
	int level;
	int edges;
	int calls;
	unsigned gsi;
};

static struct irq_rec irqs;

static void rec_irq(void *opaque, unsigned gsi, int level)
{
	struct irq_rec *r = opaque;

	r->calls++;
	r->gsi = gsi;
	if (level && !r->level)
		r->edges++;
	r->level = level;
}

static void setup(void)
{
	memset(&stops, 0, sizeof(stops));
	memset(&irqs, 0, sizeof(irqs));
	io_bus_init(&bus, "pio");
	cr_assert_eq(i8042_attach(&kbc, &bus, &control, 0), 0);
	i8042_set_irq(&kbc, (struct irq_line){rec_irq, &irqs, 1});
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

/* ---- the keyboard ---- */

static void write_ctr(uint8_t ctr)
{
	outb(PORT_I8042_CMD, 0x60);
	outb(PORT_I8042_DATA, ctr);
}

/* Reads every byte the controller has for the guest (at most max), as an interrupt handler
 * that drains port 0x60 while OBF would. */
static size_t drain(uint8_t *buf, size_t max)
{
	size_t n = 0;

	while (n < max && (inb(PORT_I8042_CMD) & 0x01))
		buf[n++] = inb(PORT_I8042_DATA);
	return n;
}

static void expect_bytes(const uint8_t *want, size_t n)
{
	uint8_t got[I8042_FIFO_SIZE + 4];
	size_t m = drain(got, sizeof(got));

	cr_assert_eq(m, n, "got %zu bytes, want %zu", m, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: 0x%02x, want 0x%02x", i, got[i], want[i]);
}

#define EXPECT(...)                                                                                \
	do {                                                                                       \
		const uint8_t want_[] = {__VA_ARGS__};                                             \
		expect_bytes(want_, sizeof(want_));                                                \
	} while (0)

static void kbd(uint8_t b)
{
	outb(PORT_I8042_DATA, b);
}

Test(i8042, keyboard_reset_answers_ack_and_bat)
{
	kbd(0xff);
	EXPECT(0xfa, 0xaa);
	cr_assert_eq(stops.calls, 0);
}

Test(i8042, keyboard_id_translated_and_raw)
{
	kbd(0xf2);
	EXPECT(0xfa, 0xab, 0x41); /* XLATE on (the power-on command byte) */
	write_ctr(0x25);	  /* XLATE off */
	kbd(0xf2);
	EXPECT(0xfa, 0xab, 0x83);
}

Test(i8042, keyboard_commands_with_a_data_byte)
{
	kbd(0xed);
	EXPECT(0xfa);
	kbd(0x07); /* LEDs */
	EXPECT(0xfa);
	kbd(0xf3);
	kbd(0x20); /* typematic rate */
	EXPECT(0xfa, 0xfa);
	kbd(0xf0);
	kbd(0x00);
	EXPECT(0xfa, 0xfa, 0x41); /* set 2, translated */
	write_ctr(0x25);
	kbd(0xf0);
	kbd(0x03);
	kbd(0xf0);
	kbd(0x00);
	EXPECT(0xfa, 0xfa, 0xfa, 0xfa, 0x03);
	kbd(0xf0);
	kbd(0x09); /* no such set: acknowledged, ignored */
	kbd(0xf0);
	kbd(0x00);
	EXPECT(0xfa, 0xfa, 0xfa, 0xfa, 0x03);
}

Test(i8042, keyboard_enable_disable_defaults_echo_and_unknown)
{
	kbd(0xf5);
	kbd(0xf4);
	kbd(0xf6);
	kbd(0xee);
	kbd(0x12);
	kbd(0xf8);
	EXPECT(0xfa, 0xfa, 0xfa, 0xee, 0xfa, 0xfa);
}

Test(i8042, irq_follows_the_output_buffer_one_edge_per_byte)
{
	cr_assert_eq(irqs.level, 0);
	kbd(0xf2); /* three bytes: FA AB 41 */
	cr_assert_eq(irqs.gsi, 1);
	cr_assert_eq(irqs.level, 1);
	cr_assert_eq(irqs.edges, 1);
	inb(PORT_I8042_DATA);
	cr_assert_eq(irqs.edges, 2, "the next byte is a new edge");
	inb(PORT_I8042_DATA);
	cr_assert_eq(irqs.edges, 3);
	cr_assert_eq(irqs.level, 1);
	inb(PORT_I8042_DATA);
	cr_assert_eq(irqs.level, 0, "all read: line low");
	cr_assert_eq(irqs.edges, 3);
}

Test(i8042, no_irq_without_kbdint)
{
	write_ctr(0x64); /* KBDINT clear */
	kbd(0xff);
	cr_assert_eq(irqs.edges, 0);
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x01, 1, "still readable by polling");
	EXPECT(0xfa, 0xaa);
	cr_assert_eq(irqs.edges, 0);
}

Test(i8042, kbddis_holds_keyboard_bytes_until_enabled)
{
	outb(PORT_I8042_CMD, 0xad);
	kbd(0xff);
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x01, 0, "interface disabled: nothing delivered");
	cr_assert_eq(irqs.edges, 0);
	outb(PORT_I8042_CMD, 0xae);
	cr_assert_eq(irqs.edges, 1);
	EXPECT(0xfa, 0xaa);
}

Test(i8042, controller_answer_does_not_lose_a_keyboard_byte)
{
	kbd(0xff);
	cr_assert_eq(command_with_reply(0x20), 0x65);
	EXPECT(0xfa, 0xaa);
}

Test(i8042, ctrl_alt_del_translated_is_set1)
{
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), 0);
	cr_assert_eq(irqs.level, 1);
	EXPECT(0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d);
	cr_assert_eq(irqs.edges, 8, "one interrupt per byte");
	cr_assert_eq(stops.calls, 0);
}

Test(i8042, ctrl_alt_del_untranslated_follows_the_keyboard_set)
{
	write_ctr(0x25);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), 0);
	EXPECT(0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14);
	kbd(0xf0);
	kbd(0x01);
	EXPECT(0xfa, 0xfa);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), 0);
	EXPECT(0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d);
	kbd(0xf0);
	kbd(0x03);
	EXPECT(0xfa, 0xfa);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), 0);
	EXPECT(0x11, 0x19, 0x64, 0xf0, 0x64, 0xf0, 0x19, 0xf0, 0x11);
	kbd(0xff); /* reset: back to set 2 */
	EXPECT(0xfa, 0xaa);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), 0);
	EXPECT(0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14);
}

Test(i8042, ctrl_alt_del_refused_while_scanning_disabled)
{
	kbd(0xf5);
	EXPECT(0xfa);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), -EAGAIN);
	cr_assert_eq(inb(PORT_I8042_CMD) & 0x01, 0);
	kbd(0xf4);
	EXPECT(0xfa);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), 0);
}

Test(i8042, full_fifo_refuses_whole_sequences_and_drops_guest_answers)
{
	enum log_level saved = log_get_level();

	log_set_level(LOG_ERROR);
	outb(PORT_I8042_CMD, 0xad); /* hold everything in the FIFO */
	int pressed = 0;
	while (i8042_press_ctrl_alt_del(&kbc) == 0)
		pressed++;
	cr_assert_eq(pressed, I8042_FIFO_SIZE / 8);
	cr_assert_eq(i8042_press_ctrl_alt_del(&kbc), -ENOSPC);
	for (int i = 0; i < 1000; i++)
		kbd(0xee); /* a guest flooding echo requests */
	cr_assert_leq(kbc.fifo_count, I8042_FIFO_SIZE);
	outb(PORT_I8042_CMD, 0xae);
	uint8_t got[I8042_FIFO_SIZE + 4];
	cr_assert_eq(drain(got, sizeof(got)), I8042_FIFO_SIZE);
	cr_assert_eq(got[0], 0x1d, "the oldest keys come first");
	log_set_level(saved);
}

/* Untrusted guest: any sequence of port accesses keeps the state consistent and never stops
 * the VM unless it pulses the reset line (0xf0-0xff with bit 0 clear, or 0xd1 with bit 0 clear). */
Test(i8042, random_port_sequences_keep_invariants)
{
	static const uint16_t ports[] = {PORT_I8042_DATA, PORT_I8042_CMD};
	uint32_t x = 12345;
	enum log_level saved = log_get_level();

	log_set_level(LOG_ERROR); /* the reset pulses and FIFO warnings would flood the output */

	for (int i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		uint16_t port = ports[(x >> 16) & 1];
		uint8_t val = (uint8_t)(x >> 20);
		if ((x >> 8) & 1)
			outb(port, val);
		else
			inb(port);
		if ((i % 97) == 0)
			i8042_press_ctrl_alt_del(&kbc);
		cr_assert_leq(kbc.fifo_count, I8042_FIFO_SIZE);
		cr_assert_lt(kbc.fifo_head, I8042_FIFO_SIZE);
		cr_assert_geq(kbc.kbd_set, 1);
		cr_assert_leq(kbc.kbd_set, 3);
		int want = (kbc.status & 0x01) && (kbc.ctr & 0x01);
		cr_assert_eq(irqs.level, want, "IRQ 1 level follows OBF && KBDINT");
	}
	log_set_level(saved);
}

/* ---- snapshot ---- */

Test(i8042, state_restored_into_a_fresh_controller_answers_the_same)
{
	struct i8042_state s;
	struct i8042 fresh;
	struct irq_rec firqs = {0};

	outb(PORT_I8042_DATA, 0xf2); /* GET_ID: three bytes queued */
	cr_assert_eq(inb(PORT_I8042_DATA), 0xfa);
	outb(PORT_I8042_CMD, 0x60); /* WRITE_CTR pending its data byte */
	i8042_save(&kbc, &s);
	cr_assert_eq(i8042_init(&fresh, &control, 0), 0);
	i8042_set_irq(&fresh, (struct irq_line){rec_irq, &firqs, 1});
	firqs.calls = 0;
	cr_assert_eq(i8042_restore(&fresh, &s), 0);
	cr_assert_eq(firqs.calls, 1, "the restore drives IRQ 1");
	cr_assert_eq(firqs.level, irqs.level);
	cr_assert_eq(i8042_read_port(&fresh, PORT_I8042_CMD), inb(PORT_I8042_CMD));
	i8042_write_port(&fresh, PORT_I8042_DATA, 0x45); /* the pending WRITE_CTR's data */
	outb(PORT_I8042_DATA, 0x45);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(i8042_read_port(&fresh, PORT_I8042_DATA), inb(PORT_I8042_DATA));
	outb(PORT_I8042_CMD, 0x20);
	i8042_write_port(&fresh, PORT_I8042_CMD, 0x20);
	cr_assert_eq(i8042_read_port(&fresh, PORT_I8042_DATA), 0x45);
	cr_assert_eq(inb(PORT_I8042_DATA), 0x45);
	i8042_detach(&fresh, NULL);
}

Test(i8042, hostile_state_is_refused)
{
	struct i8042_state s, bad;

	i8042_save(&kbc, &s);
	bad = s;
	bad.fifo_head = I8042_FIFO_SIZE;
	cr_assert_eq(i8042_restore(&kbc, &bad), -EINVAL);
	bad = s;
	bad.fifo_count = I8042_FIFO_SIZE + 1;
	cr_assert_eq(i8042_restore(&kbc, &bad), -EINVAL);
	bad = s;
	bad.kbd_set = 4; /* scanset_answer() would index past its table */
	cr_assert_eq(i8042_restore(&kbc, &bad), -EINVAL);
	bad = s;
	bad.pending_cmd = 0xaa; /* not a command that takes data */
	cr_assert_eq(i8042_restore(&kbc, &bad), -EINVAL);
	bad = s;
	bad.out_from_kbd = 7;
	cr_assert_eq(i8042_restore(&kbc, &bad), -EINVAL);
	cr_assert_eq(i8042_restore(&kbc, &s), 0);
}
