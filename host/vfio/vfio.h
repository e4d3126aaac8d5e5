/* VFIO, the host side of PCI device passthrough: the legacy container / group / device API of
 * <linux/vfio.h> (Documentation/driver-api/vfio.rst). A container holds the IOMMU context
 * (type 1 v2); a group is the set of devices the IOMMU cannot tell apart; a device is one PCI
 * function bound to vfio-pci, reached through its regions (BARs, ROM, configuration space) and
 * its interrupt indexes (INTx, MSI, MSI-X).
 *
 * Every system call goes through `struct vfio_ops`, so the unit tests run this code against a
 * fake VFIO layer (tests/unit/fixtures/fake_vfio.h); vfio_sys_ops are the real calls.
 *
 * Errors: functions return 0 (or a count) or -errno, with err[0..errlen) saying what was wrong
 * in words that start with the device's address where there is one, e.g.
 * "0000:01:00.0: bound to nvme, not vfio-pci (unbind it and bind it to vfio-pci)". Nothing is
 * logged here; the caller reports.
 *
 * Used by vmm/vm/vm_vfio.c for --device vfio= (docs/vfio.md). */
#ifndef HOST_VFIO_H
#define HOST_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vfio.h>

#include "base/guest_mem.h"

/* The system calls VFIO needs, each with the caller's context. Paths are absolute: the
 * container and group character devices under /dev/vfio and sysfs files of the device. */
struct vfio_ops {
	int (*open)(void *ctx, const char *path, int flags);
	int (*close)(void *ctx, int fd);
	int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
	ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, off_t off);
	void *(*mmap)(void *ctx, size_t len, int prot, int fd, off_t off);
	void (*munmap)(void *ctx, void *addr, size_t len);
	/* readlink(2), NUL-terminated; returns the length or -errno. */
	ssize_t (*readlink)(void *ctx, const char *path, char *buf, size_t len);
	/* Calls fn(arg, name) for every entry of directory `path` but . and ..; stops at and
	 * returns fn's first nonzero result; 0 when done, -errno when the directory cannot be
	 * read. */
	int (*list_dir)(void *ctx, const char *path, int (*fn)(void *arg, const char *name),
			void *arg);
};

extern const struct vfio_ops vfio_sys_ops;

#define VFIO_BDF_LEN	   13 /* "DDDD:BB:DD.F" and its NUL */
#define VFIO_MAX_AREAS	   8  /* sparse mmap areas kept per region */
#define VFIO_SYSFS_PCI_DEV "/sys/bus/pci/devices/"

/* Parses a sysfs PCI device path, "/sys/bus/pci/devices/DDDD:BB:DD.F" (a trailing slash
 * allowed), into its address `bdf`. Nothing else is accepted: the VMM builds every other path
 * from the address, so no path from outside is opened as given. Returns 0 or -EINVAL. */
int vfio_parse_pci_path(const char *path, char bdf[VFIO_BDF_LEN], char *err, size_t errlen);

struct vfio_container {
	const struct vfio_ops *ops;
	void *ctx;
	int fd;
	bool iommu_set; /* VFIO_SET_IOMMU done (after the first group joined) */
};

struct vfio_group {
	int fd;
	int id; /* /dev/vfio/<id> */
};

/* One region of a device (VFIO_DEVICE_GET_REGION_INFO), with its sparse mmap areas. */
struct vfio_region {
	uint32_t index;
	uint32_t flags; /* VFIO_REGION_INFO_FLAG_READ / WRITE / MMAP */
	uint64_t size;
	uint64_t offset;    /* of the region in the device fd */
	bool sparse;	    /* mmap only inside areas[] (VFIO_REGION_INFO_CAP_SPARSE_MMAP) */
	bool msix_mappable; /* VFIO_REGION_INFO_CAP_MSIX_MAPPABLE */
	uint32_t nareas;
	struct {
		uint64_t offset, size;
	} areas[VFIO_MAX_AREAS];
};

struct vfio_device {
	const struct vfio_ops *ops;
	void *ctx;
	int fd;
	char bdf[VFIO_BDF_LEN];
	uint32_t flags; /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
};

/* Opens /dev/vfio/vfio and checks VFIO_GET_API_VERSION and that VFIO_TYPE1v2_IOMMU is there. */
int vfio_container_open(struct vfio_container *c, const struct vfio_ops *ops, void *ctx, char *err,
			size_t errlen);
void vfio_container_close(struct vfio_container *c);

/* Opens the IOMMU group of the device at sysfs `path` and adds it to container `c`:
 *   - the path must be a PCI device's (vfio_parse_pci_path()) and the device bound to
 *     vfio-pci (its driver link);
 *   - every other device of the group bound to vfio-pci, pci-stub or pcieport, or to no driver
 *     (the kernel's rule for a viable group), and VFIO_GROUP_GET_STATUS says viable;
 *   - VFIO_GROUP_SET_CONTAINER, then VFIO_SET_IOMMU (type 1 v2) for the container's first
 *     group. `bdf` gets the device's address, g->id the group's number once known (also when
 *     the open fails: -EBUSY when the group is open already, the message naming the group and
 *     its other devices). */
int vfio_group_open(struct vfio_container *c, const char *path, struct vfio_group *g,
		    char bdf[VFIO_BDF_LEN], char *err, size_t errlen);
void vfio_group_close(struct vfio_container *c, struct vfio_group *g);

/* VFIO_GROUP_GET_DEVICE_FD for `bdf` and its info: refused unless it is a PCI device
 * (VFIO_DEVICE_FLAGS_PCI) that can be reset (VFIO_DEVICE_FLAGS_RESET: the VM starts and ends
 * with a reset so no state crosses between owners), with the configuration region and the
 * MSI-X index. */
int vfio_device_open(struct vfio_container *c, struct vfio_group *g, const char *bdf,
		     struct vfio_device *d, char *err, size_t errlen);
void vfio_device_close(struct vfio_device *d);

/* Region `index` (VFIO_PCI_*_REGION_INDEX) with its capabilities. Returns 0 or -errno. */
int vfio_region_get(struct vfio_device *d, uint32_t index, struct vfio_region *r);

/* Interrupt index `index` (VFIO_PCI_*_IRQ_INDEX): `*count` vectors, `*flags` VFIO_IRQ_INFO_*. */
int vfio_irq_get(struct vfio_device *d, uint32_t index, uint32_t *count, uint32_t *flags);

/* `len` bytes at `off` inside region `r`: -EINVAL outside it, -EIO on a short access. */
int vfio_region_read(struct vfio_device *d, const struct vfio_region *r, uint64_t off, void *buf,
		     size_t len);
int vfio_region_write(struct vfio_device *d, const struct vfio_region *r, uint64_t off,
		      const void *buf, size_t len);

/* Maps `len` bytes at `off` inside region `r` (MAP_SHARED, read/write as the region allows):
 * for the parts of a BAR the guest reaches directly. `off` and `len` page-aligned, inside the
 * region, which must allow mmap. Returns the address, or NULL with errno set. */
void *vfio_region_mmap(struct vfio_device *d, const struct vfio_region *r, uint64_t off,
		       size_t len);

/* Undoes vfio_region_mmap(). */
void vfio_region_munmap(struct vfio_device *d, void *addr, size_t len);

/* VFIO_DEVICE_RESET. */
int vfio_device_reset(struct vfio_device *d);

/* Interrupts through eventfds (VFIO_DEVICE_SET_IRQS, ACTION_TRIGGER, DATA_EVENTFD): vectors
 * [start, start + count) of `index` signal fds[i] (-1: that vector unassigned). count 0 turns
 * the whole index off (DATA_NONE). */
int vfio_irq_set_eventfds(struct vfio_device *d, uint32_t index, uint32_t start, uint32_t count,
			  const int32_t *fds);
/* INTx's resample: the kernel unmasks the line when `fd` is signalled (ACTION_UNMASK), which the
 * VMM hands KVM as the irqfd's resample fd. */
int vfio_intx_set_unmask_eventfd(struct vfio_device *d, int32_t fd);

/* Maps `size` bytes of the VMM's memory at `vaddr` for the device's DMA at bus address `iova`
 * (guest-physical: the guest programs guest addresses), read and write; unmaps them. Both
 * page-aligned and non-empty: -EINVAL otherwise. */
int vfio_dma_map(struct vfio_container *c, uint64_t iova, uint64_t size, void *vaddr);
int vfio_dma_unmap(struct vfio_container *c, uint64_t iova, uint64_t size);

/* Maps every RAM region of `mem` (not a virtio-mem region: its plugs map one by one) for DMA
 * at its guest-physical address; all or nothing. Unmaps them again (every region tried; the
 * first error returned). host/vfio/vfio_dma.c. */
int vfio_dma_map_ram(struct vfio_container *c, const struct guest_mem *mem);
int vfio_dma_unmap_ram(struct vfio_container *c, const struct guest_mem *mem);

#endif
