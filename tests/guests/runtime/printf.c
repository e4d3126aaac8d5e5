#include "printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"
#include "serial.h"
#include "string.h"

/* Where formatted characters go: a bounded buffer; printf() formats into one and writes it. */
struct sink {
	char *buf;
	size_t size;
	size_t len; /* characters produced, may exceed size (snprintf semantics) */
};

struct spec {
	bool left;
	bool zero;
	int width;
	int precision; /* -1: none */
	int length;    /* number of 'l's, or -1 for h, -2 for hh, 'z' as 1 */
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

static void put_str(struct sink *s, const struct spec *sp, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while (str[n] && (sp->precision < 0 || n < sp->precision))
		n++;
	if (!sp->left)
		pad(s, ' ', sp->width - n);
	for (int i = 0; i < n; i++)
		put(s, str[i]);
	if (sp->left)
		pad(s, ' ', sp->width - n);
}

static void put_num(struct sink *s, const struct spec *sp, uint64_t v, bool neg, unsigned base,
		    bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = (int)strlen(prefix) + (neg ? 1 : 0);
	size_t start = s->len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (!sp->left && !sp->zero)
		pad(s, ' ', sp->width - n - plen);
	if (neg)
		put(s, '-');
	while (*prefix)
		put(s, *prefix++);
	if (!sp->left && sp->zero)
		pad(s, '0', sp->width - n - plen);
	while (n)
		put(s, tmp[--n]);
	if (sp->left)
		pad(s, ' ', sp->width - (int)(s->len - start));
}

static uint64_t get_unsigned(const struct spec *sp, va_list *ap)
{
	if (sp->length >= 2)
		return va_arg(*ap, unsigned long long);
	if (sp->length == 1)
		return va_arg(*ap, unsigned long);
	unsigned int v = va_arg(*ap, unsigned int);
	if (sp->length == -1)
		return (uint16_t)v;
	if (sp->length == -2)
		return (uint8_t)v;
	return v;
}

static int64_t get_signed(const struct spec *sp, va_list *ap)
{
	if (sp->length >= 2)
		return va_arg(*ap, long long);
	if (sp->length == 1)
		return va_arg(*ap, long);
	int v = va_arg(*ap, int);
	if (sp->length == -1)
		return (int16_t)v;
	if (sp->length == -2)
		return (int8_t)v;
	return v;
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.precision = -1};
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		sp->precision = 0;
		for (f++; *f >= '0' && *f <= '9'; f++)
			sp->precision = sp->precision * 10 + (*f - '0');
	}
	for (;; f++) {
		if (*f == 'l')
			sp->length++;
		else if (*f == 'z')
			sp->length = 1;
		else if (*f == 'h')
			sp->length = sp->length == -1 ? -2 : -1;
		else
			break;
	}
	return f;
}

static void convert(struct sink *s, struct spec *sp, char conv, va_list *ap)
{
	int64_t sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = get_signed(sp, ap);
		put_num(s, sp, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, sv < 0, 10, false, "");
		break;
	case 'u':
		put_num(s, sp, get_unsigned(sp, ap), false, 10, false, "");
		break;
	case 'x':
	case 'X':
		put_num(s, sp, get_unsigned(sp, ap), false, 16, conv == 'X', "");
		break;
	case 'o':
		put_num(s, sp, get_unsigned(sp, ap), false, 8, false, "");
		break;
	case 'p':
		put_num(s, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false, "0x");
		break;
	case 'c': {
		char c[2] = {(char)va_arg(*ap, int), 0};
		put_str(s, sp, c);
		break;
	}
	case 's':
		put_str(s, sp, va_arg(*ap, const char *));
		break;
	default: /* %% and unknown conversions print themselves */
		put(s, conv);
		break;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {.buf = buf, .size = size};
	struct spec sp;
	va_list aq;

	va_copy(aq, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&s, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &aq);
		if (!*f)
			break;
		convert(&s, &sp, *f, &aq);
	}
	va_end(aq);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#define PRINT_MAX 512 /* bytes of one printf() call that reach the console */

static volatile int print_lock;

void printf_break_lock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

void printf_write(const char *s, size_t len)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	serial_write(s, len);
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

int vprintf(const char *fmt, va_list ap)
{
	char buf[PRINT_MAX];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

	platform_print(buf, len);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
