/* Guest-physical memory: the one place that turns a guest address into a host pointer.
 *
 * Every access a device or loader makes to guest RAM goes through these functions. A range is
 * valid only when it lies entirely inside one RAM region; `gpa + len` is checked for overflow. */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2
/* Every RAM region guest_mem maps starts at a host address that is a multiple of this (a huge
 * page: guest_mem.c says why). */
#define GUEST_MEM_HOST_ALIGN (2u << 20)

struct guest_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size; /* bytes */
	uint8_t *host; /* host mapping of gpa */
	/* The file behind the mapping when another process may map it too (a vhost-user backend
	 * is handed fd and offset in SET_MEM_TABLE), else -1. */
	int fd;
	uint64_t fd_offset; /* file offset of the region's first byte */
};

/* The region of a virtio-mem device (vmm/vm/memhp.h): guest memory only where its blocks are
 * plugged. It is not RAM: it is in neither `regions` nor `ram_size`, the dirty bitmap, the page
 * numbering nor guest_mem_discard(). */
struct guest_hotplug {
	struct guest_region region; /* size 0: no such region */
	uint64_t block_size;
	uint64_t *plugged; /* one bit per block, changed atomically (device threads read it) */
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	int nregions;
	uint64_t ram_size; /* total bytes of RAM over all regions */
	bool owned;	   /* true when guest_mem_alloc() or _map_file() mmap'ed the regions */
	/* The regions are MAP_SHARED (a memfd or shared file): guest_mem_discard() must punch
	 * the pages out of the file (MADV_REMOVE), MADV_DONTNEED would only drop the mapping. Every
	 * mapping guest_mem makes itself is private; whoever adds a shared one sets this. */
	bool shared;
	/* Pages the VMM itself wrote (device models: used rings, buffers it filled), one bit per
	 * 4 KiB page of RAM in region order, set atomically; NULL while not tracking. KVM's dirty
	 * log sees only the guest's writes: a diff snapshot needs both. */
	uint64_t *dirty;
	struct guest_hotplug hotplug;
};

/* Lays out `ram_size` bytes of RAM around the 32-bit MMIO hole (layout.h) and maps it with
 * mmap(MAP_NORESERVE). Returns 0 or -errno (-EINVAL for a size of 0 or one that is not a
 * multiple of 4 KiB, or one past GUEST_RAM_MAX). */
int guest_mem_alloc(struct guest_mem *mem, uint64_t ram_size);

/* Lays out `ram_size` bytes of RAM exactly like guest_mem_alloc() but backs it with one memfd
 * (region 0 at file offset 0, region 1 right after it) mapped MAP_SHARED, so that another
 * process given the fd (a vhost-user backend) sees the very same pages. Each region records the
 * fd and its offset; `shared` is set; guest_mem_free() closes the memfd. Returns 0 or -errno
 * (the same -EINVAL cases as guest_mem_alloc()). */
int guest_mem_alloc_shared(struct guest_mem *mem, uint64_t ram_size);

/* Lays out `ram_size` bytes of RAM exactly like guest_mem_alloc() but maps each region from `fd`
 * at the file offset of its first byte in region order (region 0 at 0, region 1 right after it),
 * MAP_PRIVATE | MAP_NORESERVE: copy-on-write, so the guest's writes never reach the file and pages
 * it never writes stay shared in the page cache between VMs restored from the same file.
 * `fd` may be read-only and may be closed afterwards; bytes after the first `ram_size` are not
 * mapped (a snapshot's memory file carries the virtio-mem region there). Returns 0, -EINVAL when
 * the size is not one guest_mem_alloc() takes or the file has fewer than `ram_size` bytes, or
 * -errno. */
int guest_mem_map_file(struct guest_mem *mem, uint64_t ram_size, int fd);

/* Guest RAM as guest_mem_alloc_shared() makes it (one memfd, MAP_SHARED), filled with the first
 * `ram_size` bytes of `fd` in region order: a restore that must share its RAM (--mem-shared, a
 * vhost-user device, a fork). The file's holes stay holes in the memfd (SEEK_DATA), so a sparse
 * memory file costs what it holds. `fd` is only read. Returns 0, the -EINVAL cases of
 * guest_mem_map_file(), -EIO when the file ends early, or -errno. */
int guest_mem_load_shared(struct guest_mem *mem, uint64_t ram_size, int fd);

/* Describes caller-owned host memory as guest RAM at `gpa` (tests, fuzzers). Regions must be
 * added in ascending, non-overlapping order. Returns 0 or -EINVAL / -ENOSPC. */
int guest_mem_add_region(struct guest_mem *mem, uint64_t gpa, void *host, uint64_t size);
/* The same for caller-owned memory mapped MAP_SHARED from `fd` at `fd_offset` (tests that hand
 * it to a vhost-user backend); the caller keeps owning (and closes) fd. */
int guest_mem_add_shared_region(struct guest_mem *mem, uint64_t gpa, void *host, uint64_t size,
				int fd, uint64_t fd_offset);

/* Asks for transparent huge pages behind every region (madvise MADV_HUGEPAGE): fewer TLB and
 * nested-paging misses, but the process's RSS then grows in 2 MiB steps (a guest that touches one
 * byte of a 2 MiB range costs the whole range). Returns 0 or -errno. */
int guest_mem_advise_hugepages(const struct guest_mem *mem);

/* Starts tracking the VMM's own writes (see `dirty`). Returns 0 or -ENOMEM. */
int guest_mem_dirty_start(struct guest_mem *mem);
/* Records that the VMM wrote [gpa, gpa+len) (a no-op while not tracking). Any thread. */
void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* ORs the pages marked since the last call into `bitmap` (guest_mem_dirty_words() words) and
 * clears them. */
void guest_mem_dirty_take(const struct guest_mem *mem, uint64_t *bitmap);
size_t guest_mem_dirty_words(const struct guest_mem *mem);

/* Gives the host pages behind [gpa, gpa+len) back to the kernel (virtio-balloon, free page
 * reporting): the range is first checked like guest_mem_ptr() (one RAM region, no overflow, so
 * nothing outside guest RAM or in the MMIO hole is ever released), then only the whole 4 KiB
 * pages inside it are released: MADV_DONTNEED for private memory (the next access reads zeros
 * for anonymous RAM, or the file's contents for RAM mapped from a snapshot file), MADV_REMOVE
 * when `shared`. The pages are marked dirty (they changed, a Diff snapshot must carry them).
 * Returns the bytes released (0 when the range holds no whole page), -EFAULT when the range is
 * not RAM, or -errno from madvise. */
int64_t guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Index of the 4 KiB page holding `gpa` counted over all regions in order (the dirty bitmap's
 * numbering, 0 .. ram_size/4096 - 1). Returns 0, or -EFAULT when gpa is not RAM. */
int guest_mem_page_index(const struct guest_mem *mem, uint64_t gpa, uint64_t *index);

/* The extent of region `r`'s file from region offset `off` (page-aligned) that is all hole or all
 * data, in 4 KiB pages, at most `max`: a hole reads as zeros without being touched (reading a
 * memfd's hole through the mapping would allocate it). A data extent is what is in memory from
 * `off` (mincore()), at most 256 pages, at least 1: it may end before the data does. Returns the
 * page count with *hole set, or 0 when the region has no file or the file cannot tell (then look
 * at the pages themselves). */
uint32_t guest_region_extent(const struct guest_region *r, uint64_t off, uint32_t max, bool *hole);

/* Tells which pages of a region are zero, walking them in order: in a hole of the region's file
 * without touching them (guest_region_extent()), else by their bytes. Start with {.r = region}. */
struct guest_zero_scan {
	const struct guest_region *r;
	uint32_t left; /* pages of the current extent after the last one asked about */
	bool hole;
};
/* The page at region offset `off` (the next after the last one asked about, or any page after a
 * fresh start) is all zeros; `ahead` pages from it on will be asked about (a bound for the
 * extent lookup). */
bool guest_zero_scan_page(struct guest_zero_scan *z, uint64_t off, uint32_t ahead);

/* Adds the virtio-mem region [gpa, gpa + size) backed by `host` (the caller's mapping, which it
 * unmaps itself after guest_mem_free()), every block of `block_size` bytes unplugged: until
 * guest_mem_hotplug_mark() plugs them, no address of it is guest memory. One such region; it may
 * not overlap RAM. Returns 0, -EBUSY (one already), -EINVAL or -ENOMEM. */
int guest_mem_hotplug_attach(struct guest_mem *mem, uint64_t gpa, void *host, uint64_t size,
			     uint64_t block_size);
/* Marks the blocks of [gpa, gpa + len) (whole blocks of the region) plugged or unplugged; an
 * unplugged block fails every check from then on. Any thread (atomic bit changes); the caller
 * makes sure no device is inside a block it unplugs (virtio-mem: the driver unplugs only what it
 * does not use). Ranges outside the region are ignored. */
void guest_mem_hotplug_mark(const struct guest_mem *mem, uint64_t gpa, uint64_t len, bool plugged);

/* Unmaps what guest_mem_alloc(), _alloc_shared() or _map_file() mapped (and closes the memfd
 * of _alloc_shared()) and zeroes the struct. */
void guest_mem_free(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) or NULL when any byte of it is not RAM of a single region or
 * the sum overflows. len may be 0 (then gpa itself must be inside a region or at its end). A range
 * inside the virtio-mem region is memory too when every block it touches is plugged (len 0: the
 * block of gpa). */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* True when [gpa, gpa+len) is RAM (same rule as guest_mem_ptr). */
bool guest_mem_valid(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy between guest RAM and a host buffer (writes are marked dirty). The range may not span two
 * regions. Return 0 or -EFAULT when the range is not RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);

#endif
