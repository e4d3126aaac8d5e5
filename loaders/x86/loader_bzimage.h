/* bzImage parsing and loading, Documentation/arch/x86/boot.rst.
 *
 * We enter the kernel at its 64-bit entry point (load address + 0x200, "64-bit Boot Protocol"),
 * so the image must advertise it: boot protocol >= 2.12 (the first with xloadflags, Linux 3.8)
 * and XLF_KERNEL_64 set. That also guarantees init_size and pref_address (2.10) and
 * cmdline_size (2.06). */
#ifndef VMM_LOADER_BZIMAGE_H
#define VMM_LOADER_BZIMAGE_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define BZIMAGE_MIN_VERSION    0x020C
#define BZIMAGE_HDR_OFFSET     0x1F1
#define BZIMAGE_MAGIC_OFFSET   0x202 /* "HdrS" */
#define BZIMAGE_ENTRY64_OFFSET 0x200

struct bzimage {
	struct setup_header hdr; /* copied from the image, zero past the header's own end */
	const uint8_t *kernel;	 /* protected-mode kernel inside the caller's buffer */
	uint64_t kernel_size;
	uint64_t load_addr; /* where the protected-mode kernel goes: KERNEL_LOAD_ADDR */
	uint64_t entry64;   /* load_addr + 0x200 */
	/* End of the memory the kernel needs before it reads the memory map: the loaded image or
	 * [runtime start, + init_size) where it decompresses, whichever ends later. */
	uint64_t reserved_end;
};

/* True when `buf` looks like a bzImage ("HdrS" at 0x202); says nothing about validity. */
int bzimage_detect(const void *buf, size_t len);

/* Validates the image in `buf` (every size against `len`, overflow-checked) and fills `out`;
 * `out->kernel` points into `buf`. Returns 0 or -ENOEXEC (not a bzImage, truncated, protocol
 * too old, no 64-bit entry), with a log_error() naming `name` and the problem. */
int bzimage_parse(const void *buf, size_t len, const char *name, struct bzimage *out);

/* Copies the protected-mode kernel to out->load_addr after checking that [load_addr,
 * reserved_end) is RAM. Returns 0 or -EFBIG (kernel or its init_size does not fit in RAM). */
int bzimage_load(struct guest_mem *mem, const struct bzimage *bz, const char *name);

#endif
