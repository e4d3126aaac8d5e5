/* The i8042 keyboard as a guest driver sees it, interrupt-driven like Linux's i8042 + atkbd:
 *  - the keyboard command byte gets KBDINT (IRQ 1 on "output buffer full"), IOAPIC pin 1 is
 *    routed to a vector, and each interrupt reads exactly one byte from port 0x60, so every byte
 *    must come with its own edge;
 *  - keyboard commands are answered through that path: 0xF2 (get ID) -> FA AB 41 with
 *    translation (XLATE) on, FA AB 83 with it off;
 *  - then it waits (cmdline `wait_ms`, default 120000) for the VMM to type Ctrl-Alt-Del
 *    (vm_send_ctrl_alt_del(), e.g. through the control API) and prints the codes it received;
 *    it passes once it has seen the whole make/break sequence: set 1 with translation on
 *    (`xlate=1`, the default), set 2 with it off (`xlate=0`). */
#include "guest.h"

#define KBD_VECTOR 0x41
#define KBD_IRQ	   1
#define I8042_DATA 0x60
#define I8042_CMD  0x64
#define STR_OBF	   0x01
#define CTR_KBDINT 0x01
#define CTR_KBDDIS 0x10
#define CTR_XLATE  0x40
#define CMD_RD_CTR 0x20
#define CMD_WR_CTR 0x60
#define MAX_CODES  64

static volatile uint8_t codes[MAX_CODES];
static volatile unsigned ncodes;

/* One byte per interrupt, as Linux's i8042_interrupt() reads. */
static void kbd_irq(struct trap_frame *f)
{
	(void)f;
	if (!(inb(I8042_CMD) & STR_OBF))
		return;
	uint8_t b = inb(I8042_DATA);
	if (ncodes < MAX_CODES)
		codes[ncodes] = b;
	ncodes++;
}

/* Polled controller command with a one-byte answer (KBDINT is off while this runs). */
static uint8_t ctrl_read(uint8_t cmd)
{
	outb(I8042_CMD, cmd);
	for (int i = 0; i < 1000000; i++) {
		if (inb(I8042_CMD) & STR_OBF)
			return inb(I8042_DATA);
		cpu_relax();
	}
	return 0xff;
}

/* Waits until `n` bytes have arrived in total, one interrupt each. */
static bool wait_codes(unsigned n, uint32_t timeout_ms)
{
	while (ncodes < n) {
		uint64_t seen = irq_count(KBD_VECTOR);
		if (ncodes >= n)
			break;
		if (!irq_wait(KBD_VECTOR, &seen, timeout_ms))
			return ncodes >= n;
	}
	return true;
}

static bool codes_equal(unsigned from, const uint8_t *want, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (codes[from + i] != want[i])
			return false;
	}
	return true;
}

static void print_codes(unsigned from, unsigned to)
{
	printf("codes:");
	for (unsigned i = from; i < to && i < MAX_CODES; i++)
		printf(" %02x", codes[i]);
	printf("\n");
}

int guest_main(void)
{
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	uint64_t xlate = 1, wait_ms = 120000;

	cmdline_get_u64("xlate", &xlate);
	cmdline_get_u64("wait_ms", &wait_ms);
	lapic_init();

	/* Interrupts off and interface on while we set up, as Linux's i8042_controller_init. */
	while (inb(I8042_CMD) & STR_OBF)
		inb(I8042_DATA);
	uint8_t ctr = ctrl_read(CMD_RD_CTR);
	printf("i8042 command byte 0x%02x\n", ctr);
	TEST_ASSERT_MSG(ctr != 0xff, "no answer to 0x20");
	ctr = (uint8_t)((ctr & ~(CTR_KBDDIS | CTR_XLATE)) | CTR_KBDINT | (xlate ? CTR_XLATE : 0));
	irq_set_handler(KBD_VECTOR, kbd_irq);
	ioapic_route(KBD_IRQ, KBD_VECTOR, (uint8_t)lapic_id(), 0); /* ISA: edge, active high */
	outb(I8042_CMD, CMD_WR_CTR);
	outb(I8042_DATA, ctr);
	sti();

	outb(I8042_DATA, 0xf2); /* keyboard: get ID */
	TEST_ASSERT_MSG(wait_codes(3, 2000), "get ID: %u bytes by interrupt", ncodes);
	print_codes(0, 3);
	const uint8_t id[] = {0xfa, 0xab, xlate ? 0x41 : 0x83};
	TEST_ASSERT_MSG(codes_equal(0, id, 3), "unexpected answer to 0xF2");
	printf("keyboard ID by IRQ 1: ok\n");

	const uint8_t *want = xlate ? set1 : set2;
	unsigned n = xlate ? sizeof(set1) : sizeof(set2);
	printf("waiting for Ctrl-Alt-Del (set %u)\n", xlate ? 1 : 2);
	bool got = wait_codes(3 + n, (uint32_t)wait_ms);
	print_codes(3, ncodes);
	TEST_ASSERT_MSG(got, "Ctrl-Alt-Del: %u of %u bytes", ncodes - 3, n);
	TEST_ASSERT_MSG(ncodes == 3 + n, "%u bytes, want %u", ncodes - 3, n);
	TEST_ASSERT_MSG(codes_equal(3, want, n), "not the Ctrl-Alt-Del sequence");
	printf("Ctrl-Alt-Del received: ok\n");
	return 0;
}
