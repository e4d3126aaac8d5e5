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

int dt_from_pvh(struct dt *t, unsigned *module)
{
	uint32_t n;
	const struct hvm_modlist_entry *mods = pvh_modules(&n);
	if (!mods || n == 0 || n > 2) {
		printf("dt: %u PVH modules: expected the DTB as module 0 or 1\n", n);
		return -1;
	}
	*module = n - 1; /* 1 after an initrd, 0 without one */
	return dt_open(t, mods[*module].paddr, mods[*module].size);
}
