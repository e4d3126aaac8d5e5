/* The virtio-mem region in a snapshot's memory file: after RAM, whole and sparse, present only
 * while blocks are plugged. See vmm/snapshot/format/snap_mem.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/snapshot/format/snap_err.h"
#include "vmm/snapshot/format/snap_file.h"
#include "vmm/snapshot/format/snap_mem.h"

static uint64_t nblocks(const struct guest_mem *mem)
{
	const struct guest_hotplug *hp = &mem->hotplug;

	return hp->region.size && hp->block_size ? hp->region.size / hp->block_size : 0;
}

/* guest_mem's own bitmap: what the VMM let the guest use, the same as the device's while the VM
 * is paused (vmm/vm/memhp.c marks it after the KVM slot is there). */
static bool block_plugged(const struct guest_mem *mem, uint64_t i)
{
	uint64_t w = __atomic_load_n(&mem->hotplug.plugged[i / 64], __ATOMIC_ACQUIRE);

	return (w >> (i % 64)) & 1;
}

uint64_t snap_memhp_plugged(const struct guest_mem *mem)
{
	uint64_t n = 0, total = nblocks(mem);

	for (uint64_t i = 0; i < total; i++)
		n += block_plugged(mem, i);
	return n * mem->hotplug.block_size;
}

uint64_t snap_memhp_bytes(const struct guest_mem *mem)
{
	return snap_memhp_plugged(mem) ? mem->hotplug.region.size : 0;
}

/* The next run of plugged blocks at or after *from: its length in blocks (0: none left), *from
 * moved to its first block. */
static uint64_t next_run(const struct guest_mem *mem, uint64_t *from)
{
	uint64_t i = *from, total = nblocks(mem), n = 0;

	while (i < total && !block_plugged(mem, i))
		i++;
	*from = i;
	while (i + n < total && block_plugged(mem, i + n))
		n++;
	return n;
}

static bool page_is_zero(const uint8_t *p)
{
	return p[0] == 0 && !memcmp(p, p + 1, SNAP_MEM_PAGE - 1);
}

int snap_memhp_write(int fd, const struct guest_mem *mem)
{
	const struct guest_hotplug *hp = &mem->hotplug;
	uint64_t from = 0, n;

	while ((n = next_run(mem, &from)) != 0) {
		uint64_t off = from * hp->block_size, end = off + n * hp->block_size;

		/* non-zero pages only: the rest stays a hole, like RAM's zero pages */
		for (uint64_t p = off; p < end; p += SNAP_MEM_PAGE) {
			int r = page_is_zero(hp->region.host + p)
				    ? 0
				    : snap_pwrite_all(fd, hp->region.host + p, SNAP_MEM_PAGE,
						      mem->ram_size + p);
			if (r)
				return r;
		}
		from += n;
	}
	return 0;
}

/* Reads [off, off + len) of the region's part of the file into the region, extent by extent:
 * holes are skipped (the anonymous pages there already read zeros and cost nothing). */
static int read_run(int fd, const struct guest_mem *mem, uint64_t off, uint64_t len)
{
	uint64_t pos = off, end = off + len, at = mem->ram_size;

	while (pos < end) {
		off_t data = lseek(fd, (off_t)(at + pos), SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			return 0; /* only a hole from here to the end of the file */
		if (data < 0)	  /* no SEEK_DATA here: read it all */
			return snap_pread_all(fd, mem->hotplug.region.host + pos, end - pos,
					      at + pos);
		if ((uint64_t)data >= at + end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		uint64_t a = (uint64_t)data - at,
			 b = (uint64_t)hole - at < end ? (uint64_t)hole - at : end;
		int r = snap_pread_all(fd, mem->hotplug.region.host + a, b - a, at + a);
		if (r)
			return r;
		pos = b;
	}
	return 0;
}

int snap_memhp_load(const struct guest_mem *mem, int fd, char *err, size_t errlen)
{
	uint64_t plugged = snap_memhp_plugged(mem), from = 0, n;
	uint64_t want = mem->ram_size + mem->hotplug.region.size;
	struct stat st;

	if (!plugged)
		return 0;
	if (fstat(fd, &st))
		return snap_err(err, errlen, -errno, "memory file: %s", strerror(errno));
	if ((uint64_t)st.st_size != want)
		return snap_err(
		    err, errlen, -EINVAL,
		    "the memory file has %llu bytes, but the %llu MiB of plugged hotplug "
		    "memory the snapshot names need %llu (RAM, then the %llu MiB "
		    "virtio-mem region)",
		    (unsigned long long)st.st_size, (unsigned long long)(plugged >> 20),
		    (unsigned long long)want, (unsigned long long)(mem->hotplug.region.size >> 20));
	while ((n = next_run(mem, &from)) != 0) {
		int r =
		    read_run(fd, mem, from * mem->hotplug.block_size, n * mem->hotplug.block_size);
		if (r)
			return snap_err(err, errlen, r, "memory file: hotplug memory: %s",
					strerror(-r));
		from += n;
	}
	return 0;
}
