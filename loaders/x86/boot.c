/* x86's boot (loaders/boot.h's boot_load()): a bzImage through the zero page (Linux's boot.rst,
 * 64-bit entry) or an ELF with a Xen PVH note through hvm_start_info (32-bit entry), with the MP
 * table, the command line at BOOT_CMDLINE_ADDR and, when asked for, the ACPI tables and the
 * device tree (a SETUP_DTB setup_data entry, or PVH's module after the initrd). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "firmware/acpi/acpi.h"
#include "firmware/x86/boot_params.h"
#include "firmware/x86/machine_x86.h"
#include "firmware/x86/pvh.h"
#include "loaders/boot.h"
#include "loaders/boot_arch.h"
#include "loaders/loader_elf.h"
#include "loaders/x86/loader_bzimage.h"

const char boot_kernel_usage[] =
    "  -k, --kernel PATH     kernel to boot (x86_64): a Linux bzImage (64-bit boot\n"
    "                        protocol) or any ELF with a Xen PVH note (vmlinux, the test\n"
    "                        guests)\n"
    "  -i, --initrd PATH     initial ramdisk (bzImage: in boot_params; PVH: module 0)\n";

int boot_arch_check_kernel(const struct guest_mem *mem, const uint8_t *img, size_t len,
			   const char *path, uint64_t *cmdline_max)
{
	struct elf_kernel k;
	struct bzimage bz;
	int err;

	*cmdline_max = BOOT_CMDLINE_MAX - 1;
	if (elf_detect(img, len))
		return elf_check(mem, img, len, path, &k);
	if (bzimage_detect(img, len)) {
		err = bzimage_parse(img, len, path, &bz);
		if (!err && bz.hdr.cmdline_size < *cmdline_max)
			*cmdline_max = bz.hdr.cmdline_size; /* as write_cmdline() will check */
		return err;
	}
	log_error("kernel %s: neither a bzImage nor an ELF file", path);
	return -ENOEXEC;
}

/* Checks the command line against our buffer and the kernel's limit (`max_len` bytes without
 * the NUL), then writes it at BOOT_CMDLINE_ADDR. */
static int write_cmdline(struct guest_mem *mem, const char *cmdline, uint64_t max_len,
			 const char *kernel)
{
	const char *s = cmdline ? cmdline : "";
	uint64_t len = strlen(s);

	if (max_len > BOOT_CMDLINE_MAX - 1)
		max_len = BOOT_CMDLINE_MAX - 1;
	if (len > max_len) {
		log_error("command line is %llu bytes; kernel %s accepts at most %llu",
			  (unsigned long long)len, kernel, (unsigned long long)max_len);
		return -E2BIG;
	}
	if (guest_mem_write(mem, BOOT_CMDLINE_ADDR, s, len + 1)) {
		log_error("command line buffer at %#llx is not RAM", BOOT_CMDLINE_ADDR);
		return -EFAULT;
	}
	return 0;
}

/* The DTB as boot_params' setup_data list: one SETUP_DTB entry (boot.rst "setup_data"). */
static int load_dtb_setup_data(struct guest_mem *mem, struct machine *m, uint64_t floor,
			       uint64_t limit, uint64_t *list)
{
	uint64_t addr, size;
	int err = boot_load_dtb(mem, m, sizeof(struct setup_data), floor, limit, &addr, &size);

	if (err)
		return err;
	struct setup_data sd = {.next = 0, .type = SETUP_DTB, .len = (uint32_t)size};
	*list = addr;
	return guest_mem_write(mem, addr, &sd, sizeof(sd));
}

static int boot_bzimage(struct guest_mem *mem, const struct boot_config *cfg,
			const struct boot_files *f, struct boot_entry *out)
{
	const uint8_t *img = f->kernel;
	size_t len = f->kernel_len;
	struct bzimage bz;
	struct boot_params_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	uint64_t limit = boot_ram_end(mem);
	int err = bzimage_parse(img, len, cfg->kernel_path, &bz);

	if (!err)
		err = write_cmdline(mem, cfg->cmdline, bz.hdr.cmdline_size, cfg->kernel_path);
	if (!err)
		err = bzimage_load(mem, &bz, cfg->kernel_path);
	if (err)
		return err;
	/* boot.rst: initrd_addr_max is the highest address the initrd may occupy. */
	if ((uint64_t)bz.hdr.initrd_addr_max + 1 < limit)
		limit = (uint64_t)bz.hdr.initrd_addr_max + 1;
	err =
	    boot_load_initrd(mem, f, bz.reserved_end, limit, &info.initrd_addr, &info.initrd_size);
	if (!err)
		err = machine_set_initrd(cfg->machine, info.initrd_addr, info.initrd_size);
	if (!err && cfg->dtb)
		err = load_dtb_setup_data(mem, cfg->machine, bz.reserved_end,
					  info.initrd_size ? info.initrd_addr : limit,
					  &info.setup_data);
	if (!err)
		err = boot_params_write(mem, cfg->machine, BOOT_PARAMS_ADDR, &bz.hdr, &info);
	if (!err)
		*out = (struct boot_entry){BOOT_MODE_LINUX64, bz.entry64, BOOT_PARAMS_ADDR};
	return err;
}

static int boot_pvh(struct guest_mem *mem, const struct boot_config *cfg,
		    const struct boot_files *f, struct boot_entry *out)
{
	const uint8_t *img = f->kernel;
	size_t len = f->kernel_len;
	struct elf_kernel k;
	struct pvh_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	int err = elf_load(mem, img, len, cfg->kernel_path, &k);

	if (!err)
		err = write_cmdline(mem, cfg->cmdline, BOOT_CMDLINE_MAX, cfg->kernel_path);
	if (!err)
		err = boot_load_initrd(mem, f, k.load_end, boot_ram_end(mem), &info.initrd_addr,
				       &info.initrd_size);
	if (!err)
		err = machine_set_initrd(cfg->machine, info.initrd_addr, info.initrd_size);
	if (!err && cfg->dtb)
		err = boot_load_dtb(mem, cfg->machine, 0, k.load_end,
				    info.initrd_size ? info.initrd_addr : boot_ram_end(mem),
				    &info.dtb_addr, &info.dtb_size);
	if (!err)
		err = pvh_write(mem, cfg->machine, &info);
	if (!err)
		*out = (struct boot_entry){BOOT_MODE_PVH32, k.entry32, PVH_START_INFO_ADDR};
	return err;
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *out)
{
	struct boot_files own;
	const struct boot_files *f = cfg->files;
	int err;

	memset(out, 0, sizeof(*out));
	/* The MP table first: a bad CPU count fails before any file is read. */
	if (!cfg->machine)
		return -EINVAL;
	err = machine_write_mptable(cfg->machine, mem, MPTABLE_ADDR);
	if (!err && cfg->acpi)
		err = machine_write_acpi(cfg->machine, mem);
	if (err)
		return err;
	if (!f) {
		err = boot_files_open(&own, mem, cfg->kernel_path, cfg->initrd_path);
		if (err)
			return err;
		f = &own;
	}
	if (elf_detect(f->kernel, f->kernel_len))
		err = boot_pvh(mem, cfg, f, out);
	else if (bzimage_detect(f->kernel, f->kernel_len))
		err = boot_bzimage(mem, cfg, f, out);
	else {
		log_error("kernel %s: neither a bzImage nor an ELF file", f->kernel_path);
		err = -ENOEXEC;
	}
	if (f == &own)
		boot_files_close(&own);
	return err;
}
