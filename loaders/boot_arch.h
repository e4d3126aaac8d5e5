/* Between the generic part of a boot (loaders/boot_files.c) and the architecture's loader
 * (loaders/<arch>/boot.c, which implements loaders/boot.h's boot_load()): what each calls of the
 * other. Only the loaders include it. */
#ifndef VMM_LOADERS_BOOT_ARCH_H
#define VMM_LOADERS_BOOT_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "firmware/machine.h"
#include "loaders/boot.h"

/* The architecture's: the kernel image's format, checked as far as it can be without the
 * machine (x86: an ELF's headers, notes and segments against `mem`, which may be NULL, or a
 * bzImage's setup header), and the longest command line it takes in *cmdline_max. Returns 0 or
 * -errno with one log_error() line (-ENOEXEC: no format it boots). */
int boot_arch_check_kernel(const struct guest_mem *mem, const uint8_t *img, size_t len,
			   const char *path, uint64_t *cmdline_max);

/* The end of the RAM range holding KERNEL_LOAD_ADDR (x86's low RAM; aarch64's whole RAM: the
 * virtio-mem and pmem ranges come after it), 0 when that address is not RAM. */
uint64_t boot_ram_end(const struct guest_mem *mem);

/* Reads exactly `len` bytes of `fd` (`path` for messages); a file that shrank since fstat() is
 * an I/O error. Returns 0 or -errno (logged). */
int boot_read_all(int fd, const char *path, void *dst, uint64_t len);

/* Reads the initrd of `f` straight into guest RAM, page aligned and as high as possible in
 * [floor, limit); *addr 0 and *size 0 without one (an empty initrd is none). Returns 0, or
 * -EFBIG when it does not fit, or -errno of the read (logged). */
int boot_load_initrd(struct guest_mem *mem, const struct boot_files *f, uint64_t floor,
		     uint64_t limit, uint64_t *addr, uint64_t *size);

/* Builds the device tree of `m` and writes it `head` bytes after *addr, which is page aligned and
 * as high as possible with the whole [*addr, + head + DTB) inside [floor, limit); *size is the
 * tree's. The caller writes the `head` bytes (x86: a setup_data header). Returns 0 or -errno
 * (logged). */
int boot_load_dtb(struct guest_mem *mem, struct machine *m, uint64_t head, uint64_t floor,
		  uint64_t limit, uint64_t *addr, uint64_t *size);

#endif
