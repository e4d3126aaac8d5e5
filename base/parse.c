/* Sizes and integers from the command line, with every overflow checked. */
#include "base/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Reads the leading decimal digits of `s` into *out; returns the rest or NULL on no digits or
 * overflow (*err says which). */
static const char *parse_digits(const char *s, uint64_t *out, int *err)
{
	uint64_t v = 0;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v)) {
			*err = -ERANGE;
			return NULL;
		}
	}
	if (p == s) {
		*err = -EINVAL;
		return NULL;
	}
	*out = v;
	return p;
}

static int suffix_shift(const char *suffix, uint64_t default_unit, uint64_t *mult)
{
	static const char units[] = "KMGT";
	if (*suffix == '\0') {
		*mult = default_unit;
		return 0;
	}
	const char *u = strchr(units, toupper((unsigned char)suffix[0]));
	if (!u || suffix[0] == '\0')
		return -EINVAL;
	const char *rest = suffix + 1;
	if (*rest && strcasecmp(rest, "iB") != 0 && strcasecmp(rest, "B") != 0)
		return -EINVAL;
	*mult = 1ULL << (10 * (u - units + 1));
	return 0;
}

int parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	int err = 0;
	uint64_t v, mult;
	if (!s)
		return -EINVAL;
	const char *rest = parse_digits(s, &v, &err);
	if (!rest)
		return err;
	if (suffix_shift(rest, default_unit, &mult))
		return -EINVAL;
	uint64_t bytes;
	if (__builtin_mul_overflow(v, mult, &bytes))
		return -ERANGE;
	*out = bytes;
	return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	int err = 0;
	uint64_t v;
	if (!s)
		return -EINVAL;
	const char *rest = parse_digits(s, &v, &err);
	if (!rest)
		return err;
	if (*rest)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int fail_rc(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int parse_device_id(const char *value, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t n = value ? strlen(value) : 0;

	if (n == 0 || n >= outlen)
		return parse_fail(err, errlen, "id=%s: expected 1 to %zu characters",
				  value ? value : "", outlen - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c <= ' ' || c > '~' || c == '/' || c == ',')
			return parse_fail(err, errlen, "id=%s: a character that is not allowed",
					  value);
	}
	memcpy(out, value, n + 1);
	return 0;
}

int parse_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
