#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "firmware/machine.h"
#include "firmware/x86/boot_params.h"
#include "firmware/x86/mptable.h"
#include "firmware/x86/pvh.h"
#include "loaders/boot.h"
#include "tests/unit/fixtures/boot_fixtures.h"

static struct guest_mem mem;
static uint8_t *ram;
static char *kernel, *initrd;

#define INITRD_SIZE 0x2345

static void setup(void)
{
	uint8_t data[INITRD_SIZE];

	ram = fake_mem_init(&mem, FAKE_RAM_SIZE);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5A);
	initrd = temp_file(data, sizeof(data));
	kernel = NULL;
}

static void teardown(void)
{
	unlink(initrd);
	free(initrd);
	if (kernel) {
		unlink(kernel);
		free(kernel);
	}
	free(ram);
}

TestSuite(boot, .init = setup, .fini = teardown);

static void use_bzimage(const struct fake_bz *o)
{
	size_t len;
	uint8_t *img = fake_bzimage(o, &len);

	kernel = temp_file(img, len);
	free(img);
}

static void use_elf(const struct fake_elf *o)
{
	size_t len;
	uint8_t *img = fake_elf(o, &len);

	kernel = temp_file(img, len);
	free(img);
}

static struct machine mach;

/* A machine of `mem`'s RAM with `ncpus` vCPUs and the PC interrupt controller. */
static struct machine *describe(int ncpus)
{
	machine_init(&mach);
	machine_add_guest_ram(&mach, &mem);
	if (ncpus > 0)
		machine_add_cpus(&mach, ncpus);
	machine_set_arch_intc(&mach);
	return &mach;
}

static struct boot_config config(void)
{
	return (struct boot_config){.kernel_path = kernel,
				    .initrd_path = initrd,
				    .cmdline = "console=ttyS0 quiet",
				    .machine = describe(2)};
}

static void assert_initrd_at(uint64_t addr)
{
	for (size_t i = 0; i < INITRD_SIZE; i++)
		cr_assert_eq(ram[addr + i], (uint8_t)(i ^ 0x5A), "initrd byte %zu", i);
}

Test(boot, initrd_placement)
{
	cr_assert_eq(boot_initrd_addr(0x1000, MIB(20), MIB(64)), MIB(64) - 0x1000);
	cr_assert_eq(boot_initrd_addr(0x1001, MIB(20), MIB(64)), MIB(64) - 0x2000);
	cr_assert_eq(boot_initrd_addr(0x1000, MIB(20), MIB(64) + 0x800), MIB(64) - 0x1000);
	cr_assert_eq(boot_initrd_addr(MIB(44), MIB(20), MIB(64)), MIB(20), "exact fit");
	cr_assert_eq(boot_initrd_addr(MIB(44), MIB(20) + 1, MIB(64)), 0, "floor rounds up");
	cr_assert_eq(boot_initrd_addr(MIB(65), MIB(1), MIB(64)), 0);
	cr_assert_eq(boot_initrd_addr(0, MIB(1), MIB(64)), 0);
	cr_assert_eq(boot_initrd_addr(0x1000, UINT64_MAX, MIB(64)), 0, "floor overflow");
}

Test(boot, bzimage_end_to_end)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;

	use_bzimage(&o);
	cfg = config();
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	cr_assert_eq(e.mode, BOOT_MODE_LINUX64);
	cr_assert_eq(e.entry, 0x100200);
	cr_assert_eq(e.boot_info, BOOT_PARAMS_ADDR);

	const struct boot_params *bp = (const void *)(ram + BOOT_PARAMS_ADDR);
	uint64_t initrd_addr = FAKE_RAM_SIZE - 0x3000;
	cr_assert_eq(bp->hdr.ramdisk_image, initrd_addr);
	cr_assert_eq(bp->hdr.ramdisk_size, INITRD_SIZE);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp->hdr.type_of_loader, 0xFF);
	cr_assert_eq(bp->e820_entries, 3);
	cr_assert_str_eq((const char *)ram + BOOT_CMDLINE_ADDR, "console=ttyS0 quiet");
	assert_initrd_at(initrd_addr);
	cr_assert_eq(ram[0x100000], fake_kernel_byte(0));
	cr_assert_eq(memcmp(ram + MPTABLE_ADDR, "_MP_", 4), 0);
	const struct mpc_cpu *cpu = (const void *)(ram + MPTABLE_ADDR + 16 + 44);
	cr_assert_eq(cpu[1].apicid, 1);
}

Test(boot, bzimage_initrd_respects_initrd_addr_max)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;

	o.initrd_addr_max = MIB(32) - 1;
	use_bzimage(&o);
	cfg = config();
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	const struct boot_params *bp = (const void *)(ram + BOOT_PARAMS_ADDR);
	cr_assert_eq(bp->hdr.ramdisk_image, MIB(32) - 0x3000);
	assert_initrd_at(MIB(32) - 0x3000);
}

Test(boot, pvh_end_to_end)
{
	struct fake_elf o = fake_elf_default();
	struct boot_config cfg;
	struct boot_entry e;

	use_elf(&o);
	cfg = config();
	cfg.cmdline = NULL;
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	cr_assert_eq(e.mode, BOOT_MODE_PVH32);
	cr_assert_eq(e.entry, FAKE_ELF_ENTRY);
	cr_assert_eq(e.boot_info, PVH_START_INFO_ADDR);

	const struct hvm_start_info *si = (const void *)(ram + PVH_START_INFO_ADDR);
	const struct hvm_modlist_entry *mod = (const void *)(ram + PVH_MODLIST_ADDR);
	cr_assert_eq(si->magic, XEN_HVM_START_MAGIC_VALUE);
	cr_assert_eq(si->nr_modules, 1);
	cr_assert_eq(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(ram[BOOT_CMDLINE_ADDR], 0, "no command line: empty string");
	cr_assert_eq(mod->paddr, FAKE_RAM_SIZE - 0x3000);
	cr_assert_eq(mod->size, INITRD_SIZE);
	assert_initrd_at(FAKE_RAM_SIZE - 0x3000);
	cr_assert_eq(ram[FAKE_ELF_PADDR + 1], fake_kernel_byte(1));
	cr_assert_eq(memcmp(ram + MPTABLE_ADDR, "_MP_", 4), 0);
}

Test(boot, no_initrd)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;

	use_bzimage(&o);
	cfg = config();
	cfg.initrd_path = NULL;
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	const struct boot_params *bp = (const void *)(ram + BOOT_PARAMS_ADDR);
	cr_assert_eq(bp->hdr.ramdisk_image, 0);
	cr_assert_eq(bp->hdr.ramdisk_size, 0);
}

Test(boot, file_errors)
{
	struct boot_config cfg = config();
	struct boot_entry e;
	char *empty = temp_file("", 0);
	char *garbage = temp_file("this is not a kernel at all, not even close..", 45);

	cfg.kernel_path = "/nonexistent/vmlinuz";
	cr_assert_eq(boot_load(&mem, &cfg, &e), -ENOENT);
	cfg.kernel_path = "/tmp";
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EINVAL, "directory");
	cfg.kernel_path = empty;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -ENOEXEC);
	cfg.kernel_path = garbage;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -ENOEXEC);
	unlink(empty);
	unlink(garbage);
	free(empty);
	free(garbage);
}

Test(boot, initrd_errors)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;

	use_bzimage(&o);
	cfg = config();
	cfg.initrd_path = "/nonexistent/initrd";
	cr_assert_eq(boot_load(&mem, &cfg, &e), -ENOENT);

	/* 44 MiB + 1 byte: one page too many above the kernel's 20 MiB reservation. */
	char *big = temp_file("x", 1);
	cr_assert_eq(truncate(big, MIB(44) + 1), 0);
	cfg.initrd_path = big;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EFBIG);
	cr_assert_eq(truncate(big, MIB(44)), 0);
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0, "exact fit");
	cr_assert_eq(((const struct boot_params *)(ram + BOOT_PARAMS_ADDR))->hdr.ramdisk_image,
		     MIB(20));
	unlink(big);
	free(big);
}

Test(boot, kernel_too_big_for_ram)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;
	struct guest_mem small = {0};

	use_bzimage(&o);
	cfg = config();
	/* 1 MiB of RAM: the kernel cannot even start at its 1 MiB load address. */
	cr_assert_eq(guest_mem_add_region(&small, 0, ram, MIB(1)), 0);
	cr_assert_eq(boot_load(&small, &cfg, &e), -EFBIG, "init_size past RAM");
	o.init_size = MIB(60);
	unlink(kernel);
	free(kernel);
	use_bzimage(&o);
	cfg.kernel_path = kernel;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EFBIG, "16 MiB + 60 MiB > 64 MiB");
}

Test(boot, kernel_file_larger_than_ram)
{
	struct fake_elf o = fake_elf_default();
	struct boot_config cfg;
	struct boot_entry e;
	struct guest_mem tiny = {0};

	use_elf(&o);
	cfg = config();
	cr_assert_eq(guest_mem_add_region(&tiny, 0, ram, MIB(1)), 0);
	cr_assert_eq(truncate(kernel, MIB(1)), 0);
	cr_assert_eq(boot_load(&tiny, &cfg, &e), -EFBIG);
}

Test(boot, cmdline_limits)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;

	o.cmdline_size = 16;
	use_bzimage(&o);
	cfg = config();
	cfg.cmdline = "0123456789abcdef";
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0, "16 bytes + NUL fit cmdline_size 16");
	cfg.cmdline = "0123456789abcdefg";
	cr_assert_eq(boot_load(&mem, &cfg, &e), -E2BIG);

	/* PVH: only our 64 KiB buffer limits it. */
	struct fake_elf eo = fake_elf_default();
	unlink(kernel);
	free(kernel);
	use_elf(&eo);
	cfg.kernel_path = kernel;
	char *line = malloc(BOOT_CMDLINE_MAX + 1);
	memset(line, 'a', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = 0;
	cfg.cmdline = line;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -E2BIG);
	line[BOOT_CMDLINE_MAX - 1] = 0;
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	cr_assert_eq(ram[BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX - 1], 0);
	free(line);
}

Test(boot, bad_cpu_count_and_irqs)
{
	struct fake_bz o = fake_bz_default();
	struct boot_config cfg;
	struct boot_entry e;

	use_bzimage(&o);
	cfg = config();
	cfg.machine = describe(0);
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EINVAL, "no CPU");
	cfg.machine = describe(1);
	mach.virtio_mmio[0] = (struct machine_mmio_dev){VIRTIO_MMIO_BASE, KIB(4), {40, 1, 0}};
	mach.nvirtio_mmio = 1;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EINVAL, "a pin the IOAPIC lacks");
	cfg.machine = NULL;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EINVAL, "no machine description");
	cr_assert_eq(ram[0x100000], FILL_BYTE, "failed before loading anything");
}

Test(boot, elf_without_pvh_note)
{
	struct fake_elf o = fake_elf_default();
	struct boot_config cfg;
	struct boot_entry e;

	o.note = 0;
	use_elf(&o);
	cfg = config();
	cr_assert_eq(boot_load(&mem, &cfg, &e), -ENOEXEC);
}

Test(boot, pvh_initrd_must_fit_above_the_kernel)
{
	struct fake_elf o = fake_elf_default();
	struct boot_config cfg;
	struct boot_entry e;
	char *big = temp_file("x", 1);

	use_elf(&o);
	cfg = config();
	cr_assert_eq(truncate(big, FAKE_RAM_SIZE - FAKE_ELF_PADDR - FAKE_ELF_MEMSZ + 1), 0);
	cfg.initrd_path = big;
	cr_assert_eq(boot_load(&mem, &cfg, &e), -EFBIG);
	unlink(big);
	free(big);
}

/* boot_files_open(): the kernel read and its format checked, the initrd opened, before the VM
 * exists; nothing is written to guest RAM and nothing stays open on failure. */
Test(boot, files_open_checks_without_writing)
{
	struct fake_elf o = fake_elf_default();
	struct boot_files f;

	use_elf(&o);
	cr_assert_eq(boot_files_open(&f, &mem, kernel, initrd), 0);
	cr_assert_not_null(f.kernel);
	cr_assert_geq(f.initrd_fd, 0);
	cr_assert_eq(f.initrd_size, INITRD_SIZE);
	cr_assert_eq(ram[FAKE_ELF_PADDR + 1], FILL_BYTE, "checked, not loaded");
	boot_files_close(&f);
	cr_assert_null(f.kernel);
	cr_assert_eq(f.initrd_fd, -1);
}

Test(boot, files_open_errors)
{
	struct fake_elf o = fake_elf_default();
	struct boot_files f;
	char *empty = temp_file("", 0);
	char *garbage = temp_file("this is not a kernel at all, not even close..", 45);
	size_t len;
	uint8_t *img = fake_elf(&o, &len);
	char *truncated = temp_file(img, 100); /* the program headers run past the end */

	free(img);
	use_elf(&o);
	cr_assert_eq(boot_files_open(&f, &mem, "/nonexistent/vmlinuz", NULL), -ENOENT);
	cr_assert_eq(boot_files_open(&f, &mem, "/tmp", NULL), -EINVAL, "directory");
	cr_assert_eq(boot_files_open(&f, &mem, "/dev/zero", NULL), -EINVAL, "device");
	cr_assert_eq(boot_files_open(&f, &mem, empty, NULL), -ENOEXEC);
	cr_assert_eq(boot_files_open(&f, &mem, garbage, NULL), -ENOEXEC);
	cr_assert_eq(boot_files_open(&f, &mem, truncated, NULL), -ENOEXEC);
	cr_assert_eq(boot_files_open(&f, &mem, kernel, "/nonexistent/initrd"), -ENOENT);
	cr_assert_eq(boot_files_open(&f, &mem, kernel, "/tmp"), -EINVAL, "initrd directory");
	char *huge = temp_file("", 0);
	cr_assert_eq(truncate(huge, FAKE_RAM_SIZE + 1), 0);
	cr_assert_eq(boot_files_open(&f, &mem, kernel, huge), -EFBIG, "initrd larger than RAM");
	unlink(huge);
	free(huge);
	cr_assert_null(f.kernel, "nothing left on failure");
	cr_assert_eq(f.initrd_fd, -1);
	for (char **p = (char *[]){empty, garbage, truncated, NULL}; *p; p++) {
		unlink(*p);
		free(*p);
	}
}

/* Without the RAM (the API's PUT /boot-source, before the memory size is final) the files and
 * the format are checked, their fit in RAM is left for the start; a FIFO is refused at once
 * instead of waiting for a writer. */
Test(boot, files_open_without_ram)
{
	struct fake_elf o = fake_elf_default();
	struct boot_files f;
	struct guest_mem small = {0};
	static uint8_t page[4096];
	char *huge = temp_file("", 0);
	char *fifo = temp_file("", 0);

	use_elf(&o);
	cr_assert_eq(guest_mem_add_region(&small, 0, page, sizeof(page)), 0);
	cr_assert_eq(boot_files_open(&f, &small, kernel, NULL), -EFBIG, "does not fit 4 KiB");
	cr_assert_eq(boot_files_open(&f, NULL, kernel, NULL), 0);
	boot_files_close(&f);
	cr_assert_eq(truncate(huge, FAKE_RAM_SIZE + 1), 0);
	cr_assert_eq(boot_files_open(&f, NULL, kernel, huge), 0, "an initrd of any size");
	boot_files_close(&f);
	cr_assert_eq(boot_files_open(&f, NULL, "/nonexistent/vmlinuz", NULL), -ENOENT);
	cr_assert_eq(boot_files_open(&f, NULL, kernel, "/tmp"), -EINVAL);
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(boot_files_open(&f, NULL, fifo, NULL), -EINVAL, "a FIFO, without waiting");
	cr_assert_eq(boot_files_open(&f, NULL, kernel, fifo), -EINVAL);
	for (char **p = (char *[]){huge, fifo, NULL}; *p; p++) {
		unlink(*p);
		free(*p);
	}
}

/* The files opened beforehand are what boot_load() loads: the paths are gone by then. */
Test(boot, load_uses_the_opened_files)
{
	struct fake_bz o = fake_bz_default();
	struct boot_files f;
	struct boot_entry e;

	use_bzimage(&o);
	cr_assert_eq(boot_files_open(&f, &mem, kernel, initrd), 0);
	unlink(kernel);
	unlink(initrd);
	struct boot_config cfg = config();
	cfg.files = &f;
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	cr_assert_eq(e.mode, BOOT_MODE_LINUX64);
	const struct boot_params *bp = (const void *)(ram + BOOT_PARAMS_ADDR);
	cr_assert_eq(bp->hdr.ramdisk_size, INITRD_SIZE);
	assert_initrd_at(bp->hdr.ramdisk_image);
	boot_files_close(&f);
}
