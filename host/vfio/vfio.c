/* VFIO's legacy container / group / device API (Documentation/driver-api/vfio.rst). */
#include "host/vfio/vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"

static bool hex_field(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* "DDDD:BB:DD.F": lower-case hex as sysfs writes it; device < 0x20, function < 8. */
static bool valid_bdf(const char *s)
{
	if (strlen(s) != VFIO_BDF_LEN - 1 || s[4] != ':' || s[7] != ':' || s[10] != '.')
		return false;
	if (!hex_field(s, 4) || !hex_field(s + 5, 2) || !hex_field(s + 8, 2) || s[11] < '0' ||
	    s[11] > '7')
		return false;
	return strtoul(s + 8, NULL, 16) < 0x20;
}

int vfio_parse_pci_path(const char *path, char bdf[VFIO_BDF_LEN], char *err, size_t errlen)
{
	size_t pre = strlen(VFIO_SYSFS_PCI_DEV);
	char tail[VFIO_BDF_LEN + 1];
	if (!path || strncmp(path, VFIO_SYSFS_PCI_DEV, pre) != 0 ||
	    strlen(path + pre) > VFIO_BDF_LEN)
		goto bad;
	snprintf(tail, sizeof(tail), "%s", path + pre);
	size_t n = strlen(tail);
	if (n == VFIO_BDF_LEN && tail[n - 1] == '/')
		tail[n - 1] = '\0';
	if (!valid_bdf(tail))
		goto bad;
	memcpy(bdf, tail, VFIO_BDF_LEN);
	return 0;
bad:
	return fail_rc(-EINVAL, err, errlen,
		       "%s: not a PCI device path (expected " VFIO_SYSFS_PCI_DEV "DDDD:BB:DD.F)",
		       path ? path : "(null)");
}

int vfio_container_open(struct vfio_container *c, const struct vfio_ops *ops, void *ctx, char *err,
			size_t errlen)
{
	*c = (struct vfio_container){.ops = ops, .ctx = ctx, .fd = -1};
	int fd = ops->open(ctx, "/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail_rc(fd, err, errlen, "/dev/vfio/vfio: %s (is the vfio module loaded?)",
			       strerror(-fd));
	int v = ops->ioctl(ctx, fd, VFIO_GET_API_VERSION, NULL);
	if (v != VFIO_API_VERSION) {
		ops->close(ctx, fd);
		return fail_rc(-ENOTSUP, err, errlen, "/dev/vfio/vfio: API version %d, expected %d",
			       v, VFIO_API_VERSION);
	}
	if (ops->ioctl(ctx, fd, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) <= 0) {
		ops->close(ctx, fd);
		return fail_rc(
		    -ENOTSUP, err, errlen,
		    "/dev/vfio/vfio: no type 1 v2 IOMMU (is the IOMMU on and vfio_iommu_type1 "
		    "loaded? x86: intel_iommu=on or amd_iommu=on; arm64: an SMMU)");
	}
	c->fd = fd;
	return 0;
}

void vfio_container_close(struct vfio_container *c)
{
	if (c->fd >= 0)
		c->ops->close(c->ctx, c->fd);
	c->fd = -1;
}

/* The driver `dev` (an address) is bound to, in `drv`: "" when unbound. */
static int driver_of(struct vfio_container *c, const char *dev, char *drv, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	snprintf(path, sizeof(path), VFIO_SYSFS_PCI_DEV "%s/driver", dev);
	ssize_t n = c->ops->readlink(c->ctx, path, link, sizeof(link));
	if (n == -ENOENT) {
		drv[0] = '\0';
		return 0;
	}
	if (n < 0)
		return (int)n;
	const char *base = strrchr(link, '/');
	base = base ? base + 1 : link;
	size_t k = strnlen(base, len - 1);
	memcpy(drv, base, k);
	drv[k] = '\0';
	return 0;
}

/* The kernel's rule (an IOMMU group's DMA owner, Linux 5.19 and later): a group can be given to
 * VFIO when each of its devices is unbound or bound to a driver that leaves DMA to its owner
 * (driver_managed_dma: vfio-pci, pci-stub, pcieport). Checked here to name the device that is
 * in the way; VFIO_GROUP_GET_STATUS has the last word. */
static bool driver_viable(const char *drv)
{
	return !drv[0] || !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

struct group_walk {
	struct vfio_container *c;
	const char *self;
	char *err;
	size_t errlen;
};

static int check_member(void *arg, const char *name)
{
	struct group_walk *w = arg;
	char drv[NAME_MAX + 1];
	if (!strcmp(name, w->self))
		return 0;
	int rc = driver_of(w->c, name, drv, sizeof(drv));
	if (rc < 0)
		return fail_rc(rc, w->err, w->errlen, "%s: the driver of %s (same IOMMU group): %s",
			       w->self, name, strerror(-rc));
	if (driver_viable(drv))
		return 0;
	return fail_rc(-EBUSY, w->err, w->errlen,
		       "%s: IOMMU group not viable: %s, in the same group, is bound to %s (bind it "
		       "to vfio-pci or unbind it: a group is passed as a whole)",
		       w->self, name, drv);
}

/* The group number from the iommu_group link ("../../../kernel/iommu_groups/7"). */
static int group_id(struct vfio_container *c, const char *bdf, char *err, size_t errlen)
{
	char path[PATH_MAX], link[PATH_MAX];
	snprintf(path, sizeof(path), VFIO_SYSFS_PCI_DEV "%s/iommu_group", bdf);
	ssize_t n = c->ops->readlink(c->ctx, path, link, sizeof(link));
	if (n < 0)
		return fail_rc((int)n, err, errlen,
			       "%s: no IOMMU group (%s: is the IOMMU on and the device present?)",
			       bdf, strerror((int)-n));
	const char *base = strrchr(link, '/');
	char *end;
	long id = strtol(base ? base + 1 : link, &end, 10);
	if (*end || id < 0 || id > INT_MAX)
		return fail_rc(-EINVAL, err, errlen, "%s: unexpected IOMMU group link %s", bdf,
			       link);
	return (int)id;
}

static int check_driver(struct vfio_container *c, const char *bdf, char *err, size_t errlen)
{
	char drv[NAME_MAX + 1];
	int rc = driver_of(c, bdf, drv, sizeof(drv));
	if (rc < 0)
		return fail_rc(rc, err, errlen, "%s: no such PCI device (%s)", bdf, strerror(-rc));
	if (strcmp(drv, "vfio-pci") != 0)
		return fail_rc(-EBUSY, err, errlen,
			       "%s: bound to %s, not vfio-pci (unbind it and bind it to vfio-pci)",
			       bdf, drv[0] ? drv : "no driver");
	return 0;
}

static int check_group_members(struct vfio_container *c, const char *bdf, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), VFIO_SYSFS_PCI_DEV "%s/iommu_group/devices", bdf);
	struct group_walk w = {c, bdf, err, errlen};
	int rc = c->ops->list_dir(c->ctx, dir, check_member, &w);
	if (rc < 0 && rc != -EBUSY)
		return fail_rc(rc, err, errlen, "%s: cannot list its IOMMU group: %s", bdf,
			       strerror(-rc));
	return rc;
}

struct member_list {
	const char *self;
	char *out; /* the other members, space-separated */
	size_t len;
};

static int add_member(void *arg, const char *name)
{
	struct member_list *l = arg;
	size_t at = strlen(l->out);
	if (strcmp(name, l->self) && at + 1 < l->len)
		snprintf(l->out + at, l->len - at, "%s%s", at ? " " : "", name);
	return 0;
}

/* The group's device node is open already (the kernel lets one user hold a group: -EBUSY): say
 * who may hold it, naming the group's other devices (its iommu_group/devices directory, the
 * same as /sys/kernel/iommu_groups/<id>/devices). */
static int group_busy(struct vfio_container *c, const char *bdf, int id, char *err, size_t errlen)
{
	char dir[96], others[256] = "";
	struct member_list l = {bdf, others, sizeof(others)};
	snprintf(dir, sizeof(dir), VFIO_SYSFS_PCI_DEV "%s/iommu_group/devices", bdf);
	c->ops->list_dir(c->ctx, dir, add_member, &l);
	if (!others[0])
		return fail_rc(-EBUSY, err, errlen,
			       "%s: IOMMU group %d (/dev/vfio/%d) is in use: another VM or process "
			       "has it open (a group goes to one user at a time)",
			       bdf, id, id);
	return fail_rc(
	    -EBUSY, err, errlen,
	    "%s: IOMMU group %d (/dev/vfio/%d, with %s) is in use: another VM or process "
	    "has it open, or this one has another of its devices (a group goes to one "
	    "user as a whole)",
	    bdf, id, id, others);
}

static int join_container(struct vfio_container *c, struct vfio_group *g, const char *bdf,
			  char *err, size_t errlen)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	int rc = c->ops->ioctl(c->ctx, g->fd, VFIO_GROUP_GET_STATUS, &st);
	if (rc < 0)
		return fail_rc(rc, err, errlen, "%s: VFIO_GROUP_GET_STATUS: %s", bdf,
			       strerror(-rc));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail_rc(-EBUSY, err, errlen,
			       "%s: IOMMU group %d not viable (a device of the group is bound to "
			       "another driver)",
			       bdf, g->id);
	rc = c->ops->ioctl(c->ctx, g->fd, VFIO_GROUP_SET_CONTAINER, &c->fd);
	if (rc < 0)
		return fail_rc(rc, err, errlen, "%s: VFIO_GROUP_SET_CONTAINER: %s", bdf,
			       strerror(-rc));
	if (!c->iommu_set) {
		rc = c->ops->ioctl(c->ctx, c->fd, VFIO_SET_IOMMU,
				   (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
		if (rc == -EPERM) /* vfio_iommu_type1: the group's MSIs are not isolated */
			return fail_rc(
			    rc, err, errlen,
			    "%s: VFIO_SET_IOMMU: %s: the host cannot isolate the device's "
			    "MSIs (an Arm GICv2m frame, an x86 host without interrupt "
			    "remapping); `modprobe vfio_iommu_type1 "
			    "allow_unsafe_interrupts=1` accepts that risk",
			    bdf, strerror(-rc));
		if (rc < 0)
			return fail_rc(rc, err, errlen, "%s: VFIO_SET_IOMMU: %s", bdf,
				       strerror(-rc));
		c->iommu_set = true;
	}
	return 0;
}

int vfio_group_open(struct vfio_container *c, const char *path, struct vfio_group *g,
		    char bdf[VFIO_BDF_LEN], char *err, size_t errlen)
{
	*g = (struct vfio_group){.fd = -1, .id = -1};
	int rc = vfio_parse_pci_path(path, bdf, err, errlen);
	if (rc < 0)
		return rc;
	rc = check_driver(c, bdf, err, errlen);
	if (rc < 0)
		return rc;
	int id = group_id(c, bdf, err, errlen);
	if (id < 0)
		return id;
	rc = check_group_members(c, bdf, err, errlen);
	if (rc < 0)
		return rc;
	char dev[32];
	snprintf(dev, sizeof(dev), "/dev/vfio/%d", id);
	g->id = id; /* also on failure: the caller may name a device of its own in the group */
	int fd = c->ops->open(c->ctx, dev, O_RDWR | O_CLOEXEC);
	if (fd == -EBUSY)
		return group_busy(c, bdf, id, err, errlen);
	if (fd < 0)
		return fail_rc(fd, err, errlen, "%s: %s: %s", bdf, dev, strerror(-fd));
	g->fd = fd;
	rc = join_container(c, g, bdf, err, errlen);
	if (rc < 0)
		vfio_group_close(c, g);
	return rc;
}

void vfio_group_close(struct vfio_container *c, struct vfio_group *g)
{
	if (g->fd >= 0) {
		c->ops->ioctl(c->ctx, g->fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
		c->ops->close(c->ctx, g->fd);
	}
	g->fd = -1;
}

int vfio_device_open(struct vfio_container *c, struct vfio_group *g, const char *bdf,
		     struct vfio_device *d, char *err, size_t errlen)
{
	*d = (struct vfio_device){.ops = c->ops, .ctx = c->ctx, .fd = -1};
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	int fd = c->ops->ioctl(c->ctx, g->fd, VFIO_GROUP_GET_DEVICE_FD, (void *)bdf);
	if (fd < 0)
		return fail_rc(fd, err, errlen, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf,
			       strerror(-fd));
	d->fd = fd;
	struct vfio_device_info info = {.argsz = sizeof(info)};
	int rc = c->ops->ioctl(c->ctx, fd, VFIO_DEVICE_GET_INFO, &info);
	if (rc < 0) {
		fail_rc(rc, err, errlen, "%s: VFIO_DEVICE_GET_INFO: %s", bdf, strerror(-rc));
	} else if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		rc = fail_rc(-ENODEV, err, errlen, "%s: not a PCI device for VFIO", bdf);
	} else if (!(info.flags & VFIO_DEVICE_FLAGS_RESET)) {
		rc = fail_rc(-ENOTSUP, err, errlen,
			     "%s: the device cannot be reset (no FLR, PM or bus reset), so state "
			     "could leak between its owners: refused",
			     bdf);
	} else if (info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
		   info.num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX) {
		rc = fail_rc(-ENODEV, err, errlen,
			     "%s: %u regions and %u interrupt indexes: not "
			     "vfio-pci's layout",
			     bdf, info.num_regions, info.num_irqs);
	}
	if (rc < 0) {
		vfio_device_close(d);
		return rc;
	}
	d->flags = info.flags;
	d->num_regions = info.num_regions;
	d->num_irqs = info.num_irqs;
	return 0;
}

void vfio_device_close(struct vfio_device *d)
{
	if (d->fd >= 0)
		d->ops->close(d->ctx, d->fd);
	d->fd = -1;
}

int vfio_device_reset(struct vfio_device *d)
{
	return d->ops->ioctl(d->ctx, d->fd, VFIO_DEVICE_RESET, NULL);
}

int vfio_irq_get(struct vfio_device *d, uint32_t index, uint32_t *count, uint32_t *flags)
{
	struct vfio_irq_info info = {.argsz = sizeof(info), .index = index};
	int rc = d->ops->ioctl(d->ctx, d->fd, VFIO_DEVICE_GET_IRQ_INFO, &info);
	if (rc < 0)
		return rc;
	*count = info.count;
	*flags = info.flags;
	return 0;
}

static int rw_check(const struct vfio_region *r, uint64_t off, size_t len)
{
	return off > r->size || len > r->size - off ? -EINVAL : 0;
}

int vfio_region_read(struct vfio_device *d, const struct vfio_region *r, uint64_t off, void *buf,
		     size_t len)
{
	if (rw_check(r, off, len) || !(r->flags & VFIO_REGION_INFO_FLAG_READ))
		return -EINVAL;
	ssize_t n = d->ops->pread(d->ctx, d->fd, buf, len, (off_t)(r->offset + off));
	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

int vfio_region_write(struct vfio_device *d, const struct vfio_region *r, uint64_t off,
		      const void *buf, size_t len)
{
	if (rw_check(r, off, len) || !(r->flags & VFIO_REGION_INFO_FLAG_WRITE))
		return -EINVAL;
	ssize_t n = d->ops->pwrite(d->ctx, d->fd, buf, len, (off_t)(r->offset + off));
	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

int vfio_irq_set_eventfds(struct vfio_device *d, uint32_t index, uint32_t start, uint32_t count,
			  const int32_t *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + (size_t)count * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, sz);
	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->index = index;
	s->start = start;
	s->count = count;
	s->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		   (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	if (count)
		memcpy(s->data, fds, (size_t)count * sizeof(int32_t));
	int rc = d->ops->ioctl(d->ctx, d->fd, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return rc < 0 ? rc : 0;
}

int vfio_intx_set_unmask_eventfd(struct vfio_device *d, int32_t fd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;
	*s = (struct vfio_irq_set){.argsz = sizeof(buf),
				   .flags = VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_DATA_EVENTFD,
				   .index = VFIO_PCI_INTX_IRQ_INDEX,
				   .count = 1};
	memcpy(s->data, &fd, sizeof(fd));
	int rc = d->ops->ioctl(d->ctx, d->fd, VFIO_DEVICE_SET_IRQS, s);
	return rc < 0 ? rc : 0;
}

static bool page_aligned(uint64_t v)
{
	return (v & 4095) == 0;
}

int vfio_dma_map(struct vfio_container *c, uint64_t iova, uint64_t size, void *vaddr)
{
	if (!size || !page_aligned(iova) || !page_aligned(size) ||
	    !page_aligned((uintptr_t)vaddr) || iova + size < iova)
		return -EINVAL;
	struct vfio_iommu_type1_dma_map m = {
	    .argsz = sizeof(m),
	    .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	    .vaddr = (uintptr_t)vaddr,
	    .iova = iova,
	    .size = size,
	};
	int rc = c->ops->ioctl(c->ctx, c->fd, VFIO_IOMMU_MAP_DMA, &m);
	return rc < 0 ? rc : 0;
}

int vfio_dma_unmap(struct vfio_container *c, uint64_t iova, uint64_t size)
{
	if (!size || !page_aligned(iova) || !page_aligned(size) || iova + size < iova)
		return -EINVAL;
	struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof(u), .iova = iova, .size = size};
	int rc = c->ops->ioctl(c->ctx, c->fd, VFIO_IOMMU_UNMAP_DMA, &u);
	if (rc < 0)
		return rc;
	return u.size == size ? 0 : -EIO; /* the kernel says how much it unmapped */
}
