#include "devices/fw_cfg/fw_cfg_machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg/table_loader.h"

int fw_cfg_add_machine(struct fw_cfg *c, uint16_t ncpus, uint16_t max_cpus, uint64_t ram_size,
		       uint16_t boot_menu)
{
	int err = fw_cfg_add_u16(c, FW_CFG_NB_CPUS, ncpus);
	if (!err)
		err = fw_cfg_add_u16(c, FW_CFG_MAX_CPUS, max_cpus);
	if (!err)
		err = fw_cfg_add_u64(c, FW_CFG_RAM_SIZE, ram_size);
	if (!err)
		err = fw_cfg_add_u16(c, FW_CFG_BOOT_MENU, boot_menu);
	return err;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int fw_cfg_add_e820(struct fw_cfg *c, const struct fw_cfg_e820 *e, int n)
{
	if (n < 0 || n > 128)
		return -EINVAL;
	uint8_t buf[128 * FW_CFG_E820_ENTRY_SIZE];
	for (int i = 0; i < n; i++) {
		uint8_t *p = buf + i * FW_CFG_E820_ENTRY_SIZE;
		put_le(p, e[i].addr, 8);
		put_le(p + 8, e[i].size, 8);
		put_le(p + 16, e[i].type, 4);
	}
	int key = fw_cfg_add_file(c, "etc/e820", buf, (uint32_t)n * FW_CFG_E820_ENTRY_SIZE, false);
	return key < 0 ? key : 0;
}

int fw_cfg_add_bootorder(struct fw_cfg *c, const char *const *paths, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(paths[i]) + 1;
	if (len > UINT32_MAX)
		return -EINVAL;
	char *buf = malloc(len), *p = buf;
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		size_t k = strlen(paths[i]);
		memcpy(p, paths[i], k);
		p[k] = '\n';
		p += k + 1;
	}
	*p = '\0';
	int key = fw_cfg_add_file(c, "bootorder", buf, (uint32_t)len, false);
	free(buf);
	return key < 0 ? key : 0;
}

/* An address item when one is given, a size item and a data item. */
static int add_blob(struct fw_cfg *c, uint16_t addr_key, uint32_t addr, uint16_t size_key,
		    uint16_t data_key, const void *data, uint32_t len)
{
	int err = addr ? fw_cfg_add_u32(c, addr_key, addr) : 0;
	if (!err)
		err = fw_cfg_add_u32(c, size_key, len);
	if (!err)
		err = fw_cfg_add_bytes(c, data_key, data, len);
	return err;
}

int fw_cfg_add_direct_boot(struct fw_cfg *c, const struct fw_cfg_direct_boot *b)
{
	const char *cmdline = b->cmdline ? b->cmdline : "";
	size_t clen = strlen(cmdline) + 1;
	int err;

	if (clen > UINT32_MAX)
		return -EINVAL;
	err = add_blob(c, FW_CFG_SETUP_ADDR, b->setup_addr, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA,
		       b->setup, b->setup_len);
	if (!err)
		err = add_blob(c, FW_CFG_KERNEL_ADDR, b->kernel_addr, FW_CFG_KERNEL_SIZE,
			       FW_CFG_KERNEL_DATA, b->kernel, b->kernel_len);
	if (!err && b->initrd)
		err = add_blob(c, FW_CFG_INITRD_ADDR, b->initrd_addr, FW_CFG_INITRD_SIZE,
			       FW_CFG_INITRD_DATA, b->initrd, b->initrd_len);
	if (!err)
		err = add_blob(c, FW_CFG_CMDLINE_ADDR, b->cmdline_addr, FW_CFG_CMDLINE_SIZE,
			       FW_CFG_CMDLINE_DATA, cmdline, (uint32_t)clen);
	return err;
}

int fw_cfg_add_acpi(struct fw_cfg *c, const void *tables, uint32_t tables_len, const void *rsdp,
		    uint32_t rsdp_len, const struct table_loader *loader)
{
	int key;

	if (loader->err || !loader->len || !tables_len || !rsdp_len || loader->len > UINT32_MAX)
		return -EINVAL;
	key = fw_cfg_add_file(c, "etc/acpi/tables", tables, tables_len, false);
	if (key >= 0)
		key = fw_cfg_add_file(c, "etc/acpi/rsdp", rsdp, rsdp_len, false);
	if (key >= 0)
		key = fw_cfg_add_file(c, "etc/table-loader", loader->buf, (uint32_t)loader->len,
				      false);
	return key < 0 ? key : 0;
}
