/* ELF kernel loader for the Xen PVH boot ABI: loads the PT_LOAD segments at their physical
 * addresses and finds the 32-bit entry point in the XEN_ELFNOTE_PHYS32_ENTRY note (Xen's
 * docs/misc/pvh.pandoc, xen/include/public/elfnote.h). ELFCLASS64 and ELFCLASS32 images for
 * x86 (EM_X86_64, EM_386) are accepted, ET_EXEC or ET_DYN (loaded as linked, not relocated). */
#ifndef VMM_LOADER_ELF_H
#define VMM_LOADER_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct elf_kernel {
	uint64_t entry32;    /* physical 32-bit PVH entry point */
	uint64_t load_start; /* lowest byte any PT_LOAD segment occupies */
	uint64_t load_end;   /* one past the highest (p_paddr + p_memsz) */
};

/* True when `buf` starts with the ELF magic; says nothing about validity. */
int elf_detect(const void *buf, size_t len);

/* Validates the image (headers, program headers and notes inside the file, segments with
 * p_filesz <= p_memsz, inside RAM, at or above 1 MiB so they spare the boot structures, no
 * overflow), requires the PVH note, then copies p_filesz bytes of each PT_LOAD segment to
 * p_paddr and zeroes the rest of p_memsz. Nothing is written unless every check passed.
 * Returns 0, -ENOEXEC (bad or truncated ELF, not a PVH kernel) or -EFBIG (segment outside RAM),
 * with a log_error() naming `name` and the problem. */
int elf_load(struct guest_mem *mem, const void *buf, size_t len, const char *name,
	     struct elf_kernel *out);

/* elf_load()'s checks alone, writing nothing: a kernel checked before the VM exists. `mem`
 * NULL: everything but the segments' place in RAM (not known yet). Same returns and log lines. */
int elf_check(const struct guest_mem *mem, const void *buf, size_t len, const char *name,
	      struct elf_kernel *out);

#endif
