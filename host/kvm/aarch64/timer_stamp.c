/* The virtual counter's wall-clock stamp (timer_stamp.h). */
#include "host/kvm/aarch64/timer_stamp.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/aarch64/snapshot_tags.h"
#include "base/log.h"
#include "host/kvm/aarch64/arm64_regs.h"

#define MAX_CNTFRQ 10000000000ull /* 10 GHz: Armv9.1's fixed 1 GHz, with room */

static uint64_t realtime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t host_cntfrq(void)
{
	uint64_t f;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

int timer_stamp_save(int vcpu_fd, snap_put_fn put, void *w, char *err, size_t errlen)
{
	struct timer_stamp s = {.cntfrq = host_cntfrq()};
	int e = arm64_get_reg(vcpu_fd, KVM_REG_ARM_TIMER_CNT, &s.cnt);
	s.realtime_ns = realtime_ns();
	if (e) {
		snprintf(err, errlen, "vCPU 0: cannot read the virtual counter: %s", strerror(-e));
		return e;
	}
	e = put(w, SNAP_VM_TIMER_STAMP, 0, &s, sizeof(s));
	if (e)
		snprintf(err, errlen, "cannot store SNAP_VM_TIMER_STAMP: %s", strerror(-e));
	return e;
}

int timer_stamp_advance(const struct timer_stamp *s, uint64_t now_ns, uint64_t *cnt, char *err,
			size_t errlen)
{
	if (s->cntfrq == 0 || s->cntfrq > MAX_CNTFRQ) {
		snprintf(err, errlen, "SNAP_VM_TIMER_STAMP: a counter of %llu Hz",
			 (unsigned long long)s->cntfrq);
		return -EINVAL;
	}
	uint64_t since = now_ns > s->realtime_ns ? now_ns - s->realtime_ns : 0;
	unsigned __int128 ticks = (unsigned __int128)since * s->cntfrq / 1000000000u;
	*cnt = s->cnt + (uint64_t)ticks; /* wraps as the counter does (centuries at 1 GHz) */
	return 0;
}

int timer_stamp_restore(int vcpu_fd, snap_get_fn get, void *r, char *err, size_t errlen)
{
	struct timer_stamp s;
	size_t len = 0;
	const void *p = get(r, SNAP_VM_TIMER_STAMP, 0, &len);
	uint64_t cnt, now = realtime_ns();
	if (!p || len != sizeof(s)) {
		snprintf(
		    err, errlen,
		    "clock_realtime: SNAP_VM_TIMER_STAMP is %s: the time since the snapshot is "
		    "unknown (a snapshot of an older vmm?); load it without clock_realtime",
		    p ? "of the wrong length" : "missing");
		return -EINVAL;
	}
	memcpy(&s, p, sizeof(s));
	int e = timer_stamp_advance(&s, now, &cnt, err, errlen);
	if (!e && (e = arm64_set_reg(vcpu_fd, KVM_REG_ARM_TIMER_CNT, cnt)))
		snprintf(err, errlen, "clock_realtime: KVM refused the virtual counter: %s",
			 strerror(-e));
	if (!e) {
		uint64_t ahead = now > s.realtime_ns ? now - s.realtime_ns : 0;
		log_info("clock_realtime: the virtual counter advanced by %llu.%03llu s, the wall "
			 "time since the snapshot",
			 (unsigned long long)(ahead / 1000000000ull),
			 (unsigned long long)(ahead / 1000000ull % 1000));
	}
	return e;
}
