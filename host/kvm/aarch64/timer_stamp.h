/* The virtual counter's wall-clock stamp in an arm64 snapshot (SNAP_VM_TIMER_STAMP), which
 * clock_realtime needs: the guest's counter only says how long the guest ran, not when. The save
 * reads vCPU 0's KVM_REG_ARM_TIMER_CNT and the host's CLOCK_REALTIME back to back, and the
 * counter's frequency (CNTFRQ_EL0: the guest's is the host's). A restore with clock_realtime then
 * sets the counter to the stamp's plus the wall time since, in ticks, once the vCPUs' registers
 * (whose counter is the pause's) are back: the guest's clock moves on as the world's did, as
 * x86's kvmclock with KVM_CLOCK_REALTIME. One vCPU's counter moves every vCPU's (KVM keeps one
 * offset per VM). */
#ifndef VMM_KVM_AARCH64_TIMER_STAMP_H
#define VMM_KVM_AARCH64_TIMER_STAMP_H

#include <stddef.h>
#include <stdint.h>

#include "base/snapshot_io.h"

struct timer_stamp {
	uint64_t cnt;	      /* vCPU 0's virtual counter */
	uint64_t realtime_ns; /* the host's CLOCK_REALTIME at that read */
	uint64_t cntfrq;      /* ticks per second */
};

/* Puts SNAP_VM_TIMER_STAMP of vCPU `vcpu_fd` (parked). Returns 0 or -errno (`err` says). */
int timer_stamp_save(int vcpu_fd, snap_put_fn put, void *w, char *err, size_t errlen);

/* The counter a restore at wall time `now_ns` sets for the stamp `s`: its counter plus the
 * ticks of the time since (none for a stamp in the future: a host clock set back). Returns 0, or
 * -EINVAL when the stamp's frequency is none or beyond 10 GHz (`err` says). */
int timer_stamp_advance(const struct timer_stamp *s, uint64_t now_ns, uint64_t *cnt, char *err,
			size_t errlen);

/* Sets vCPU `vcpu_fd`'s virtual counter from the snapshot's stamp as timer_stamp_advance() says,
 * logging by how much. Returns 0, -EINVAL for a missing or bad stamp, or -errno of
 * KVM_SET_ONE_REG (`err` says which). */
int timer_stamp_restore(int vcpu_fd, snap_get_fn get, void *r, char *err, size_t errlen);

#endif
