/* The command line's words (boot.h), whichever way the architecture's boot hands it over. */
#include "boot.h"

#include "string.h"

/* Finds the word "key" or "key=..." and returns a pointer just past the key, or NULL. */
static const char *find_key(const char *key)
{
	size_t klen = strlen(key);
	const char *p = boot_cmdline();

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && (p[klen] == '=' || p[klen] == ' ' || !p[klen]))
			return p + klen;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

bool cmdline_has(const char *key)
{
	return find_key(key) != NULL;
}

bool cmdline_get_str(const char *key, char *buf, size_t len)
{
	const char *v = find_key(key);
	size_t n = 0;

	if (!v || *v != '=' || !len)
		return false;
	for (v++; v[n] && v[n] != ' ' && n + 1 < len; n++)
		buf[n] = v[n];
	buf[n] = '\0';
	return true;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

static int suffix_shift(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return 10;
	case 'm':
	case 'M':
		return 20;
	case 'g':
	case 'G':
		return 30;
	default:
		return -1;
	}
}

bool cmdline_get_u64(const char *key, uint64_t *val)
{
	char buf[32], *p = buf;
	unsigned base = 10;
	uint64_t v = 0;
	int d, shift = 0;

	if (!cmdline_get_str(key, buf, sizeof(buf)) || !*p)
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && p[2]) {
		base = 16;
		p += 2;
	}
	if (digit_value(*p) >= (int)base)
		return false;
	for (; *p && (d = digit_value(*p)) < (int)base; p++) {
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
			return false;
	}
	if (*p && (shift = suffix_shift(*p++)) < 0)
		return false;
	if (*p || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*val = v << shift;
	return true;
}
