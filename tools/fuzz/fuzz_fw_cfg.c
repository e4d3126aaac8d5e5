/* libFuzzer target: the fw_cfg device (devices/fw_cfg/) behind its x86 ports on a port-I/O bus
 * (base/io_bus.c), with DMA over fake guest RAM (fuzz_mem.h: exact-size blocks, so ASan flags
 * any byte touched outside RAM). Port reads and writes of any width around 0x510-0x51b, DMA
 * descriptors the driver places in RAM (or anywhere) and starts, RAM written in between.
 * Invariants: a DMA operation changes guest RAM only in its control word and, for a read, its
 * buffer; the data offset never passes the selected item's end; items never change size. */
#include <stdlib.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/fw_cfg/fw_cfg.h"
#include "devices/fw_cfg/fw_cfg_machine.h"
#include "devices/fw_cfg/table_loader.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOW_SIZE  0x10000ULL
#define HIGH_BASE 0x100000000ULL
#define HIGH_SIZE 0x1000ULL
#define MAX_OPS	  512

enum op { OP_PIO_READ, OP_PIO_WRITE, OP_DMA, OP_RAM, OP_COUNT };

/* A kernel for the firmware to boot (--firmware with --kernel): the setup, kernel, initrd and
 * command line items with their addresses, as vmm/vm/x86/vm_firmware_boot.c adds them; DMA reads of
 * them run past their ends into guest memory's edges. */
static int add_direct_boot(struct fw_cfg *c)
{
	static uint8_t setup[1024], kernel[3000], initrd[700];
	struct fw_cfg_direct_boot b = {
	    .setup = setup,
	    .setup_len = sizeof(setup),
	    .setup_addr = 0x1000,
	    .kernel = kernel,
	    .kernel_len = sizeof(kernel),
	    .kernel_addr = 0x4000,
	    .initrd = initrd,
	    .initrd_len = sizeof(initrd),
	    .initrd_addr = 0x8000,
	    .cmdline = "console=ttyS0",
	    .cmdline_addr = 0x2000,
	};
	memset(kernel, 0x90, sizeof(kernel));
	if (fw_cfg_add_direct_boot(c, &b))
		return -1;
	return fw_cfg_add_file(c, "genroms/linuxboot.bin", setup, 512, false) < 0 ? -1 : 0;
}

static int add_items(struct fw_cfg *c)
{
	static const struct fw_cfg_e820 e820[] = {{0, 0x9fc00, 1}, {0x100000, 0xbff00000, 1}};
	static const char *const boot[] = {"/pci@i0cf8/scsi@3/disk@0,0", "HALT"};
	struct table_loader l;
	int err = fw_cfg_add_machine(c, 2, 4, LOW_SIZE, 0);

	if (!err)
		err = fw_cfg_add_e820(c, e820, 2);
	if (!err)
		err = fw_cfg_add_bootorder(c, boot, 2);
	if (!err && fw_cfg_add_file(c, "etc/rw", "0123456789abcdef", 16, true) < 0)
		err = -1;
	table_loader_init(&l);
	table_loader_allocate(&l, "etc/acpi/tables", 64, TABLE_LOADER_ZONE_HIGH);
	table_loader_add_checksum(&l, "etc/acpi/tables", 9, 0, 36);
	if (!err &&
	    (l.err || fw_cfg_add_file(c, "etc/table-loader", l.buf, (uint32_t)l.len, false) < 0))
		err = -1;
	table_loader_free(&l);
	if (!err)
		err = add_direct_boot(c);
	return err;
}

static void check(struct fw_cfg *c, uint32_t rw_len)
{
	const struct fw_cfg_item *rw = fw_cfg_find_file(c, "etc/rw");
	FZ_ASSERT(!c->cur || c->offset <= c->cur->len, "offset %u past %u", c->offset, c->cur->len);
	FZ_ASSERT(rw && rw->len == rw_len, "a writable item changed size");
}

/* What the VMM does when the firmware wrote a file back (vm_firmware.c: etc/vmgenid_addr):
 * read it, the device unlocked. Only the writable item can have been written. */
static void written(void *opaque, uint16_t key)
{
	struct fw_cfg *c = opaque;
	uint8_t v[16];
	FZ_ASSERT(key == fw_cfg_find_file(c, "etc/rw")->key, "a write to read-only item %#x", key);
	FZ_ASSERT(!fw_cfg_read_file(c, "etc/rw", v, sizeof(v)), "the written file cannot be read");
}

static uint32_t width(struct fz_in *in)
{
	return 1u << (fz_u8(in) % 4);
}

/* A guest address: mostly inside RAM, sometimes anything. */
static uint64_t gpa(struct fz_in *in)
{
	uint8_t kind = fz_u8(in) % 4;
	if (kind == 0)
		return fz_u64(in);
	if (kind == 1)
		return HIGH_BASE + fz_u16(in) % (HIGH_SIZE + 64);
	return fz_u16(in);
}

/* Places an FWCfgDmaAccess and starts it with a 4-byte write at 0x518 (its high half 0) or an
 * 8-byte write at 0x514, then checks what changed in RAM. */
static void dma(struct fz_in *in, struct fz_mem *m, struct io_bus *bus)
{
	uint64_t desc = gpa(in), addr;
	uint32_t control = fz_u32(in), len = fz_u32(in) % 0x20000;
	uint8_t d[16], a[8];
	struct fz_ranges ok;
	bool wide = fz_u8(in) & 1;

	addr = gpa(in);
	for (int i = 0; i < 4; i++) {
		d[i] = (uint8_t)(control >> (24 - 8 * i));
		d[4 + i] = (uint8_t)(len >> (24 - 8 * i));
	}
	for (int i = 0; i < 8; i++)
		d[8 + i] = (uint8_t)(addr >> (56 - 8 * i));
	fz_mem_write(m, desc, d, sizeof(d));
	fz_ranges_clear(&ok);
	fz_ranges_add(&ok, desc, 4);
	if (control & FW_CFG_DMA_READ)
		fz_ranges_add(&ok, addr, len);
	if (wide || desc >> 32) {
		for (int i = 0; i < 8; i++)
			a[i] = (uint8_t)(desc >> (56 - 8 * i));
		io_bus_write(bus, FW_CFG_PORT_DMA, a, 8);
	} else {
		for (int i = 0; i < 4; i++)
			a[i] = (uint8_t)(desc >> (24 - 8 * i));
		io_bus_write(bus, FW_CFG_PORT_DMA + 4, a, 4);
	}
	fz_mem_check(m, &ok, "fw_cfg DMA");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct fz_mem m = {0};
	struct io_bus bus;
	struct fw_cfg c;
	uint8_t buf[256];

	if (fz_mem_add(&m, 0, LOW_SIZE, 0) || fz_mem_add(&m, HIGH_BASE, HIGH_SIZE, 0))
		abort();
	io_bus_init(&bus, "pio");
	if (fw_cfg_init(&c, &m.mem) || add_items(&c) || fw_cfg_attach_pio(&c, &bus))
		abort();
	c.on_write = written;
	c.on_write_opaque = &c;
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&in); ops++) {
		uint8_t op = fz_u8(&in) % OP_COUNT;
		uint64_t port = FW_CFG_PORT_SEL - 2 + fz_u8(&in) % 16;
		uint32_t w;

		switch (op) {
		case OP_PIO_READ:
			w = width(&in);
			io_bus_read(&bus, port, buf, w);
			break;
		case OP_PIO_WRITE:
			w = width(&in);
			fz_bytes(&in, buf, w);
			io_bus_write(&bus, port, buf, w);
			fz_mem_sync(&m); /* may start a DMA the driver did not lay out */
			break;
		case OP_DMA:
			dma(&in, &m, &bus);
			break;
		case OP_RAM: {
			uint64_t at = gpa(&in);
			size_t n = fz_u8(&in), got;
			const uint8_t *src = fz_take(&in, n, &got);
			fz_mem_write(&m, at, src, got);
			break;
		}
		}
		check(&c, 16);
	}
	fw_cfg_detach_pio(&c, &bus);
	fw_cfg_destroy(&c);
	io_bus_destroy(&bus);
	fz_mem_free(&m);
	return 0;
}
