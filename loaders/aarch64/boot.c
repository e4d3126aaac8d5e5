/* aarch64's boot (loaders/boot.h's boot_load()): a Linux arm64 Image at KERNEL_LOAD_ADDR plus its
 * text_offset, the initrd above it, and the device tree, which carries the command line, the
 * initrd's place and the whole machine, in the last 2 MiB of RAM (booting.rst: at most 2 MiB,
 * 8-byte aligned, in a 2 MiB region of its own). The boot vCPU enters the Image's first byte
 * with the tree's address in x0 (vmm/vm/aarch64/vm_arch.c). No ACPI tables yet: the tree
 * describes everything. */
#include <errno.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "loaders/aarch64/loader_image.h"
#include "loaders/boot.h"
#include "loaders/boot_arch.h"

#define DTB_REGION MIB(2)

const char boot_kernel_usage[] =
    "  -k, --kernel PATH     kernel to boot (aarch64): a Linux arm64 Image (uncompressed;\n"
    "                        Debian's /boot/vmlinuz-*-arm64 is one)\n"
    "  -i, --initrd PATH     initial ramdisk (its place in the device tree's /chosen)\n";

int boot_arch_check_kernel(const struct guest_mem *mem, const uint8_t *img, size_t len,
			   const char *path, uint64_t *cmdline_max)
{
	struct arm64_image im;
	*cmdline_max = BOOT_CMDLINE_MAX - 1;
	int err = arm64_image_parse(img, len, path, &im);
	if (!err && mem &&
	    KERNEL_LOAD_ADDR + im.text_offset + im.image_size + DTB_REGION > boot_ram_end(mem)) {
		log_error("kernel %s: %llu bytes do not fit in guest RAM with the device tree",
			  path, (unsigned long long)im.image_size);
		err = -EFBIG;
	}
	return err;
}

static int load_image(struct guest_mem *mem, const struct boot_files *f, const char *path,
		      uint64_t *entry, uint64_t *end)
{
	struct arm64_image im;
	int err = arm64_image_parse(f->kernel, f->kernel_len, path, &im);
	if (err)
		return err;
	*entry = KERNEL_LOAD_ADDR + im.text_offset;
	*end = *entry + im.image_size;
	if (guest_mem_write(mem, *entry, f->kernel, f->kernel_len)) {
		log_error("kernel %s: %zu bytes at %#llx are not guest RAM", path, f->kernel_len,
			  (unsigned long long)*entry);
		return -EFBIG;
	}
	return 0;
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *out)
{
	struct boot_files own;
	const struct boot_files *f = cfg->files;
	memset(out, 0, sizeof(*out));
	if (!cfg->machine)
		return -EINVAL;
	int err = 0;
	if (!f) {
		err = boot_files_open(&own, mem, cfg->kernel_path, cfg->initrd_path);
		if (err)
			return err;
		f = &own;
	}
	uint64_t end = boot_ram_end(mem);
	uint64_t entry = 0, kernel_end = 0, initrd = 0, initrd_size = 0, dtb = 0, dtb_size = 0;
	err = load_image(mem, f, cfg->kernel_path, &entry, &kernel_end);
	if (!err)
		err = boot_load_initrd(mem, f, kernel_end, end - DTB_REGION, &initrd, &initrd_size);
	if (!err)
		err = machine_set_initrd(cfg->machine, initrd, initrd_size);
	if (!err)
		err = boot_load_dtb(mem, cfg->machine, 0, end - DTB_REGION, end, &dtb, &dtb_size);
	if (!err)
		*out = (struct boot_entry){BOOT_MODE_ARM64_IMAGE, entry, dtb};
	if (f == &own)
		boot_files_close(&own);
	return err;
}
