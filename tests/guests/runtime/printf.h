/* printf-style output to COM1. Conversions: %d %i %u %x %X %o %c %s %p %%, length modifiers
 * hh h l ll z, flags '-' '0', field width (number or '*'), precision for %s. No floating point.
 * Output from several CPUs is serialised by a spinlock (one call = one unit). In ring 3 (run_user)
 * the text is handed to ring 0 through the `int $0x80` gate: port I/O from ring 3 may fault. */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Writes len bytes to COM1 under the output lock (ring 0 only). */
void printf_write(const char *s, size_t len);

/* Releases the output lock whoever holds it: only for the fatal-exception path, which may have
 * interrupted a printf() and is about to end the run. */
void printf_break_lock(void);

#endif
