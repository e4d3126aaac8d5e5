/* printf-style output to COM1. Conversions: %d %i %u %x %X %o %c %s %p %%, length modifiers
 * hh h l ll z, flags '-' '0', field width (number or '*'), precision for %s. No floating point.
 * Output from several CPUs is serialised line-safe by a spinlock (one call = one unit). */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
