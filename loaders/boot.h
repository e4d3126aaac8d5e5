/* Puts a kernel and everything it reads at boot into guest memory: the kernel image (bzImage
 * or PVH ELF), initrd, command line, memory map, MP table and the boot-info block for the mode.
 * No KVM calls: the result is data (guest memory + struct boot_entry) for boot_cpu_setup(). */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "firmware/machine.h"

enum boot_mode {
	BOOT_MODE_LINUX64,     /* bzImage, 64-bit entry, RSI = zero page */
	BOOT_MODE_PVH32,       /* ELF with a Xen PVH note, 32-bit entry, EBX = hvm_start_info */
	BOOT_MODE_ARM64_IMAGE, /* arm64 Image, EL1 entry, x0 = the device tree */
};

/* The files of a boot, opened and checked before the VM exists (boot_files_open()), so that
 * what the user gave is judged before KVM is touched and read once. */
struct boot_files {
	const char *kernel_path, *initrd_path; /* for messages (the caller's strings) */
	uint8_t *kernel;		       /* the whole kernel image (malloc'd) */
	size_t kernel_len;
	int initrd_fd; /* -1: no initrd */
	uint64_t initrd_size;
	uint64_t cmdline_max; /* the longest command line the kernel takes (bytes, no NUL) */
};

/* Reads the kernel (a regular, non-empty file no larger than `mem`'s RAM, a bzImage or an ELF
 * with the PVH note whose segments fit `mem`) and opens the initrd (a regular file; NULL: none).
 * `mem` NULL: the RAM is not known yet (the API's PUT /boot-source, before the machine's
 * size is final), so what depends on it is left for the call with the VM's memory: the files
 * and the kernel's format are checked, their fit in RAM is not. Returns 0 or -errno with one
 * log_error() line, like boot_load(); nothing is left open on failure. boot_files_close() frees
 * it all. */
int boot_files_open(struct boot_files *f, const struct guest_mem *mem, const char *kernel,
		    const char *initrd);
void boot_files_close(struct boot_files *f);

/* The user's command line `cmdline` (NULL: empty) against what the kernel of `f` accepts (a
 * bzImage's cmdline_size, else BOOT_CMDLINE_MAX - 1; `f` NULL or without a kernel, as for a
 * restore: BOOT_CMDLINE_MAX - 1), before KVM is opened. Returns 0 or -E2BIG with one
 * log_error() line. The virtio-mmio entries the VMM adds are checked once the devices are
 * placed. */
int boot_check_cmdline(const struct boot_files *f, const char *cmdline);

struct boot_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: no initrd */
	/* The files opened beforehand (boot_files_open()); NULL: boot_load() opens kernel_path
	 * and initrd_path itself. */
	const struct boot_files *files;
	const char *cmdline; /* NULL: empty */
	/* The machine description (firmware/machine.h), required: the MP table, the e820 map,
	 * the PVH memory map and the device tree all come from it, and boot_load() records the
	 * initrd's place in it. */
	struct machine *machine;
	/* Also hand the guest its device tree (firmware/fdt.h), placed page
	 * aligned as high as possible below the initrd (or the initrd's limit) and above the
	 * kernel: bzImage through a SETUP_DTB setup_data entry, PVH as the module after the
	 * initrd. */
	bool dtb;
	/* Also write the ACPI tables (firmware/acpi/acpi.h) and hand the guest the RSDP's address
	 * (boot_params' acpi_rsdp_addr, PVH's rsdp_paddr). The MP table is written either way. */
	bool acpi;
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t entry;	    /* guest-physical entry point */
	uint64_t boot_info; /* zero page (LINUX64), hvm_start_info (PVH32), the DTB (ARM64_IMAGE) */
};

/* --kernel's and --initrd's lines of `vmm --help`: the formats this architecture boots. */
extern const char boot_kernel_usage[];

/* Initrd placement: page aligned, as high as possible below `limit` and at or above `floor`.
 * Returns the address or 0 when it does not fit. */
uint64_t boot_initrd_addr(uint64_t size, uint64_t floor, uint64_t limit);

/* Loads everything described by `cfg` into `mem` and says how to enter the kernel. The kernel
 * format is detected: ELF magic -> PVH, "HdrS" at 0x202 -> bzImage.
 * Returns 0 or -errno with one log_error() line naming the file and the problem:
 * -ENOENT/-EACCES/-EISDIR... (cannot read), -ENOEXEC (unknown format, malformed, not PVH),
 * -EFBIG (kernel or initrd does not fit in RAM), -E2BIG (command line too long), -EINVAL
 * (no machine, or one the MP table cannot express: bad cpu count or interrupt entry), -ENOSPC (MP
 * table or memory map does not fit), -ENOTSUP (dtb asked for, built without libfdt). */
int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *out);

#endif
