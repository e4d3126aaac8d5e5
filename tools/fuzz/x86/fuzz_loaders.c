/* libFuzzer target: the kernel loaders (loaders/loader_elf.c, loaders/x86/loader_bzimage.c) and the
 * whole boot_load() path (loaders/boot.c: MP table, command line, initrd, boot_params / PVH start
 * info) over fake guest RAM of a fuzzed size.
 *
 * Input: mode, RAM size, command line length, cpu count, initrd size and flags (9 bytes), the
 * command line, then the image. Mode 0 calls elf_load() on the image, 1 bzimage_parse() +
 * bzimage_load(), 2 and 3 boot_load() with the image (and a sparse initrd of the fuzzed size)
 * in memfds passed as /proc/self/fd/N.
 *
 * Invariants: on failure the direct loaders wrote nothing (RAM still all zero); on success the
 * reported ranges lie in RAM and the entry point inside a loaded segment / the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/layout.h"
#include "base/log.h"
#include "firmware/machine.h"
#include "loaders/boot.h"
#include "loaders/loader_elf.h"
#include "loaders/x86/loader_bzimage.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int kernel_fd = -1, initrd_fd = -1;
static char kernel_path[64], initrd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	kernel_fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	initrd_fd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	if (kernel_fd < 0 || initrd_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(kernel_path, sizeof(kernel_path), "/proc/self/fd/%d", kernel_fd);
	snprintf(initrd_path, sizeof(initrd_path), "/proc/self/fd/%d", initrd_fd);
	return 0;
}

static bool all_zero(const struct fz_mem *m)
{
	static const uint8_t zeros[4096];
	for (int i = 0; i < m->n; i++)
		for (uint64_t off = 0; off < m->size[i]; off += sizeof(zeros)) {
			uint64_t n =
			    m->size[i] - off < sizeof(zeros) ? m->size[i] - off : sizeof(zeros);
			if (memcmp(m->host[i] + off, zeros, n))
				return false;
		}
	return true;
}

static void run_elf(struct fz_mem *m, const uint8_t *img, size_t len)
{
	struct elf_kernel k;
	int r = elf_load(&m->mem, img, len, "fuzz.elf", &k);
	if (r) {
		FZ_ASSERT(r == -ENOEXEC || r == -EFBIG, "elf_load returned %d", r);
		FZ_ASSERT(all_zero(m), "elf_load failed (%d) after writing guest memory", r);
		return;
	}
	FZ_ASSERT(k.load_start >= KERNEL_LOAD_ADDR && k.load_start <= k.load_end,
		  "load range [%#llx, %#llx)", (unsigned long long)k.load_start,
		  (unsigned long long)k.load_end);
	FZ_ASSERT(guest_mem_valid(&m->mem, k.load_start, k.load_end - k.load_start) ||
		      m->mem.nregions > 1,
		  "loaded range not RAM");
}

static void run_bzimage(struct fz_mem *m, const uint8_t *img, size_t len)
{
	struct bzimage bz;
	int r = bzimage_parse(img, len, "fuzz.bzImage", &bz);
	if (r) {
		FZ_ASSERT(r == -ENOEXEC, "bzimage_parse returned %d", r);
		return;
	}
	FZ_ASSERT(bz.kernel > img && bz.kernel_size <= len &&
		      (size_t)(bz.kernel - img) <= len - bz.kernel_size,
		  "kernel outside the image");
	FZ_ASSERT(bz.entry64 == bz.load_addr + BZIMAGE_ENTRY64_OFFSET &&
		      bz.reserved_end >= bz.load_addr + bz.kernel_size,
		  "bzImage geometry");
	r = bzimage_load(&m->mem, &bz, "fuzz.bzImage");
	if (r) {
		FZ_ASSERT(r == -EFBIG, "bzimage_load returned %d", r);
		FZ_ASSERT(all_zero(m), "bzimage_load failed after writing guest memory");
		return;
	}
	FZ_ASSERT(!memcmp(guest_mem_ptr(&m->mem, bz.load_addr, bz.kernel_size), bz.kernel,
			  bz.kernel_size),
		  "kernel not copied");
}

static void put_file(int fd, const void *buf, size_t len, uint64_t size)
{
	if (ftruncate(fd, 0) || (len && pwrite(fd, buf, len, 0) != (ssize_t)len) ||
	    ftruncate(fd, (off_t)size)) {
		perror("fuzz_loaders: memfd");
		abort();
	}
}

static void run_boot(struct fz_mem *m, const uint8_t *img, size_t len, const char *cmdline,
		     int ncpus, uint64_t initrd_size, bool with_initrd, struct fz_in *in)
{
	/* The machine description the MP table and memory maps come from: fuzzed vCPU count
	 * (written directly, so out-of-range counts reach the generators) and virtio-mmio
	 * windows on fuzzed pins. */
	static struct machine mach;
	machine_init(&mach);
	machine_add_guest_ram(&mach, &m->mem);
	mach.ncpus = ncpus < 0 ? ncpus : ncpus > MACHINE_MAX_CPUS ? MACHINE_MAX_CPUS : ncpus;
	for (int i = 0; i < mach.ncpus; i++)
		mach.cpu_ids[i] = (uint32_t)i;
	machine_set_arch_intc(&mach);
	int nirqs = fz_u8(in) % 5;
	for (int i = 0; i < nirqs; i++)
		mach.virtio_mmio[mach.nvirtio_mmio++] = (struct machine_mmio_dev){
		    VIRTIO_MMIO_BASE, KIB(4), {fz_u8(in), fz_u8(in) & 1, fz_u8(in) & 1}};
	put_file(kernel_fd, img, len, len);
	put_file(initrd_fd, NULL, 0, initrd_size);
	struct boot_config cfg = {
	    .kernel_path = kernel_path,
	    .initrd_path = with_initrd ? initrd_path : NULL,
	    .cmdline = cmdline,
	    .machine = &mach,
	};
	struct boot_entry e;
	int r = boot_load(&m->mem, &cfg, &e);
	if (r) {
		FZ_ASSERT(r < 0 && r > -4096, "boot_load returned %d", r);
		return;
	}
	FZ_ASSERT(guest_mem_valid(&m->mem, e.boot_info, 1), "boot info outside RAM");
	FZ_ASSERT(e.mode == BOOT_MODE_LINUX64 || e.mode == BOOT_MODE_PVH32, "boot mode");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct fz_mem m = {.no_shadow = true};
	uint8_t mode = fz_u8(&in), ram = fz_u8(&in), cmdlen = fz_u8(&in), cpus = fz_u8(&in);
	uint32_t initrd = fz_u32(&in);
	uint8_t flags = fz_u8(&in);
	char cmdline[256];
	fz_bytes(&in, cmdline, cmdlen);
	cmdline[cmdlen] = '\0';
	size_t len;
	const uint8_t *img = fz_take(&in, fz_left(&in), &len);

	/* Low RAM from 0: 640 KiB (too small for any kernel) to 2.5 MiB, 4 KiB granular, and
	 * sometimes a high region at 4 GiB (as guest_mem_alloc() lays RAM around the hole). */
	uint64_t low = ram & 0x80 ? 640 * 1024 + (ram & 0x7f) * 4096ull
				  : 1024 * 1024 + (ram & 0x7f) * 12288ull;
	if (fz_mem_add(&m, 0, low, 0) ||
	    (flags & 1 && fz_mem_add(&m, HIGH_RAM_START, 64 * 1024, 0)))
		goto out;
	/* The initrd: small (read into RAM) or of any size (a sparse file). */
	uint64_t initrd_size = flags & 2 ? initrd : initrd % 65536;
	int ncpus = flags & 4 ? (int8_t)cpus : 1 + cpus % 64;
	switch (mode % 4) {
	case 0:
		run_elf(&m, img, len);
		break;
	case 1:
		run_bzimage(&m, img, len);
		break;
	default:
		run_boot(&m, img, len, cmdline, ncpus, initrd_size, flags & 8, &in);
		break;
	}
out:
	fz_mem_free(&m);
	return 0;
}
