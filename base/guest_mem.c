/* Guest-physical memory regions and the one bounds-checked translation every access goes through.
 */
#include "base/guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/layout.h"

/* mmap() at a host address that is a multiple of GUEST_MEM_HOST_ALIGN: a stretch that large is
 * reserved (PROT_NONE), the mapping put at its first aligned address, the rest given back. Guest
 * RAM regions start at 2 MiB-aligned guest addresses, so with the host address aligned the same
 * way a transparent huge page can back guest RAM and KVM can map it with 2 MiB entries of its
 * own (it does only where guest and host address agree modulo 2 MiB). Before Linux 6.7 an
 * anonymous mmap() was only page-aligned: under an L1 whose THP is "always", our guests ran on
 * 4 KiB nested mappings where QEMU's (which aligns its RAM) ran on 2 MiB ones. */
static void *map_aligned(uint64_t size, int flags, int fd, off_t off)
{
	size_t span = (size_t)size + GUEST_MEM_HOST_ALIGN;
	uint8_t *res =
	    mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	uintptr_t at =
	    ((uintptr_t)res + GUEST_MEM_HOST_ALIGN - 1) & ~(uintptr_t)(GUEST_MEM_HOST_ALIGN - 1);
	void *host =
	    mmap((void *)at, (size_t)size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, off);
	if (host == MAP_FAILED) {
		int err = errno;
		munmap(res, span);
		errno = err;
		return MAP_FAILED;
	}
	size_t head = at - (uintptr_t)res, tail = span - head - (size_t)size;
	if (head)
		munmap(res, head);
	if (tail)
		munmap((uint8_t *)at + size, tail);
	return host;
}

/* Maps region `gpa`/`size`: anonymous when fd < 0, else from `fd` at offset `off`, shared with
 * other mappers of the file when mem->shared (the memfd of guest_mem_alloc_shared()). */
static int map_region(struct guest_mem *mem, uint64_t gpa, uint64_t size, int fd, uint64_t off)
{
	int flags =
	    (mem->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_NORESERVE | (fd < 0 ? MAP_ANONYMOUS : 0);
	void *host = map_aligned(size, flags, fd, fd < 0 ? 0 : (off_t)off);
	if (host == MAP_FAILED)
		return -errno;
	int err = mem->shared ? guest_mem_add_shared_region(mem, gpa, host, size, fd, off)
			      : guest_mem_add_region(mem, gpa, host, size);
	if (err)
		munmap(host, size);
	return err;
}

_Static_assert(LAYOUT_RAM_RANGES_MAX <= GUEST_MEM_MAX_REGIONS, "a region per RAM range");

static bool ram_size_ok(uint64_t ram_size)
{
	return ram_size != 0 && ram_size % KIB(4) == 0 && ram_size <= GUEST_RAM_MAX;
}

/* The layout of guest_mem_alloc(), from `fd` (file offsets in region order) or anonymous. */
static int map_layout(struct guest_mem *mem, uint64_t ram_size, int fd, bool shared)
{
	memset(mem, 0, sizeof(*mem));
	if (!ram_size_ok(ram_size))
		return -EINVAL;
	mem->owned = true;
	mem->shared = shared;
	struct layout_range r[LAYOUT_RAM_RANGES_MAX];
	int n = layout_ram_ranges(ram_size, r);
	uint64_t off = 0; /* the file holds the ranges' bytes one after the other */
	int err = 0;
	for (int i = 0; i < n && !err; i++) {
		err = map_region(mem, r[i].start, r[i].size, fd, off);
		off += r[i].size;
	}
	if (err) {
		for (int i = 0; i < mem->nregions; i++)
			mem->regions[i].fd = -1; /* the caller's to close, not guest_mem_free()'s */
		guest_mem_free(mem);
	}
	return err;
}

int guest_mem_alloc(struct guest_mem *mem, uint64_t ram_size)
{
	return map_layout(mem, ram_size, -1, false);
}

int guest_mem_alloc_shared(struct guest_mem *mem, uint64_t ram_size)
{
	memset(mem, 0, sizeof(*mem));
	if (!ram_size_ok(ram_size))
		return -EINVAL;
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)ram_size) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	int err = map_layout(mem, ram_size, fd, true);
	if (err)
		close(fd);
	return err;
}

/* A memory file for `ram_size` bytes of RAM: a regular file at least that long (more than RAM: a
 * snapshot's memory file may carry the hotplug region after it). Returns 0 or -errno. */
static int memory_file_ok(int fd, uint64_t ram_size)
{
	struct stat st;
	if (fd < 0)
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	return S_ISREG(st.st_mode) && (uint64_t)st.st_size >= ram_size ? 0 : -EINVAL;
}

int guest_mem_map_file(struct guest_mem *mem, uint64_t ram_size, int fd)
{
	memset(mem, 0, sizeof(*mem));
	int err = memory_file_ok(fd, ram_size);
	return err ? err : map_layout(mem, ram_size, fd, false);
}

/* Copies file bytes [off, off + size) to `dst`, skipping the file's holes (the memfd reads zeros
 * there already). Returns 0 or -errno (-EIO when the file ends early). */
static int copy_data(int fd, uint64_t off, uint64_t size, uint8_t *dst)
{
	uint64_t pos = off, end = off + size;
	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno; /* ENXIO: only a hole is left */
		if ((uint64_t)data >= end)
			return 0;
		off_t hole = lseek(fd, data, SEEK_HOLE);
		uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
		for (pos = (uint64_t)data; pos < stop;) {
			ssize_t n = pread(fd, dst + (pos - off), stop - pos, (off_t)pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			pos += (uint64_t)n;
		}
	}
	return 0;
}

int guest_mem_load_shared(struct guest_mem *mem, uint64_t ram_size, int fd)
{
	memset(mem, 0, sizeof(*mem));
	int err = memory_file_ok(fd, ram_size);
	if (err)
		return err;
	err = guest_mem_alloc_shared(mem, ram_size);
	uint64_t off = 0;
	for (int i = 0; !err && i < mem->nregions; i++) {
		err = copy_data(fd, off, mem->regions[i].size, mem->regions[i].host);
		off += mem->regions[i].size;
	}
	if (err)
		guest_mem_free(mem);
	return err;
}

int guest_mem_add_region(struct guest_mem *mem, uint64_t gpa, void *host, uint64_t size)
{
	return guest_mem_add_shared_region(mem, gpa, host, size, -1, 0);
}

int guest_mem_add_shared_region(struct guest_mem *mem, uint64_t gpa, void *host, uint64_t size,
				int fd, uint64_t fd_offset)
{
	uint64_t end;
	if (size == 0 || !host || __builtin_add_overflow(gpa, size, &end))
		return -EINVAL;
	if (mem->nregions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	if (mem->nregions > 0) {
		const struct guest_region *prev = &mem->regions[mem->nregions - 1];
		if (gpa < prev->gpa + prev->size)
			return -EINVAL;
	}
	mem->regions[mem->nregions++] = (struct guest_region){gpa, size, host, fd, fd_offset};
	mem->ram_size += size;
	return 0;
}

int guest_mem_advise_hugepages(const struct guest_mem *mem)
{
	for (int i = 0; i < mem->nregions; i++) {
		if (madvise(mem->regions[i].host, mem->regions[i].size, MADV_HUGEPAGE) < 0)
			return -errno;
	}
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->owned) {
		for (int i = 0; i < mem->nregions; i++)
			munmap(mem->regions[i].host, mem->regions[i].size);
		/* _alloc_shared(): every region maps the one memfd; _map_file() keeps no fd */
		if (mem->nregions > 0 && mem->regions[0].fd >= 0)
			close(mem->regions[0].fd);
	}
	free(mem->dirty);
	free(mem->hotplug.plugged);
	memset(mem, 0, sizeof(*mem));
}

int guest_mem_hotplug_attach(struct guest_mem *mem, uint64_t gpa, void *host, uint64_t size,
			     uint64_t block_size)
{
	uint64_t end, nblocks;

	if (mem->hotplug.region.size)
		return -EBUSY;
	if (!host || !size || !block_size || size % block_size || gpa % block_size ||
	    __builtin_add_overflow(gpa, size, &end))
		return -EINVAL;
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < end)
			return -EINVAL;
	}
	nblocks = size / block_size;
	mem->hotplug.plugged = calloc((nblocks + 63) / 64, sizeof(uint64_t));
	if (!mem->hotplug.plugged)
		return -ENOMEM;
	mem->hotplug.region = (struct guest_region){gpa, size, host, -1, 0};
	mem->hotplug.block_size = block_size;
	return 0;
}

void guest_mem_hotplug_mark(const struct guest_mem *mem, uint64_t gpa, uint64_t len, bool plugged)
{
	const struct guest_hotplug *h = &mem->hotplug;
	uint64_t off = gpa - h->region.gpa;

	if (!h->region.size || gpa < h->region.gpa || off > h->region.size ||
	    len > h->region.size - off)
		return;
	for (uint64_t i = off / h->block_size; i < (off + len) / h->block_size; i++) {
		if (plugged)
			__atomic_fetch_or(&h->plugged[i / 64], 1ull << (i % 64), __ATOMIC_RELEASE);
		else
			__atomic_fetch_and(&h->plugged[i / 64], ~(1ull << (i % 64)),
					   __ATOMIC_RELEASE);
	}
}

/* The virtio-mem region when [gpa, end) lies in it and every block it touches is plugged. */
static const struct guest_region *find_plugged(const struct guest_mem *mem, uint64_t gpa,
					       uint64_t end)
{
	const struct guest_hotplug *h = &mem->hotplug;
	uint64_t first, last;

	if (!h->region.size || gpa < h->region.gpa || end > h->region.gpa + h->region.size ||
	    gpa >= h->region.gpa + h->region.size)
		return NULL;
	first = (gpa - h->region.gpa) / h->block_size;
	last = end > gpa ? (end - 1 - h->region.gpa) / h->block_size : first;
	for (uint64_t i = first; i <= last; i++) {
		if (!((__atomic_load_n(&h->plugged[i / 64], __ATOMIC_ACQUIRE) >> (i % 64)) & 1))
			return NULL;
	}
	return &h->region;
}

/* The RAM region holding all of [gpa, gpa + len), or NULL. */
static const struct guest_region *find_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;
	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r;
	}
	return NULL;
}

/* RAM, or plugged virtio-mem memory: what devices may touch. */
static const struct guest_region *find_region(const struct guest_mem *mem, uint64_t gpa,
					      uint64_t len)
{
	const struct guest_region *r = find_ram(mem, gpa, len);
	uint64_t end;

	if (r || __builtin_add_overflow(gpa, len, &end))
		return r;
	return find_plugged(mem, gpa, end);
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_region *r = find_region(mem, gpa, len);
	return r ? r->host + (gpa - r->gpa) : NULL;
}

bool guest_mem_valid(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return find_region(mem, gpa, len) != NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len)
{
	const void *src = guest_mem_ptr(mem, gpa, len);
	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	guest_mem_mark_dirty(mem, gpa, len);
	return 0;
}

#define DIRTY_PAGE_SHIFT 12

size_t guest_mem_dirty_words(const struct guest_mem *mem)
{
	return (size_t)(((mem->ram_size >> DIRTY_PAGE_SHIFT) + 63) / 64);
}

/* Tracking may start while device threads run (migration): the bitmap is published with a
 * release store, and readers load the pointer with acquire. */
int guest_mem_dirty_start(struct guest_mem *mem)
{
	if (__atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE))
		return 0;
	uint64_t *bits = calloc(guest_mem_dirty_words(mem), sizeof(uint64_t));
	if (!bits)
		return -ENOMEM;
	__atomic_store_n(&mem->dirty, bits, __ATOMIC_RELEASE);
	return 0;
}

void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t base = 0; /* page index of the region's first page in region order */
	uint64_t *dirty = __atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE);

	if (!dirty || !len)
		return;
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			uint64_t last = gpa - r->gpa + len - 1;
			if (last >= r->size)
				last = r->size - 1;
			for (uint64_t p = (gpa - r->gpa) >> DIRTY_PAGE_SHIFT;
			     p <= last >> DIRTY_PAGE_SHIFT; p++)
				__atomic_fetch_or(&dirty[(base + p) / 64],
						  1ull << ((base + p) % 64), __ATOMIC_RELAXED);
			return;
		}
		base += r->size >> DIRTY_PAGE_SHIFT;
	}
}

void guest_mem_dirty_take(const struct guest_mem *mem, uint64_t *bitmap)
{
	uint64_t *dirty = __atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE);
	for (size_t i = 0; dirty && i < guest_mem_dirty_words(mem); i++)
		bitmap[i] |= __atomic_exchange_n(&dirty[i], 0, __ATOMIC_RELAXED);
}

/* ---- releasing pages (virtio-balloon) ---- */

#define PAGE_4K (1ull << DIRTY_PAGE_SHIFT)

int64_t guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_region *r = find_ram(mem, gpa, len); /* RAM only: see guest_hotplug */
	if (!r)
		return -EFAULT;
	/* Whole pages only: a partial page may hold data the guest still uses. No overflow: the
	 * range is inside a region that ends below 2^64. */
	uint64_t first = (gpa + PAGE_4K - 1) & ~(PAGE_4K - 1);
	uint64_t end = (gpa + len) & ~(PAGE_4K - 1);
	if (end <= first)
		return 0;
	uint8_t *host = r->host + (first - r->gpa);
	int advice = mem->shared ? MADV_REMOVE : MADV_DONTNEED;
	if (madvise(host, end - first, advice) < 0)
		return -errno;
	guest_mem_mark_dirty(mem, first, end - first);
	return (int64_t)(end - first);
}

int guest_mem_page_index(const struct guest_mem *mem, uint64_t gpa, uint64_t *index)
{
	uint64_t base = 0;

	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			*index = base + ((gpa - r->gpa) >> DIRTY_PAGE_SHIFT);
			return 0;
		}
		base += r->size >> DIRTY_PAGE_SHIFT;
	}
	return -EFAULT;
}

/* ---- holes of a file-backed region (migration's zero pages) ---- */

#define DATA_RUN_MAX 256u /* pages one data_run() call looks at */

/* Data at `off`: how many pages from there are in memory (mincore(): a page in the file's page
 * cache is data), at least this one. Not SEEK_HOLE: it walks every data page up to the next hole
 * (296 us a call inside 60 MiB of data on the test host), and a migration's final round asks once
 * per scattered page. A page swapped out ends the run; the next call finds it by SEEK_DATA. */
static uint32_t data_run(const struct guest_region *r, uint64_t off, uint32_t max)
{
	unsigned char in_core[DATA_RUN_MAX];
	uint64_t room = (r->size - off) >> DIRTY_PAGE_SHIFT;
	if (max > room)
		max = (uint32_t)room;
	if (max > DATA_RUN_MAX)
		max = DATA_RUN_MAX;
	if (max <= 1 || mincore(r->host + off, (size_t)max << DIRTY_PAGE_SHIFT, in_core))
		return 1;
	uint32_t n = 1;
	while (n < max && (in_core[n] & 1))
		n++;
	return n;
}

uint32_t guest_region_extent(const struct guest_region *r, uint64_t off, uint32_t max, bool *hole)
{
	if (r->fd < 0 || off >= r->size || !max)
		return 0;
	off_t pos = (off_t)(r->fd_offset + off), end = (off_t)(r->fd_offset + r->size);
	off_t data = lseek(r->fd, pos, SEEK_DATA);
	if (data < 0 && errno != ENXIO) /* ENXIO: no data from pos to the end of the file */
		return 0;
	*hole = data < 0 || data > pos;
	if (!*hole)
		return data_run(r, off, max);
	off_t next = data < 0 ? end : data;
	if (next > end)
		next = end;
	uint64_t pages = (uint64_t)(next - pos) >> DIRTY_PAGE_SHIFT;
	return pages > max ? max : (uint32_t)pages;
}

bool guest_zero_scan_page(struct guest_zero_scan *z, uint64_t off, uint32_t ahead)
{
	static const uint8_t zero[PAGE_4K];
	if (!z->left)
		z->left = guest_region_extent(z->r, off, ahead, &z->hole);
	if (z->left) {
		z->left--;
		if (z->hole)
			return true;
	}
	return !memcmp(z->r->host + off, zero, PAGE_4K);
}
