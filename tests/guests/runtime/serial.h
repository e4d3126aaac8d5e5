/* COM1 (16550 UART at 0x3F8) output, polled: each byte waits for LSR.THRE (transmit holding
 * register empty) before it is written. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include <stddef.h>

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

#endif
