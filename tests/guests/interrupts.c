/* Interrupt delivery through the runtime's helpers:
 *  - irq_wait() on a vector that never fires returns false, ended by its LAPIC-timer watchdog
 *    (which proves LAPIC timer delivery: the watchdog vector's count goes up);
 *  - IOAPIC: COM1's pin 4 routed to vector 0x41 on the BSP; enabling the UART's "transmitter
 *    holding register empty" interrupt (IER bit 1; the THR is empty, so it is pending at once)
 *    must deliver it. */
#include "guest.h"

#define UART_VECTOR   0x41
#define UNUSED_VECTOR 0x42
#define COM1_IRQ      4
#define COM1_IER      (0x3F8 + 1)
#define COM1_IIR      (0x3F8 + 2)
#define COM1_MCR      (0x3F8 + 4)
#define IER_THRI      0x02
#define MCR_OUT2      0x08 /* gates the UART's IRQ line on PC hardware */

static void uart_irq(struct trap_frame *f)
{
	(void)f;
	/* Reading IIR acknowledges a THRE interrupt (16550 datasheet); then mask it again. */
	inb(COM1_IIR);
	outb(COM1_IER, 0);
}

int guest_main(void)
{
	uint64_t seen;

	lapic_init();
	printf("LAPIC ID %u version 0x%x, IOAPIC %u pins\n", lapic_id(), lapic_read(LAPIC_VERSION),
	       ioapic_pins());
	TEST_ASSERT(ioapic_pins() >= 24);

	seen = irq_count(UNUSED_VECTOR);
	TEST_ASSERT_MSG(!irq_wait(UNUSED_VECTOR, &seen, 20), "vector 0x%x fired unprompted",
			UNUSED_VECTOR);
	TEST_ASSERT_MSG(irq_count(LAPIC_WATCHDOG_VECTOR) > 0, "the LAPIC timer never fired");
	printf("LAPIC timer, irq_wait timeout: ok\n");

	irq_set_handler(UART_VECTOR, uart_irq);
	ioapic_route(COM1_IRQ, UART_VECTOR, (uint8_t)lapic_id(), 0); /* ISA: edge, active high */
	seen = irq_count(UART_VECTOR);
	outb(COM1_MCR, inb(COM1_MCR) | MCR_OUT2);
	outb(COM1_IER, IER_THRI);
	TEST_ASSERT_MSG(irq_wait(UART_VECTOR, &seen, 1000),
			"COM1 IRQ 4 via the IOAPIC did not come");
	ioapic_mask(COM1_IRQ);
	printf("IOAPIC pin %d -> vector 0x%x: ok\n", COM1_IRQ, UART_VECTOR);
	return 0;
}
