/* serial.h on the PL011 the device tree names (Arm DDI 0183): polled writes to UARTDR while
 * UARTFR.TXFF says the FIFO has room. Nothing is written before the tree is read. */
#include "../serial.h"

#include "machine.h"
#include "platform.h"

#define UARTDR	  0x00
#define UARTFR	  0x18
#define UARTCR	  0x30
#define FR_TXFF	  (1u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE	  (1u << 8)

void serial_init(void)
{
	if (machine.uart)
		mmio_write32(machine.uart + UARTCR, CR_UARTEN | CR_TXE);
}

void serial_putc(char c)
{
	if (!machine.uart)
		return;
	/* Bounded poll: a UART that never drains must not hang the test forever. */
	for (int i = 0; i < 100000 && (mmio_read32(machine.uart + UARTFR) & FR_TXFF); i++)
		cpu_relax();
	mmio_write32(machine.uart + UARTDR, (unsigned char)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

uint64_t platform_plain_exit_addr(void)
{
	return machine.uart ? machine.uart + UARTFR : 0;
}
