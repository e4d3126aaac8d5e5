#include "pvh.h"

#include "io.h"
#include "printf.h"
#include "string.h"

#define REACHABLE_LIMIT 0x100000000ULL /* the runtime maps only the first 4 GiB */

static const struct hvm_start_info *start_info;

static bool reachable(uint64_t paddr, uint64_t size)
{
	return paddr && paddr < REACHABLE_LIMIT && size <= REACHABLE_LIMIT - paddr;
}

int pvh_init(uint32_t paddr)
{
	const struct hvm_start_info *si = phys_ptr(paddr);

	if (!paddr) {
		printf("runtime: no hvm_start_info (EBX = 0)\n");
		return -1;
	}
	if (si->magic != HVM_START_MAGIC_VALUE) {
		printf("runtime: bad hvm_start_info magic 0x%x at 0x%x\n", si->magic, paddr);
		return -1;
	}
	start_info = si;
	return 0;
}

const struct hvm_start_info *pvh_start_info(void)
{
	return start_info;
}

const char *pvh_cmdline(void)
{
	if (!start_info || !reachable(start_info->cmdline_paddr, 1))
		return "";
	return phys_ptr(start_info->cmdline_paddr);
}

const struct hvm_memmap_table_entry *pvh_memmap(uint32_t *count)
{
	uint64_t n = start_info ? start_info->memmap_entries : 0;

	*count = 0;
	if (!start_info || start_info->version < 1 ||
	    !reachable(start_info->memmap_paddr, n * sizeof(struct hvm_memmap_table_entry)))
		return NULL;
	*count = (uint32_t)n;
	return phys_ptr(start_info->memmap_paddr);
}

bool pvh_is_ram(uint64_t start, uint64_t len)
{
	uint32_t n = 0;
	const struct hvm_memmap_table_entry *m = pvh_memmap(&n);

	for (uint32_t i = 0; m && i < n; i++) {
		if (m[i].type == HVM_MEMMAP_TYPE_RAM && m[i].addr <= start &&
		    start + len <= m[i].addr + m[i].size)
			return true;
	}
	return false;
}

const struct hvm_modlist_entry *pvh_modules(uint32_t *count)
{
	uint64_t n = start_info ? start_info->nr_modules : 0;

	*count = 0;
	if (!n || !reachable(start_info->modlist_paddr, n * sizeof(struct hvm_modlist_entry)))
		return NULL;
	*count = (uint32_t)n;
	return phys_ptr(start_info->modlist_paddr);
}

/* Finds the word "key" or "key=..." and returns a pointer just past the key, or NULL. */
static const char *find_key(const char *key)
{
	size_t klen = strlen(key);
	const char *p = pvh_cmdline();

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
