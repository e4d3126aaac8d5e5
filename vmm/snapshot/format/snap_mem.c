/* Saving guest RAM to a sparse file (full or only the dirty pages) and opening it for a restore. */
#include "vmm/snapshot/format/snap_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "vmm/snapshot/format/snap_err.h"
#include "vmm/snapshot/format/snap_file.h"

static bool page_is_zero(const uint8_t *p)
{
	/* p[0] == 0 and every byte equals the one before it */
	return p[0] == 0 && !memcmp(p, p + 1, SNAP_MEM_PAGE - 1);
}

static bool page_wanted(const uint8_t *p, const uint64_t *dirty, uint64_t page)
{
	if (dirty)
		return (dirty[page / 64] >> (page % 64)) & 1;
	return !page_is_zero(p);
}

/* Writes the wanted pages of region `r`, which starts at file offset `base`: runs of adjacent
 * wanted pages go out in one pwrite. */
static int write_region(int fd, const struct guest_region *r, uint64_t base, const uint64_t *dirty)
{
	uint64_t pages = r->size / SNAP_MEM_PAGE, first = base / SNAP_MEM_PAGE;
	uint64_t i = 0;
	while (i < pages) {
		if (!page_wanted(r->host + i * SNAP_MEM_PAGE, dirty, first + i)) {
			i++;
			continue;
		}
		uint64_t run = i;
		while (run < pages &&
		       page_wanted(r->host + run * SNAP_MEM_PAGE, dirty, first + run))
			run++;
		int ret =
		    snap_pwrite_all(fd, r->host + i * SNAP_MEM_PAGE,
				    (size_t)((run - i) * SNAP_MEM_PAGE), base + i * SNAP_MEM_PAGE);
		if (ret)
			return ret;
		i = run;
	}
	return 0;
}

/* RAM's wanted pages; a full snapshot also the plugged blocks of the hotplug region. */
static int write_pages(int fd, const struct guest_mem *mem, const uint64_t *dirty)
{
	uint64_t base = 0;
	for (int i = 0; i < mem->nregions; i++) {
		int ret = write_region(fd, &mem->regions[i], base, dirty);
		if (ret)
			return ret;
		base += mem->regions[i].size;
	}
	int ret = dirty ? 0 : snap_memhp_write(fd, mem);
	if (ret)
		return ret;
	return fsync(fd) ? -errno : 0;
}

static int save_full(const struct guest_mem *mem, const char *path, char *err, size_t errlen)
{
	char *tmp = snap_tmp_path(path);
	if (!tmp)
		return snap_err(err, errlen, -ENOMEM, "%s: out of memory", path);
	char why[HOST_PATH_ERR_MAX];
	int ret = 0, fd = snap_create_tmp(tmp, why, sizeof(why));
	if (fd < 0) {
		free(tmp);
		return snap_err(err, errlen, fd, "%s", why);
	} else if (ftruncate(fd, (off_t)(mem->ram_size + snap_memhp_bytes(mem))))
		ret = -errno;
	else
		ret = write_pages(fd, mem, NULL);
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	return snap_commit_tmp(tmp, path, ret, err, errlen);
}

static int save_dirty(const struct guest_mem *mem, const char *path, const uint64_t *dirty,
		      char *err, size_t errlen)
{
	int fd;
	uint64_t size, plugged = snap_memhp_plugged(mem), hp = mem->hotplug.region.size;

	/* the hotplug region has no dirty tracking (neither KVM's log nor ours) */
	if (plugged)
		return snap_err(
		    err, errlen, -EBUSY,
		    "%llu MiB of hotplugged (virtio-mem) memory are plugged, and a Diff "
		    "snapshot cannot carry them: take a Full snapshot, or unplug them "
		    "first",
		    (unsigned long long)(plugged >> 20));
	int ret = snap_open_regular(path, O_WRONLY, "", &fd, &size, err, errlen);
	if (ret)
		return ret;
	/* a full one taken with blocks plugged carries the region: left as it is, unused */
	if (size != mem->ram_size && !(hp && size == mem->ram_size + hp))
		ret = snap_err(err, errlen, -EINVAL,
			       "memory file %s has %llu bytes, the VM has %llu: a diff snapshot "
			       "needs the full one it follows",
			       path, (unsigned long long)size, (unsigned long long)mem->ram_size);
	else if ((ret = write_pages(fd, mem, dirty)))
		snap_err(err, errlen, ret, "%s: %s", path, strerror(-ret));
	close(fd);
	return ret;
}

int snap_mem_save(const struct guest_mem *mem, const char *path, const uint64_t *dirty, char *err,
		  size_t errlen)
{
	for (int i = 0; i < mem->nregions; i++) {
		if (mem->regions[i].size % SNAP_MEM_PAGE)
			return snap_err(err, errlen, -EINVAL,
					"%s: RAM region %d (%llu bytes) is not a whole number of "
					"pages",
					path, i, (unsigned long long)mem->regions[i].size);
	}
	if (dirty)
		return save_dirty(mem, path, dirty, err, errlen);
	return save_full(mem, path, err, errlen);
}

int snap_mem_open(const char *path, uint64_t ram_size, uint64_t hotplug_size, int *fd, char *err,
		  size_t errlen)
{
	int f;
	uint64_t size;
	int ret = snap_open_regular(path, O_RDONLY, "memory file", &f, &size, err, errlen);
	if (ret)
		return ret;
	if (size != ram_size && !(hotplug_size && size == ram_size + hotplug_size))
		ret = snap_err(err, errlen, -EINVAL,
			       "memory file %s has %llu bytes, the snapshot's VM has %llu%s", path,
			       (unsigned long long)size, (unsigned long long)ram_size,
			       hotplug_size ? " (and its hotplug region when blocks are plugged)"
					    : "");
	if (ret) {
		close(f);
		return ret;
	}
	*fd = f;
	return 0;
}
