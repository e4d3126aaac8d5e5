/* The fw_cfg device through its x86 ports and its DMA interface over fake guest memory, the
 * standard items' encodings and the table-loader's bytes (QEMU docs/specs/fw_cfg.rst). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/guest_mem.h"
#include "base/io_bus.h"
#include "devices/fw_cfg/fw_cfg.h"
#include "devices/fw_cfg/fw_cfg_machine.h"
#include "devices/fw_cfg/table_loader.h"

#define RAM_SIZE 0x10000
#define DESC	 0x1000 /* where tests put their FWCfgDmaAccess */
#define BUF	 0x2000

static uint8_t ram[RAM_SIZE];
static struct guest_mem mem;
static struct io_bus bus;
static struct fw_cfg cfg;

static void setup(void)
{
	memset(ram, 0xaa, sizeof(ram));
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram, RAM_SIZE), 0);
	io_bus_init(&bus, "pio");
	cr_assert_eq(fw_cfg_init(&cfg, &mem), 0);
	cr_assert_eq(fw_cfg_attach_pio(&cfg, &bus), 0);
}

static void teardown(void)
{
	fw_cfg_detach_pio(&cfg, &bus);
	fw_cfg_destroy(&cfg);
	io_bus_destroy(&bus);
}

TestSuite(fw_cfg, .init = setup, .fini = teardown);

static void sel(uint16_t key)
{
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_SEL, &key, 2), 1);
}

static void read_data(void *out, size_t n)
{
	uint8_t *p = out;
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(io_bus_read(&bus, FW_CFG_PORT_DATA, &p[i], 1), 1);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes an FWCfgDmaAccess at `at` and starts it as SeaBIOS does: one 4-byte write of the
 * big-endian address to port 0x518. Returns the control word the device left. */
static uint32_t dma_at(uint64_t at, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t d[16], a[4];
	put_be32(d, control);
	put_be32(d + 4, len);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
	if (at + 16 <= RAM_SIZE)
		memcpy(ram + at, d, 16);
	put_be32(a, (uint32_t)at);
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DMA + 4, a, 4), 1);
	return at + 16 <= RAM_SIZE ? be32(ram + at) : 0xffffffff;
}

static uint32_t dma(uint32_t control, uint32_t len, uint64_t addr)
{
	return dma_at(DESC, control, len, addr);
}

Test(fw_cfg, signature_and_id)
{
	char sig[5] = "";
	uint8_t id[4];

	sel(FW_CFG_SIGNATURE);
	read_data(sig, 4);
	cr_assert_str_eq(sig, "QEMU");
	sel(FW_CFG_ID);
	read_data(id, 4);
	cr_assert_eq(id[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	cr_assert_eq(id[1] | id[2] | id[3], 0);
}

Test(fw_cfg, dma_register_reads_signature)
{
	uint8_t b[8];
	uint32_t w;
	cr_assert_eq(io_bus_read(&bus, FW_CFG_PORT_DMA, b, 8), 1);
	cr_assert_eq(memcmp(b, "QEMU CFG", 8), 0);
	cr_assert_eq(io_bus_read(&bus, FW_CFG_PORT_DMA + 4, &w, 4), 1);
	cr_assert_eq(memcmp(&w, " CFG", 4), 0);
}

Test(fw_cfg, no_dma_without_memory)
{
	struct fw_cfg c2;
	cr_assert_eq(fw_cfg_init(&c2, NULL), 0);
	fw_cfg_select(&c2, FW_CFG_ID);
	cr_assert_eq(fw_cfg_data_read(&c2), FW_CFG_VERSION);
	fw_cfg_destroy(&c2);
}

Test(fw_cfg, reads_past_end_and_unknown_keys_are_zero)
{
	uint8_t b[8];
	sel(FW_CFG_SIGNATURE);
	read_data(b, 8);
	cr_assert_eq(memcmp(b, "QEMU\0\0\0\0", 8), 0);
	sel(0x1234);
	read_data(b, 2);
	cr_assert_eq(b[0] | b[1], 0);
	/* reselecting starts over; the write-channel bit selects the same item */
	sel(FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL);
	read_data(b, 1);
	cr_assert_eq(b[0], 'Q');
}

Test(fw_cfg, data_port_writes_ignored)
{
	uint8_t v = 'X', b;
	cr_assert_geq(fw_cfg_add_file(&cfg, "opt/rw", "abc", 3, true), FW_CFG_FILE_FIRST);
	sel(FW_CFG_FILE_FIRST);
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DATA, &v, 1), 1);
	sel(FW_CFG_FILE_FIRST);
	read_data(&b, 1);
	cr_assert_eq(b, 'a');
}

Test(fw_cfg, machine_items)
{
	uint8_t b[8];
	cr_assert_eq(fw_cfg_add_machine(&cfg, 2, 4, 0x12345678ULL << 8, 1), 0);
	sel(FW_CFG_NB_CPUS);
	read_data(b, 2);
	cr_assert_eq(b[0] | b[1] << 8, 2);
	sel(FW_CFG_MAX_CPUS);
	read_data(b, 2);
	cr_assert_eq(b[0], 4);
	sel(FW_CFG_RAM_SIZE);
	read_data(b, 8);
	cr_assert_eq(memcmp(b, "\x00\x78\x56\x34\x12\0\0\0", 8), 0);
	sel(FW_CFG_BOOT_MENU);
	read_data(b, 2);
	cr_assert_eq(b[0], 1);
}

Test(fw_cfg, directory_encoding)
{
	uint8_t dir[4 + 2 * 64];
	const char *boot[] = {"/pci@i0cf8/scsi@3/disk@0,0", "HALT"};
	struct fw_cfg_e820 e[2] = {{0, 0x9fc00, 1}, {0x100000, 0x7f00000, 1}};

	cr_assert_eq(fw_cfg_add_e820(&cfg, e, 2), 0);
	cr_assert_eq(fw_cfg_add_bootorder(&cfg, boot, 2), 0);
	sel(FW_CFG_FILE_DIR);
	read_data(dir, sizeof(dir));
	cr_assert_eq(be32(dir), 2);
	cr_assert_eq(be32(dir + 4), 40, "two 20-byte e820 entries");
	cr_assert_eq(dir[8] << 8 | dir[9], FW_CFG_FILE_FIRST);
	cr_assert_eq(dir[10] | dir[11], 0);
	cr_assert_str_eq((char *)dir + 12, "etc/e820");
	cr_assert_eq(be32(dir + 68), strlen(boot[0]) + strlen(boot[1]) + 3);
	cr_assert_eq(dir[72] << 8 | dir[73], FW_CFG_FILE_FIRST + 1);
	cr_assert_str_eq((char *)dir + 76, "bootorder");

	uint8_t e820[40];
	sel(FW_CFG_FILE_FIRST);
	read_data(e820, 40);
	cr_assert_eq(memcmp(e820 + 20, "\0\0\x10\0\0\0\0\0\0\0\xf0\x07\0\0\0\0\x01\0\0\0", 20), 0);
	const struct fw_cfg_item *bo = fw_cfg_find_file(&cfg, "bootorder");
	cr_assert_not_null(bo);
	cr_assert_str_eq((char *)bo->data, "/pci@i0cf8/scsi@3/disk@0,0\nHALT\n");
}

Test(fw_cfg, file_names_checked)
{
	char name[FW_CFG_NAME_MAX + 1];
	memset(name, 'a', FW_CFG_NAME_MAX);
	name[FW_CFG_NAME_MAX] = '\0';
	cr_assert_eq(fw_cfg_add_file(&cfg, name, "x", 1, false), -EINVAL, "56 characters");
	name[FW_CFG_NAME_MAX - 1] = '\0';
	cr_assert_eq(fw_cfg_add_file(&cfg, name, "x", 1, false), FW_CFG_FILE_FIRST, "55 fit");
	cr_assert_eq(fw_cfg_add_file(&cfg, name, "x", 1, false), -EEXIST);
	cr_assert_eq(fw_cfg_add_file(&cfg, "", "x", 1, false), -EINVAL);
	cr_assert_eq(fw_cfg_add_bytes(&cfg, FW_CFG_FILE_DIR, "x", 1), -EINVAL);
	cr_assert_eq(fw_cfg_add_bytes(&cfg, FW_CFG_FILE_FIRST + 3, "x", 1), -EINVAL);
}

Test(fw_cfg, too_many_files)
{
	char name[16];
	int i, err = 0;
	for (i = 0; i <= FW_CFG_MAX_FILES && err >= 0; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		err = fw_cfg_add_file(&cfg, name, name, 2, false);
	}
	cr_assert_eq(err, -ENOSPC);
	cr_assert_eq(i, FW_CFG_MAX_FILES + 1);
}

Test(fw_cfg, dma_select_read)
{
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | FW_CFG_SIGNATURE << 16, 4, BUF), 0);
	cr_assert_eq(memcmp(ram + BUF, "QEMU", 4), 0);
	cr_assert_eq(ram[BUF + 4], 0xaa, "nothing past the length");
	cr_assert_eq(cfg.dma_ops, 1);
}

Test(fw_cfg, dma_read_past_end_fills_zeros)
{
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | FW_CFG_SIGNATURE << 16, 6000, BUF),
		     0);
	cr_assert_eq(memcmp(ram + BUF, "QEMU", 4), 0);
	for (int i = 4; i < 6000; i++)
		cr_assert_eq(ram[BUF + i], 0);
	cr_assert_eq(ram[BUF + 6000], 0xaa);
}

Test(fw_cfg, dma_skip_then_read_and_port_continues)
{
	uint8_t b;
	cr_assert_eq(fw_cfg_add_file(&cfg, "etc/x", "0123456789", 10, false), FW_CFG_FILE_FIRST);
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP | FW_CFG_FILE_FIRST << 16, 3, 0), 0);
	cr_assert_eq(dma(FW_CFG_DMA_READ, 2, BUF), 0);
	cr_assert_eq(memcmp(ram + BUF, "34", 2), 0);
	read_data(&b, 1); /* the data port shares the offset */
	cr_assert_eq(b, '5');
	cr_assert_eq(dma(FW_CFG_DMA_SKIP, 1000, 0), 0, "a skip stops at the end");
	read_data(&b, 1);
	cr_assert_eq(b, 0);
}

Test(fw_cfg, dma_write_rules)
{
	cr_assert_eq(fw_cfg_add_file(&cfg, "etc/rw", "abcd", 4, true), FW_CFG_FILE_FIRST);
	cr_assert_eq(fw_cfg_add_file(&cfg, "etc/ro", "wxyz", 4, false), FW_CFG_FILE_FIRST + 1);
	memcpy(ram + BUF, "ABCDE", 5);
	/* a write into a writable item, from its data offset */
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP | FW_CFG_FILE_FIRST << 16, 1, 0), 0);
	cr_assert_eq(dma(FW_CFG_DMA_WRITE, 2, BUF), 0);
	cr_assert_eq(memcmp(fw_cfg_find_file(&cfg, "etc/rw")->data, "aABd", 4), 0);
	/* one that would run past the end is dropped whole */
	cr_assert_eq(dma(FW_CFG_DMA_WRITE, 2, BUF), FW_CFG_DMA_ERROR);
	cr_assert_eq(memcmp(fw_cfg_find_file(&cfg, "etc/rw")->data, "aABd", 4), 0);
	/* read-only items refuse */
	cr_assert_eq(
	    dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE | (FW_CFG_FILE_FIRST + 1) << 16, 1, BUF),
	    FW_CFG_DMA_ERROR);
	cr_assert_eq(memcmp(fw_cfg_find_file(&cfg, "etc/ro")->data, "wxyz", 4), 0);
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE | FW_CFG_SIGNATURE << 16, 1, BUF),
		     FW_CFG_DMA_ERROR);
	/* no item selected */
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE | 0x3333 << 16, 1, BUF),
		     FW_CFG_DMA_ERROR);
}

Test(fw_cfg, dma_buffer_outside_ram_is_an_error)
{
	uint32_t ctl = FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | FW_CFG_SIGNATURE << 16;
	cr_assert_eq(dma(ctl, 16, RAM_SIZE - 8), FW_CFG_DMA_ERROR, "straddles the end of RAM");
	cr_assert_eq(ram[RAM_SIZE - 8], 0xaa, "nothing written");
	cr_assert_eq(dma(ctl, 4, 0xfffffffffffffffeULL), FW_CFG_DMA_ERROR, "wraps");
	cr_assert_eq(dma(ctl, 0xffffffff, 0), FW_CFG_DMA_ERROR, "longer than RAM");
	cr_assert_eq(ram[0], 0xaa);
	memset(ram + BUF, 0xaa, 4);
	cr_assert_eq(fw_cfg_add_file(&cfg, "etc/rw", "abcd", 4, true), FW_CFG_FILE_FIRST);
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE | FW_CFG_FILE_FIRST << 16, 4,
			 RAM_SIZE + 0x1000),
		     FW_CFG_DMA_ERROR);
	cr_assert_eq(memcmp(fw_cfg_find_file(&cfg, "etc/rw")->data, "abcd", 4), 0);
}

Test(fw_cfg, dma_descriptor_outside_ram_dropped)
{
	uint64_t ops = cfg.dma_ops;
	dma_at(RAM_SIZE - 8, FW_CFG_DMA_READ, 4, BUF); /* straddles: nothing to report into */
	dma_at(0x80000000, FW_CFG_DMA_READ, 4, BUF);
	cr_assert_eq(cfg.dma_ops, ops + 2);
	cr_assert_eq(ram[BUF], 0xaa);
}

Test(fw_cfg, dma_address_register_halves_and_64bit)
{
	uint8_t hi[4] = {0, 0, 0, 1}, lo[4], full[8] = {0, 0, 0, 0, 0, 0, 0x10, 0};
	/* a descriptor above 4 GiB is not RAM here: the high half is taken */
	memcpy(ram + DESC, "\0\0\0\x0a\0\0\0\x04\0\0\0\0\0\0\x20\0", 16); /* select 0, read 4 */
	put_be32(lo, DESC);
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DMA, hi, 4), 1);
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DMA + 4, lo, 4), 1);
	cr_assert_eq(ram[BUF], 0xaa, "0x1_0000_1000 is not RAM");
	/* the register is 0 again after the operation: a low write alone now reaches DESC */
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DMA + 4, lo, 4), 1);
	cr_assert_eq(memcmp(ram + BUF, "QEMU", 4), 0);
	memset(ram + BUF, 0xaa, 4);
	memcpy(ram + DESC, "\0\0\0\x0a\0\0\0\x04\0\0\0\0\0\0\x20\0", 16);
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DMA, full, 8), 1);
	cr_assert_eq(memcmp(ram + BUF, "QEMU", 4), 0);
	cr_assert_eq(be32(ram + DESC), 0);
	/* 1- and 2-byte writes do nothing */
	uint64_t ops = cfg.dma_ops;
	cr_assert_eq(io_bus_write(&bus, FW_CFG_PORT_DMA + 6, lo, 2), 1);
	cr_assert_eq(cfg.dma_ops, ops);
}

Test(fw_cfg, direct_boot_items)
{
	struct fw_cfg_direct_boot b = {.setup = "SETUP",
				       .setup_len = 5,
				       .kernel = "KERNEL",
				       .kernel_len = 6,
				       .kernel_addr = 0x100000,
				       .cmdline = "console=ttyS0"};
	uint8_t v[4];
	cr_assert_eq(fw_cfg_add_direct_boot(&cfg, &b), 0);
	sel(FW_CFG_KERNEL_SIZE);
	read_data(v, 4);
	cr_assert_eq(v[0], 6);
	sel(FW_CFG_KERNEL_ADDR);
	read_data(v, 4);
	cr_assert_eq(v[2], 0x10);
	sel(FW_CFG_CMDLINE_SIZE);
	read_data(v, 4);
	cr_assert_eq(v[0], 14, "with its NUL");
	cr_assert_null(fw_cfg_find(&cfg, FW_CFG_INITRD_SIZE));
	cr_assert_null(fw_cfg_find(&cfg, FW_CFG_SETUP_ADDR), "no address given");
	cr_assert_eq(memcmp(fw_cfg_find(&cfg, FW_CFG_SETUP_DATA)->data, "SETUP", 5), 0);
}

Test(table_loader, entry_bytes)
{
	struct table_loader l;
	uint8_t want[3 * TABLE_LOADER_ENTRY_SIZE] = {0};

	table_loader_init(&l);
	cr_assert_eq(table_loader_allocate(&l, "etc/acpi/rsdp", 16, TABLE_LOADER_ZONE_FSEG), 0);
	cr_assert_eq(table_loader_add_pointer(&l, "etc/acpi/rsdp", "etc/acpi/tables", 24, 8), 0);
	cr_assert_eq(table_loader_add_checksum(&l, "etc/acpi/tables", 9, 0, 36), 0);
	cr_assert_eq(l.len, sizeof(want));

	uint8_t *a = want, *p = want + 128, *k = want + 256;
	a[0] = 1;
	strcpy((char *)a + 4, "etc/acpi/rsdp");
	a[60] = 16;
	a[64] = 2;
	p[0] = 2;
	strcpy((char *)p + 4, "etc/acpi/rsdp");
	strcpy((char *)p + 60, "etc/acpi/tables");
	p[116] = 24;
	p[120] = 8;
	k[0] = 3;
	strcpy((char *)k + 4, "etc/acpi/tables");
	k[60] = 9;
	k[64] = 0;
	k[68] = 36;
	cr_assert_eq(memcmp(l.buf, want, sizeof(want)), 0);
	table_loader_free(&l);
}

/* WRITE_POINTER (command 4): dest file, src file, dest offset, src offset, size, as SeaBIOS's
 * romfile_loader and OVMF's QEMU_LOADER_WRITE_POINTER read them. */
Test(table_loader, write_pointer_bytes)
{
	struct table_loader l;
	uint8_t want[TABLE_LOADER_ENTRY_SIZE] = {0};

	table_loader_init(&l);
	cr_assert_eq(
	    table_loader_write_pointer(&l, "etc/vmgenid_addr", 0, "etc/vmgenid_guid", 40, 8), 0);
	cr_assert_eq(l.len, sizeof(want));
	want[0] = 4;
	strcpy((char *)want + 4, "etc/vmgenid_addr");
	strcpy((char *)want + 60, "etc/vmgenid_guid");
	want[116] = 0;
	want[120] = 40;
	want[124] = 8;
	cr_assert_eq(memcmp(l.buf, want, sizeof(want)), 0);
	cr_assert_eq(table_loader_write_pointer(&l, "a", 0, "b", 0, 5), -EINVAL, "sizes 1/2/4/8");
	cr_assert_eq(table_loader_write_pointer(&l, "a", 0, "", 0, 8), -EINVAL);
	table_loader_free(&l);
}

/* What the firmware wrote back into a writable file, as the VMM reads it. */
Test(fw_cfg, read_file_sees_the_firmwares_write)
{
	uint8_t got[8];

	cr_assert_eq(fw_cfg_add_file(&cfg, "etc/vmgenid_addr", "\0\0\0\0\0\0\0", 8, true),
		     FW_CFG_FILE_FIRST);
	memcpy(ram + BUF, "\x28\x10\xff\x1f\0\0\0\0", 8);
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE | FW_CFG_FILE_FIRST << 16, 8, BUF),
		     0);
	cr_assert_eq(fw_cfg_read_file(&cfg, "etc/vmgenid_addr", got, sizeof(got)), 0);
	cr_assert_eq(memcmp(got, "\x28\x10\xff\x1f\0\0\0\0", 8), 0);
	cr_assert_eq(fw_cfg_read_file(&cfg, "etc/vmgenid_addr", got, 9), -ENOENT, "past its end");
	cr_assert_eq(fw_cfg_read_file(&cfg, "etc/none", got, 1), -ENOENT);
}

Test(table_loader, bad_arguments_stick)
{
	struct table_loader l;
	table_loader_init(&l);
	cr_assert_eq(table_loader_allocate(&l, "x", 3, TABLE_LOADER_ZONE_HIGH), -EINVAL);
	cr_assert_eq(table_loader_add_checksum(&l, "x", 0, 0, 1), -EINVAL, "the first error stays");
	cr_assert_eq(l.len, 0);
	table_loader_free(&l);
	table_loader_init(&l);
	cr_assert_eq(table_loader_add_pointer(&l, "a", "b", 0, 3), -EINVAL);
	table_loader_free(&l);
}

Test(fw_cfg, acpi_files)
{
	struct table_loader l;
	uint8_t tables[36] = "XSDT", rsdp[36] = "RSD PTR ";

	table_loader_init(&l);
	cr_assert_eq(fw_cfg_add_acpi(&cfg, tables, sizeof(tables), rsdp, sizeof(rsdp), &l), -EINVAL,
		     "no commands");
	table_loader_allocate(&l, "etc/acpi/rsdp", 16, TABLE_LOADER_ZONE_FSEG);
	table_loader_allocate(&l, "etc/acpi/tables", 64, TABLE_LOADER_ZONE_HIGH);
	table_loader_add_pointer(&l, "etc/acpi/rsdp", "etc/acpi/tables", 24, 8);
	cr_assert_eq(fw_cfg_add_acpi(&cfg, tables, sizeof(tables), rsdp, sizeof(rsdp), &l), 0);
	const struct fw_cfg_item *t = fw_cfg_find_file(&cfg, "etc/acpi/tables");
	const struct fw_cfg_item *r = fw_cfg_find_file(&cfg, "etc/acpi/rsdp");
	const struct fw_cfg_item *ld = fw_cfg_find_file(&cfg, "etc/table-loader");
	cr_assert(t && r && ld);
	cr_assert_eq(t->len, 36);
	cr_assert_eq(memcmp(r->data, "RSD PTR ", 8), 0);
	cr_assert_eq(ld->len, 3 * TABLE_LOADER_ENTRY_SIZE);
	cr_assert_eq(memcmp(ld->data, l.buf, l.len), 0);
	/* a firmware reads the loader by DMA, as SeaBIOS's romfile_loader does */
	uint8_t dir[4];
	sel(FW_CFG_FILE_DIR);
	read_data(dir, 4);
	cr_assert_eq(be32(dir), 3);
	cr_assert_eq(dma(FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (FW_CFG_FILE_FIRST + 2) << 16,
			 (uint32_t)l.len, BUF),
		     0);
	cr_assert_eq(memcmp(ram + BUF, l.buf, l.len), 0);
	cr_assert_eq(fw_cfg_add_acpi(&cfg, tables, sizeof(tables), rsdp, sizeof(rsdp), &l), -EEXIST,
		     "once");
	table_loader_free(&l);
}
