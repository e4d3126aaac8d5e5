/* --firmware with --kernel: the kernel, initrd and command line in fw_cfg, as QEMU gives them to
 * a firmware for -kernel (hw/i386/x86.c, x86_load_linux()), and the boot order that runs them.
 * SeaBIOS boots them through our option ROM (loaders/x86/linuxboot_rom.h) at the addresses
 * chosen here; OVMF reads the same items itself (its QemuKernelLoaderFsDxe) and ignores the
 * addresses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/layout.h"
#include "base/log.h"
#include "devices/fw_cfg/fw_cfg.h"
#include "devices/fw_cfg/fw_cfg_machine.h"
#include "loaders/boot.h"
#include "loaders/x86/linuxboot_rom.h"
#include "loaders/x86/loader_bzimage.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_firmware.h"

/* Where the pieces go (QEMU's choice for boot protocol 2.02+): the real-mode setup at 64 KiB,
 * its heap up to the command line at 128 KiB, the kernel at 1 MiB. */
#define SETUP_ADDR   0x10000u
#define CMDLINE_ADDR 0x20000u
#define HEAP_END_PTR (CMDLINE_ADDR - SETUP_ADDR - 0x200)
/* The initrd goes this far below the end of low RAM at least: the firmware keeps its own tables
 * (ACPI, SMBIOS, its high allocations) at the top of RAM below 4 GiB. */
#define INITRD_TOP_GAP MIB(4)

/* Setup header fields (Documentation/arch/x86/boot.rst) by offset in the image. */
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS	   0x211
#define HDR_RAMDISK_IMAGE  0x218
#define HDR_RAMDISK_SIZE   0x21c
#define HDR_HEAP_END_PTR   0x224
#define HDR_CMD_LINE_PTR   0x228
#define LOADER_UNDEFINED   0xff /* "no assigned ID": we have none */
/* CAN_USE_HEAP (loadflags bit 7) comes from <asm/bootparam.h> */

static void put_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads the whole initrd (the firmware copies it out of fw_cfg). NULL with *len 0: none. */
static int read_initrd(const struct boot_files *bf, uint8_t **out, uint32_t *len)
{
	*out = NULL;
	*len = 0;
	if (bf->initrd_fd < 0 || bf->initrd_size == 0)
		return 0;
	if (bf->initrd_size > UINT32_MAX) {
		log_error("initrd %s: larger than 4 GiB, which fw_cfg cannot carry",
			  bf->initrd_path);
		return -EFBIG;
	}
	uint8_t *buf = malloc(bf->initrd_size);
	if (!buf)
		return -ENOMEM;
	for (uint64_t done = 0; done < bf->initrd_size;) {
		ssize_t n = pread(bf->initrd_fd, buf + done, bf->initrd_size - done, (off_t)done);
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			int err = n < 0 ? -errno : -EIO;
			log_error("initrd %s: %s", bf->initrd_path, strerror(-err));
			free(buf);
			return err;
		}
		done += n > 0 ? (uint64_t)n : 0;
	}
	*out = buf;
	*len = (uint32_t)bf->initrd_size;
	return 0;
}

/* As high as it fits below the end of low RAM less the firmware's gap and the kernel's
 * initrd_addr_max, page aligned; 0 when it does not fit above the kernel. */
static uint32_t initrd_addr(const struct bzimage *bz, uint64_t low_end, uint32_t len)
{
	uint64_t top = low_end > INITRD_TOP_GAP ? low_end - INITRD_TOP_GAP : 0;
	uint64_t max = bz->hdr.initrd_addr_max ? (uint64_t)bz->hdr.initrd_addr_max + 1 : 0;

	if (max && max < top)
		top = max;
	if (top < len || ((top - len) & ~0xfffULL) < bz->reserved_end)
		return 0;
	return (uint32_t)((top - len) & ~0xfffULL);
}

/* RAM below the MMIO hole (base/layout.h): the region at 0. */
static uint64_t low_ram(const struct guest_mem *mem)
{
	return mem->ram_size < MMIO_HOLE_START ? mem->ram_size : MMIO_HOLE_START;
}

/* The setup sectors with the header filled in as a boot loader does. */
static uint8_t *patched_setup(const struct boot_files *bf, const struct bzimage *bz,
			      uint32_t initrd_at, uint32_t initrd_len, uint32_t *len)
{
	*len = (uint32_t)(bz->kernel - bf->kernel);
	uint8_t *s = malloc(*len);
	if (!s)
		return NULL;
	memcpy(s, bf->kernel, *len);
	s[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	s[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put_le(s + HDR_HEAP_END_PTR, HEAP_END_PTR, 2);
	put_le(s + HDR_CMD_LINE_PTR, CMDLINE_ADDR, 4);
	put_le(s + HDR_RAMDISK_IMAGE, initrd_at, 4);
	put_le(s + HDR_RAMDISK_SIZE, initrd_len, 4);
	return s;
}

static int add_items(struct vm *vm, struct fw_cfg *c, const struct bzimage *bz)
{
	const struct boot_files *bf = &vm->boot;
	uint8_t *initrd, *setup = NULL;
	uint32_t initrd_len, setup_len, at = 0;
	int err = read_initrd(bf, &initrd, &initrd_len);

	if (!err && initrd && !(at = initrd_addr(bz, low_ram(&vm->mem), initrd_len))) {
		log_error("initrd %s: %u bytes do not fit in low RAM above the kernel",
			  bf->initrd_path, initrd_len);
		err = -EFBIG;
	}
	if (!err && !(setup = patched_setup(bf, bz, at, initrd_len, &setup_len)))
		err = -ENOMEM;
	if (!err) {
		struct fw_cfg_direct_boot b = {
		    .setup = setup,
		    .setup_len = setup_len,
		    .setup_addr = SETUP_ADDR,
		    .kernel = bz->kernel,
		    .kernel_len = (uint32_t)bz->kernel_size,
		    .kernel_addr = (uint32_t)bz->load_addr,
		    .initrd = initrd,
		    .initrd_len = initrd_len,
		    .initrd_addr = at,
		    .cmdline = vm->cmdline,
		    .cmdline_addr = CMDLINE_ADDR,
		};
		err = fw_cfg_add_direct_boot(c, &b);
	}
	free(setup);
	free(initrd);
	return err;
}

int vm_firmware_add_boot(struct vm *vm, struct fw_cfg *c)
{
	struct bzimage bz;
	uint8_t rom[LINUXBOOT_ROM_SIZE];
	const char *order[] = {LINUXBOOT_ROM_BOOTPATH};
	int err;

	if (!vm->cfg->kernel)
		return 0;
	if (!bzimage_detect(vm->boot.kernel, vm->boot.kernel_len)) {
		log_error("--kernel %s: a firmware boots a bzImage, and this is not one (an ELF "
			  "kernel boots without --firmware)",
			  vm->cfg->kernel);
		return -ENOEXEC;
	}
	if (bzimage_parse(vm->boot.kernel, vm->boot.kernel_len, vm->cfg->kernel, &bz))
		return -ENOEXEC; /* logged */
	err = add_items(vm, c, &bz);
	linuxboot_rom(rom);
	if (!err) {
		int key = fw_cfg_add_file(c, LINUXBOOT_ROM_NAME, rom, sizeof(rom), false);
		err = key < 0 ? key : 0;
	}
	if (!err)
		err = fw_cfg_add_bootorder(c, order, 1);
	boot_files_close(&vm->boot); /* in fw_cfg now */
	return err;
}
