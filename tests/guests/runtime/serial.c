#include "serial.h"

#include "io.h"

#define COM1	 0x3F8
#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0 /* divisor latch (DLAB=1) */
#define UART_DLM 1

#define LCR_8N1	    0x03
#define LCR_DLAB    0x80
#define LSR_THRE    0x20
#define MCR_DTR_RTS 0x03

void serial_init(void)
{
	/* 115200 8N1, no interrupts, FIFO off: each write is a VM exit, keep them few. */
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1);
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

void serial_putc(char c)
{
	/* Bounded poll: a UART that never reports THRE must not hang the test forever. */
	for (int i = 0; i < 100000; i++) {
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	}
	outb(COM1 + UART_THR, (unsigned char)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}
