/* The GIC snapshot code's shared steps (gic_io.h). */
#include "host/kvm/aarch64/gic_io.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host/kvm/kvm.h"

#define GIC_BUSY_RETRIES 2000 /* 1 ms each */

static int attr_ioctl(int fd, unsigned long req, struct kvm_device_attr *a)
{
	for (unsigned i = 0;; i++) {
		if (kvm_ioctl(fd, req, a) == 0)
			return 0;
		if (errno != EBUSY || i == GIC_BUSY_RETRIES)
			return -errno;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
}

void gic_io_attr(struct gic_io *io, int fd, uint32_t group, uint64_t attr, void *v,
		 const char *what, unsigned n)
{
	if (io->e)
		return;
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)v};
	int e = attr_ioctl(fd, io->set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &a);
	if (e) {
		io->e = e;
		snprintf(io->err, io->errlen, "GIC: %s %s[%u]: %s",
			 io->set ? "KVM refused to set" : "cannot read", what, n, strerror(-io->e));
	}
}

void gic_io_ctrl(struct gic_io *io, int fd, uint64_t what, const char *name)
{
	if (io->e)
		return;
	struct kvm_device_attr a = {.group = KVM_DEV_ARM_VGIC_GRP_CTRL, .attr = what};
	int e = attr_ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
	if (e) {
		io->e = e;
		snprintf(io->err, io->errlen, "GIC: %s failed: %s", name, strerror(-io->e));
	}
}

void gic_io_put(struct gic_io *io, snap_put_fn put, void *w, uint32_t tag, uint32_t inst,
		const void *data, size_t len, const char *what)
{
	if (!io->e && (io->e = put(w, tag, inst, data, len)))
		snprintf(io->err, io->errlen, "cannot store %s: %s", what, strerror(-io->e));
}

const void *gic_io_section(snap_get_fn get, void *r, uint32_t tag, uint32_t inst, size_t len,
			   const char *what, char *err, size_t errlen)
{
	size_t got = 0;
	const void *p = get(r, tag, inst, &got);
	if (!p || got != len) {
		snprintf(err, errlen, "%s (instance %u) is %s", what, inst,
			 p ? "of the wrong length" : "missing");
		return NULL;
	}
	return p;
}

bool gic_zero_from(const uint32_t *words, unsigned from, unsigned n)
{
	for (unsigned i = from; i < n; i++)
		if (words[i])
			return false;
	return true;
}
