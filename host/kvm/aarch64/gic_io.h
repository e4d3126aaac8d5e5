/* What the GICv3's and the GICv2's snapshot code (gic_state.c, gicv2_state.c) share: one
 * direction of a register walk over KVM's device attributes, with its first failure, and the
 * checked reading of a snapshot section. */
#ifndef VMM_KVM_AARCH64_GIC_IO_H
#define VMM_KVM_AARCH64_GIC_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/snapshot_io.h"

/* One direction of a walk: set (restore) or get (save), and the first failure (-errno, with the
 * message in err). Every call below does nothing once e is set. */
struct gic_io {
	bool set;
	int e;
	char *err;
	size_t errlen;
};

/* KVM_SET_DEVICE_ATTR or KVM_GET_DEVICE_ATTR (by io->set) of attribute `attr` of `group` on
 * `fd`, from or into `v`; `what`[n] names the register in the message. KVM's VGIC answers EBUSY
 * while a vCPU's mutex is held (a parked vCPU thread may still be in an ioctl of its own for a few
 * milliseconds): retried for up to 2 s. */
void gic_io_attr(struct gic_io *io, int fd, uint32_t group, uint64_t attr, void *v,
		 const char *what, unsigned n);
/* A KVM_DEV_ARM_VGIC_GRP_CTRL command `what` (whatever the direction). */
void gic_io_ctrl(struct gic_io *io, int fd, uint64_t what, const char *name);
/* Stores a section through `put`. */
void gic_io_put(struct gic_io *io, snap_put_fn put, void *w, uint32_t tag, uint32_t inst,
		const void *data, size_t len, const char *what);
/* Section (tag, inst) of exactly `len` bytes, or NULL with the message in err ("missing", "of the
 * wrong length"). */
const void *gic_io_section(snap_get_fn get, void *r, uint32_t tag, uint32_t inst, size_t len,
			   const char *what, char *err, size_t errlen);
/* words[from..n) are all zero. */
bool gic_zero_from(const uint32_t *words, unsigned from, unsigned n);

#endif
