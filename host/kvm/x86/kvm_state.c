/* x86's implementation of host/kvm/kvm_state.h: KVM's vCPU and VM state as snapshot sections.
 *
 * The restore order follows what KVM needs (KVM API doc; QEMU's kvm_arch_put_registers and
 * Firecracker's vCPU restore agree on it): CPUID before the MSRs it enables, the APIC base
 * (in sregs) before the LAPIC registers, the LAPIC before the TSC-deadline MSR, the vCPU
 * events after the registers, the MP state last. */
#include "host/kvm/kvm_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "base/log.h"
#include "base/x86/snapshot_tags.h"
#include "host/kvm/kvm.h"
#include "host/kvm/x86/cpuid.h"
#include "host/kvm/x86/kvm_state_x86.h"

#define MSR_IA32_TSC	      0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

#define EVENTS_KNOWN_FLAGS                                                                         \
	(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |                       \
	 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD |      \
	 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool has_cap(int fd, int cap)
{
	return kvm_ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0;
}

size_t kvm_xsave_size(int kvm_fd)
{
	if (!has_cap(kvm_fd, KVM_CAP_XSAVE))
		return 0;
	int size = kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	return size > (int)sizeof(struct kvm_xsave) ? (size_t)size : sizeof(struct kvm_xsave);
}

/* KVM's list of MSRs to save (KVM_GET_MSR_INDEX_LIST on /dev/kvm). *list is malloc'ed. */
static int msr_index_list(int dev_fd, uint32_t **list, uint32_t *n)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	*list = NULL;
	*n = 0;
	if (kvm_ioctl(dev_fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0)
		return 0;
	if (errno != E2BIG)
		return -errno;
	if (probe.nmsrs > KVM_STATE_MAX_MSRS)
		return -E2BIG;
	struct kvm_msr_list *l = malloc(sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (kvm_ioctl(dev_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int e = -errno;
		free(l);
		return e;
	}
	*n = l->nmsrs;
	*list = malloc(*n * sizeof(uint32_t) + 1);
	if (*list)
		memcpy(*list, l->indices, *n * sizeof(uint32_t));
	free(l);
	return *list ? 0 : -ENOMEM;
}

/* ---- save ---- */

struct save_ctx {
	int dev_fd, fd;
	unsigned index;
	snap_put_fn put;
	void *w;
	char *err;
	size_t errlen;
};

static int save_put(struct save_ctx *c, uint32_t tag, const char *name, const void *data,
		    size_t len)
{
	int e = c->put(c->w, tag, c->index, data, len);
	if (e)
		set_err(c->err, c->errlen, "vCPU %u: cannot store %s: %s", c->index, name,
			strerror(-e));
	return e;
}

static int save_ioctl(struct save_ctx *c, unsigned long req, void *arg, const char *what)
{
	if (kvm_ioctl(c->fd, req, arg) < 0) {
		int e = errno;
		set_err(c->err, c->errlen, "vCPU %u: %s failed: %s", c->index, what, strerror(e));
		return -e;
	}
	return 0;
}

/* GET ioctl into buf, then one section of `len` bytes. */
static int save_one(struct save_ctx *c, uint32_t tag, const char *name, unsigned long req,
		    const char *what, void *buf, size_t len)
{
	int e = save_ioctl(c, req, buf, what);
	return e ? e : save_put(c, tag, name, buf, len);
}

static int save_xsave(struct save_ctx *c)
{
	size_t size = kvm_xsave_size(c->dev_fd);
	if (!size) {
		log_debug("vCPU %u: no KVM_CAP_XSAVE, SNAP_VCPU_XSAVE not saved", c->index);
		return 0;
	}
	void *buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	bool v2 = size > sizeof(struct kvm_xsave);
	int e = save_one(c, SNAP_VCPU_XSAVE, "SNAP_VCPU_XSAVE", v2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
			 v2 ? "KVM_GET_XSAVE2" : "KVM_GET_XSAVE", buf, size);
	free(buf);
	return e;
}

/* Reads the MSRs list[0..n) into out->entries; KVM_GET_MSRS stops at the first MSR it cannot
 * read, so that one is dropped and the read goes on after it. */
static int read_msrs(struct save_ctx *c, const uint32_t *list, uint32_t n, struct kvm_msrs *out)
{
	struct kvm_msrs *req = calloc(1, sizeof(*req) + n * sizeof(struct kvm_msr_entry));
	if (!req)
		return -ENOMEM;
	uint32_t next = 0, got = 0;
	int e = 0;
	while (next < n && !e) {
		req->nmsrs = n - next;
		for (uint32_t k = 0; k < req->nmsrs; k++)
			req->entries[k] = (struct kvm_msr_entry){.index = list[next + k]};
		int r = kvm_ioctl(c->fd, KVM_GET_MSRS, req);
		if (r < 0) {
			e = -errno;
			set_err(c->err, c->errlen, "vCPU %u: KVM_GET_MSRS failed: %s", c->index,
				strerror(errno));
			break;
		}
		memcpy(&out->entries[got], req->entries, (size_t)r * sizeof(struct kvm_msr_entry));
		got += (uint32_t)r;
		next += (uint32_t)r;
		if (next < n)
			log_debug("vCPU %u: MSR 0x%x unreadable, not saved", c->index,
				  list[next++]);
	}
	out->nmsrs = got;
	free(req);
	return e;
}

/* Leaves out of list[0..*n) the MSRs the vCPU's CPUID hides from its guest
 * (cpuid_msr_for_guest()): a snapshot taken with a template that hides RDTSCP then restores on a
 * host whose KVM has no MSR_TSC_AUX. Keeps them all when the CPUID cannot be read. */
static void drop_hidden_msrs(struct save_ctx *c, uint32_t *list, uint32_t *n)
{
	struct cpuid_table *t = calloc(1, sizeof(*t));
	if (!t)
		return;
	t->header.nent = CPUID_MAX_ENTRIES;
	if (kvm_ioctl(c->fd, KVM_GET_CPUID2, t) == 0) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < *n; i++)
			if (cpuid_msr_for_guest(&t->header, list[i]))
				list[k++] = list[i];
			else
				log_debug("vCPU %u: MSR 0x%x hidden by its CPUID, not saved",
					  c->index, list[i]);
		*n = k;
	}
	free(t);
}

static int save_msrs(struct save_ctx *c)
{
	uint32_t *list, n;
	int e = msr_index_list(c->dev_fd, &list, &n);
	if (e) {
		set_err(c->err, c->errlen, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-e));
		return e;
	}
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	if (!msrs) {
		free(list);
		return -ENOMEM;
	}
	drop_hidden_msrs(c, list, &n);
	e = read_msrs(c, list, n, msrs);
	if (!e)
		e = save_put(c, SNAP_VCPU_MSRS, "SNAP_VCPU_MSRS", msrs,
			     sizeof(*msrs) + msrs->nmsrs * sizeof(struct kvm_msr_entry));
	free(msrs);
	free(list);
	return e;
}

static int save_cpuid(struct save_ctx *c)
{
	struct cpuid_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->header.nent = CPUID_MAX_ENTRIES;
	int e = save_ioctl(c, KVM_GET_CPUID2, t, "KVM_GET_CPUID2");
	if (!e)
		e = save_put(c, SNAP_VCPU_CPUID, "SNAP_VCPU_CPUID", t,
			     sizeof(t->header) + t->header.nent * sizeof(struct kvm_cpuid_entry2));
	free(t);
	return e;
}

/* The fixed-size pieces: the GET ioctl of each, and the capability it needs (0: none). */
static int save_fixed(struct save_ctx *c)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	const struct {
		uint32_t tag;
		const char *name, *what;
		unsigned long req;
		int cap;
		void *buf;
		size_t len;
	} pieces[] = {
	    {SNAP_VCPU_REGS, "SNAP_VCPU_REGS", "KVM_GET_REGS", KVM_GET_REGS, 0, &regs,
	     sizeof(regs)},
	    {SNAP_VCPU_SREGS, "SNAP_VCPU_SREGS", "KVM_GET_SREGS", KVM_GET_SREGS, 0, &sregs,
	     sizeof(sregs)},
	    {SNAP_VCPU_XCRS, "SNAP_VCPU_XCRS", "KVM_GET_XCRS", KVM_GET_XCRS, KVM_CAP_XCRS, &xcrs,
	     sizeof(xcrs)},
	    {SNAP_VCPU_LAPIC, "SNAP_VCPU_LAPIC", "KVM_GET_LAPIC", KVM_GET_LAPIC, 0, &lapic,
	     sizeof(lapic)},
	    {SNAP_VCPU_EVENTS, "SNAP_VCPU_EVENTS", "KVM_GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS, 0,
	     &events, sizeof(events)},
	    {SNAP_VCPU_DEBUGREGS, "SNAP_VCPU_DEBUGREGS", "KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS,
	     KVM_CAP_DEBUGREGS, &dregs, sizeof(dregs)},
	    {SNAP_VCPU_MP_STATE, "SNAP_VCPU_MP_STATE", "KVM_GET_MP_STATE", KVM_GET_MP_STATE, 0, &mp,
	     sizeof(mp)},
	};
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		if (pieces[i].cap && !has_cap(c->dev_fd, pieces[i].cap)) {
			log_debug("vCPU %u: capability for %s absent, not saved", c->index,
				  pieces[i].name);
			continue;
		}
		memset(pieces[i].buf, 0, pieces[i].len);
		int e = save_one(c, pieces[i].tag, pieces[i].name, pieces[i].req, pieces[i].what,
				 pieces[i].buf, pieces[i].len);
		if (e)
			return e;
	}
	return 0;
}

int kvm_vcpu_save(int dev_fd, int vcpu_fd, unsigned index, snap_put_fn put, void *w, char *err,
		  size_t errlen)
{
	struct save_ctx c = {dev_fd, vcpu_fd, index, put, w, err, errlen};
	int e = save_fixed(&c);

	if (!e)
		e = save_xsave(&c);
	if (!e)
		e = save_msrs(&c);
	if (!e)
		e = save_cpuid(&c);
	return e;
}

/* ---- restore ---- */

struct restore_ctx {
	int dev_fd, fd;
	unsigned index;
	snap_get_fn get;
	void *r;
	char *err;
	size_t errlen;
};

/* The section (tag, index) with exactly `want` bytes copied into `dst`. Returns 0, 1 when an
 * optional section is absent, or -EINVAL (message) when it is missing or of another length. */
static int get_exact(struct restore_ctx *c, uint32_t tag, const char *name, void *dst, size_t want,
		     bool optional)
{
	size_t len = 0;
	const void *p = c->get(c->r, tag, c->index, &len);
	if (!p && optional) {
		log_debug("vCPU %u: no %s in the snapshot, not restored", c->index, name);
		return 1;
	}
	if (!p) {
		set_err(c->err, c->errlen, "vCPU %u: %s missing from the snapshot", c->index, name);
		return -EINVAL;
	}
	if (len != want) {
		set_err(c->err, c->errlen, "vCPU %u: %s has %zu bytes, expected %zu", c->index,
			name, len, want);
		return -EINVAL;
	}
	memcpy(dst, p, want);
	return 0;
}

static int restore_ioctl(struct restore_ctx *c, unsigned long req, void *arg, const char *what,
			 const char *name)
{
	if (kvm_ioctl(c->fd, req, arg) < 0) {
		int e = errno;
		set_err(c->err, c->errlen, "vCPU %u: %s failed for %s: %s", c->index, what, name,
			strerror(e));
		return -e;
	}
	return 0;
}

static int bad(struct restore_ctx *c, const char *name, const char *why)
{
	set_err(c->err, c->errlen, "vCPU %u: %s: %s", c->index, name, why);
	return -EINVAL;
}

/* A section made of an 8-byte header whose first u32 is a count, then `count` entries of
 * `esize` bytes, count <= max. Returns a malloc'ed copy in *out or -EINVAL/-ENOMEM (1 when
 * optional and absent). */
static int get_counted(struct restore_ctx *c, uint32_t tag, const char *name, size_t esize,
		       uint32_t max, bool optional, void **out)
{
	size_t len = 0;
	const uint8_t *p = c->get(c->r, tag, c->index, &len);
	uint32_t count;
	char why[96];
	if (!p && optional) {
		log_debug("vCPU %u: no %s in the snapshot, not restored", c->index, name);
		return 1;
	}
	if (!p)
		return bad(c, name, "missing from the snapshot");
	if (len < 8)
		return bad(c, name, "shorter than its header");
	memcpy(&count, p, sizeof(count));
	if (count > max) {
		snprintf(why, sizeof(why), "%u entries, at most %u", count, max);
		return bad(c, name, why);
	}
	if (len != 8 + (size_t)count * esize) {
		snprintf(why, sizeof(why), "%zu bytes do not hold %u entries", len, count);
		return bad(c, name, why);
	}
	*out = malloc(len);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, p, len);
	return 0;
}

/* The vCPU has `saved` already, but for what KVM sets from its registers: it was created from
 * the same configuration on this host (a restore, a migration's destination). `scratch` is
 * KVM_GET_CPUID2's room. */
static bool has_cpuid(struct restore_ctx *c, const struct kvm_cpuid2 *saved,
		      struct cpuid_table *scratch)
{
	scratch->header.nent = CPUID_MAX_ENTRIES;
	return kvm_ioctl(c->fd, KVM_GET_CPUID2, scratch) == 0 &&
	       cpuid_same_but_runtime(&scratch->header, saved);
}

static int restore_cpuid(struct restore_ctx *c)
{
	struct cpuid_table *t = calloc(1, sizeof(*t));
	void *copy = NULL;
	if (!t)
		return -ENOMEM;
	int e = get_counted(c, SNAP_VCPU_CPUID, "SNAP_VCPU_CPUID", sizeof(struct kvm_cpuid_entry2),
			    CPUID_MAX_ENTRIES, true, &copy);
	if (!e && !has_cpuid(c, copy, t)) {
		memcpy(t, copy,
		       8 + ((struct kvm_cpuid2 *)copy)->nent * sizeof(t->header.entries[0]));
		e = restore_ioctl(c, KVM_SET_CPUID2, t, "KVM_SET_CPUID2", "SNAP_VCPU_CPUID");
	}
	free(copy);
	free(t);
	return e < 0 ? e : 0;
}

static int restore_xsave(struct restore_ctx *c)
{
	size_t want = kvm_xsave_size(c->dev_fd);
	size_t len = 0;
	const void *p = c->get(c->r, SNAP_VCPU_XSAVE, c->index, &len);
	char why[128];
	if (!p) {
		log_debug("vCPU %u: no SNAP_VCPU_XSAVE in the snapshot, not restored", c->index);
		return 0;
	}
	if (!want)
		return bad(c, "SNAP_VCPU_XSAVE", "this host's KVM has no KVM_CAP_XSAVE");
	if (len != want) {
		snprintf(why, sizeof(why), "%zu bytes, this host's XSAVE area has %zu", len, want);
		return bad(c, "SNAP_VCPU_XSAVE", why);
	}
	void *buf = malloc(want);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, p, want);
	int e = restore_ioctl(c, KVM_SET_XSAVE, buf, "KVM_SET_XSAVE", "SNAP_VCPU_XSAVE");
	free(buf);
	return e;
}

static bool msr_listed(const uint32_t *list, uint32_t n, uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == index)
			return true;
	return false;
}

static int msr_rank(uint32_t index)
{
	return index == MSR_IA32_TSC ? 0 : index == MSR_IA32_TSC_DEADLINE ? 2 : 1;
}

/* Checks every MSR against this host's list and orders them: the TSC first (the deadline is
 * a TSC value), the TSC deadline last. `in` and `out` hold msrs->nmsrs entries. */
static int order_msrs(struct restore_ctx *c, const struct kvm_msrs *in, struct kvm_msrs *out)
{
	uint32_t *list, n, k = 0;
	int e = msr_index_list(c->dev_fd, &list, &n);
	if (e) {
		set_err(c->err, c->errlen, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-e));
		return e;
	}
	for (uint32_t i = 0; i < in->nmsrs && !e; i++) {
		if (!msr_listed(list, n, in->entries[i].index)) {
			char why[80];
			snprintf(why, sizeof(why), "MSR 0x%x is not one this host's KVM saves",
				 in->entries[i].index);
			e = bad(c, "SNAP_VCPU_MSRS", why);
		}
	}
	for (int rank = 0; rank < 3 && !e; rank++)
		for (uint32_t i = 0; i < in->nmsrs; i++)
			if (msr_rank(in->entries[i].index) == rank)
				out->entries[k++] = in->entries[i];
	out->nmsrs = k;
	free(list);
	return e;
}

static int restore_msrs(struct restore_ctx *c)
{
	struct kvm_msrs *in = NULL, *out = NULL;
	int e = get_counted(c, SNAP_VCPU_MSRS, "SNAP_VCPU_MSRS", sizeof(struct kvm_msr_entry),
			    KVM_STATE_MAX_MSRS, false, (void **)&in);
	if (e)
		return e;
	out = calloc(1, sizeof(*out) + in->nmsrs * sizeof(struct kvm_msr_entry));
	e = out ? order_msrs(c, in, out) : -ENOMEM;
	if (!e) {
		int r = kvm_ioctl(c->fd, KVM_SET_MSRS, out);
		if (r < 0) {
			e = -errno;
			set_err(c->err, c->errlen,
				"vCPU %u: KVM_SET_MSRS failed for SNAP_VCPU_MSRS: %s", c->index,
				strerror(-e));
		} else if ((uint32_t)r < out->nmsrs) {
			char why[80];
			snprintf(why, sizeof(why), "KVM_SET_MSRS refused MSR 0x%x = 0x%llx",
				 out->entries[r].index, (unsigned long long)out->entries[r].data);
			e = bad(c, "SNAP_VCPU_MSRS", why);
		}
	}
	free(out);
	free(in);
	return e;
}

static int restore_regs(struct restore_ctx *c)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int e = get_exact(c, SNAP_VCPU_SREGS, "SNAP_VCPU_SREGS", &sregs, sizeof(sregs), false);
	if (!e)
		e = get_exact(c, SNAP_VCPU_REGS, "SNAP_VCPU_REGS", &regs, sizeof(regs), false);
	if (!e)
		e = restore_ioctl(c, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", "SNAP_VCPU_SREGS");
	if (!e)
		e = restore_ioctl(c, KVM_SET_REGS, &regs, "KVM_SET_REGS", "SNAP_VCPU_REGS");
	return e;
}

bool kvm_xcrs_to_set(const struct kvm_xcrs *x, bool host_xsave)
{
	if (host_xsave)
		return true;
	for (uint32_t i = 0; i < x->nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x->xcrs[i].xcr != 0 || x->xcrs[i].value != 1)
			return true;
	return false;
}

/* Whether this host's KVM offers XSAVE (leaf 1 ECX bit 26 of its supported CPUID); true when it
 * cannot be asked (KVM_SET_XCRS then says what is wrong). */
static bool host_has_xsave(int dev_fd)
{
	struct cpuid_table *t = calloc(1, sizeof(*t));
	bool has = true;
	if (t && cpuid_get_supported_cached(dev_fd, t) == 0) {
		has = false;
		for (uint32_t i = 0; i < t->header.nent; i++)
			if (t->header.entries[i].function == 1)
				has = t->header.entries[i].ecx & (1u << 26);
	}
	free(t);
	return has;
}

static int restore_xcrs(struct restore_ctx *c)
{
	struct kvm_xcrs xcrs;
	int e = get_exact(c, SNAP_VCPU_XCRS, "SNAP_VCPU_XCRS", &xcrs, sizeof(xcrs), true);
	if (e)
		return e < 0 ? e : 0;
	if (xcrs.nr_xcrs > KVM_MAX_XCRS)
		return bad(c, "SNAP_VCPU_XCRS", "more than KVM_MAX_XCRS registers");
	if (!kvm_xcrs_to_set(&xcrs, host_has_xsave(c->dev_fd))) {
		log_debug("vCPU %u: XCR0 at its reset value on a host without XSAVE: not set",
			  c->index);
		return 0;
	}
	return restore_ioctl(c, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS", "SNAP_VCPU_XCRS");
}

static int restore_lapic(struct restore_ctx *c)
{
	struct kvm_lapic_state lapic;
	int e = get_exact(c, SNAP_VCPU_LAPIC, "SNAP_VCPU_LAPIC", &lapic, sizeof(lapic), false);
	return e ? e : restore_ioctl(c, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", "SNAP_VCPU_LAPIC");
}

static int restore_debugregs(struct restore_ctx *c)
{
	struct kvm_debugregs d;
	int e = get_exact(c, SNAP_VCPU_DEBUGREGS, "SNAP_VCPU_DEBUGREGS", &d, sizeof(d), true);
	if (e)
		return e < 0 ? e : 0;
	if (d.flags)
		return bad(c, "SNAP_VCPU_DEBUGREGS", "flags must be 0");
	return restore_ioctl(c, KVM_SET_DEBUGREGS, &d, "KVM_SET_DEBUGREGS", "SNAP_VCPU_DEBUGREGS");
}

static int restore_events(struct restore_ctx *c)
{
	struct kvm_vcpu_events ev;
	int e = get_exact(c, SNAP_VCPU_EVENTS, "SNAP_VCPU_EVENTS", &ev, sizeof(ev), false);
	if (e)
		return e;
	if (ev.flags & ~EVENTS_KNOWN_FLAGS)
		return bad(c, "SNAP_VCPU_EVENTS", "unknown flags");
	/* KVM_GET_VCPU_EVENTS does not set these input-only flags; without them the pending NMI
	 * and the SIPI vector would not be restored. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	return restore_ioctl(c, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS",
			     "SNAP_VCPU_EVENTS");
}

static int restore_mp_state(struct restore_ctx *c)
{
	struct kvm_mp_state mp;
	int e = get_exact(c, SNAP_VCPU_MP_STATE, "SNAP_VCPU_MP_STATE", &mp, sizeof(mp), false);
	if (e)
		return e;
	if (mp.mp_state > KVM_MP_STATE_SUSPENDED)
		return bad(c, "SNAP_VCPU_MP_STATE", "unknown state");
	return restore_ioctl(c, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", "SNAP_VCPU_MP_STATE");
}

int kvm_vcpu_restore(int dev_fd, int vcpu_fd, unsigned index, snap_get_fn get, void *r, char *err,
		     size_t errlen)
{
	struct restore_ctx c = {dev_fd, vcpu_fd, index, get, r, err, errlen};
	int (*const steps[])(struct restore_ctx *) = {
	    restore_cpuid, restore_regs,      restore_xsave,  restore_xcrs,	restore_lapic,
	    restore_msrs,  restore_debugregs, restore_events, restore_mp_state,
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int e = steps[i](&c);
		if (e)
			return e;
	}
	return 0;
}

/* ---- VM ---- */

static int vm_ioctl_msg(int vm_fd, unsigned long req, void *arg, const char *what, char *err,
			size_t errlen)
{
	if (kvm_ioctl(vm_fd, req, arg) < 0) {
		int e = errno;
		set_err(err, errlen, "%s failed: %s", what, strerror(e));
		return -e;
	}
	return 0;
}

static int vm_put(snap_put_fn put, void *w, uint32_t tag, uint32_t inst, const void *data,
		  size_t len, const char *name, char *err, size_t errlen)
{
	int e = put(w, tag, inst, data, len);
	if (e)
		set_err(err, errlen, "cannot store %s: %s", name, strerror(-e));
	return e;
}

int kvm_vm_flush_to_ram(const struct kvm *kvm, char *err, size_t errlen)
{
	(void)kvm, (void)err, (void)errlen;
	return 0; /* the irqchip keeps nothing in guest RAM */
}

int kvm_vm_save(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_put_fn put,
		void *w, char *err, size_t errlen)
{
	(void)vcpu_fds, (void)ncpus; /* the irqchip is the VM's */
	int vm_fd = kvm->vm_fd;
	int e = 0;
	for (uint32_t id = KVM_IRQCHIP_PIC_MASTER; id <= KVM_IRQCHIP_IOAPIC && !e; id++) {
		struct kvm_irqchip chip = {.chip_id = id};
		e = vm_ioctl_msg(vm_fd, KVM_GET_IRQCHIP, &chip, "KVM_GET_IRQCHIP", err, errlen);
		if (!e)
			e = vm_put(put, w, SNAP_VM_IRQCHIP, id, &chip, sizeof(chip),
				   "SNAP_VM_IRQCHIP", err, errlen);
	}
	struct kvm_pit_state2 pit;
	memset(&pit, 0, sizeof(pit));
	if (!e)
		e = vm_ioctl_msg(vm_fd, KVM_GET_PIT2, &pit, "KVM_GET_PIT2", err, errlen);
	if (!e)
		e = vm_put(put, w, SNAP_VM_PIT, 0, &pit, sizeof(pit), "SNAP_VM_PIT", err, errlen);
	struct kvm_clock_data clock;
	memset(&clock, 0, sizeof(clock));
	if (!e)
		e = vm_ioctl_msg(vm_fd, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK", err, errlen);
	if (!e)
		e = vm_put(put, w, SNAP_VM_CLOCK, 0, &clock, sizeof(clock), "SNAP_VM_CLOCK", err,
			   errlen);
	return e;
}

/* Copies the VM section (tag, inst) of exactly `want` bytes into dst, or -EINVAL. */
static int vm_get(snap_get_fn get, void *r, uint32_t tag, uint32_t inst, void *dst, size_t want,
		  const char *name, char *err, size_t errlen)
{
	size_t len = 0;
	const void *p = get(r, tag, inst, &len);
	if (!p) {
		set_err(err, errlen, "%s %u missing from the snapshot", name, inst);
		return -EINVAL;
	}
	if (len != want) {
		set_err(err, errlen, "%s %u has %zu bytes, expected %zu", name, inst, len, want);
		return -EINVAL;
	}
	memcpy(dst, p, want);
	return 0;
}

static int restore_irqchips(int vm_fd, snap_get_fn get, void *r, char *err, size_t errlen)
{
	for (uint32_t id = KVM_IRQCHIP_PIC_MASTER; id <= KVM_IRQCHIP_IOAPIC; id++) {
		struct kvm_irqchip chip;
		int e = vm_get(get, r, SNAP_VM_IRQCHIP, id, &chip, sizeof(chip), "SNAP_VM_IRQCHIP",
			       err, errlen);
		if (e)
			return e;
		if (chip.chip_id != id) {
			set_err(err, errlen, "SNAP_VM_IRQCHIP %u: holds chip %u", id, chip.chip_id);
			return -EINVAL;
		}
		e = vm_ioctl_msg(vm_fd, KVM_SET_IRQCHIP, &chip, "KVM_SET_IRQCHIP", err, errlen);
		if (e)
			return e;
	}
	return 0;
}

static int restore_pit(int vm_fd, snap_get_fn get, void *r, char *err, size_t errlen)
{
	struct kvm_pit_state2 pit;
	int e = vm_get(get, r, SNAP_VM_PIT, 0, &pit, sizeof(pit), "SNAP_VM_PIT", err, errlen);
	if (e)
		return e;
	if (pit.flags & ~(uint32_t)(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)) {
		set_err(err, errlen, "SNAP_VM_PIT: unknown flags 0x%x", pit.flags);
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		/* 0-5, or 0xff: a channel never programmed (KVM's reset value) */
		if (pit.channels[i].mode > 5 && pit.channels[i].mode != 0xff) {
			set_err(err, errlen, "SNAP_VM_PIT: channel %d in mode %u", i,
				pit.channels[i].mode);
			return -EINVAL;
		}
	}
	return vm_ioctl_msg(vm_fd, KVM_SET_PIT2, &pit, "KVM_SET_PIT2", err, errlen);
}

/* KVM_CLOCK_REALTIME asked of KVM_SET_CLOCK: refused unless this host's KVM takes it
 * (KVM_CAP_ADJUST_CLOCK lists it, Linux >= 5.16) and the snapshot's KVM_GET_CLOCK gave a realtime
 * stamp (KVM gives one only while its kvmclock runs from a stable TSC master clock). */
static int clock_realtime_ok(int vm_fd, const struct kvm_clock_data *saved, char *err,
			     size_t errlen)
{
	int caps = kvm_ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK);
	if (caps < 0 || !(caps & KVM_CLOCK_REALTIME)) {
		set_err(err, errlen,
			"clock_realtime: this host's KVM cannot advance kvmclock by the wall time "
			"(no KVM_CLOCK_REALTIME in KVM_CAP_ADJUST_CLOCK; Linux 5.16 or later)");
		return -EOPNOTSUPP;
	}
	if (!(saved->flags & KVM_CLOCK_REALTIME)) {
		set_err(
		    err, errlen,
		    "clock_realtime: the snapshot's kvmclock has no wall-clock stamp (the host "
		    "that took it gave none: KVM stamps it only with a stable TSC master clock), "
		    "so the time since the snapshot is unknown; load it without clock_realtime");
		return -EINVAL;
	}
	return 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Sets kvmclock from the snapshot: as saved, or (clock_realtime) advanced by the wall time
 * since the saved stamp, which KVM adds itself when given KVM_CLOCK_REALTIME. */
static int restore_clock(int vm_fd, const struct kvm_clock_data *saved, bool clock_realtime,
			 char *err, size_t errlen)
{
	struct kvm_clock_data clock = {.clock = saved->clock};
	if (clock_realtime) {
		int e = clock_realtime_ok(vm_fd, saved, err, errlen);
		if (e)
			return e;
		clock.flags = KVM_CLOCK_REALTIME;
		clock.realtime = saved->realtime;
	}
	uint64_t now = realtime_ns();
	int e = vm_ioctl_msg(vm_fd, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK", err, errlen);
	if (!e && clock_realtime) {
		/* KVM adds nothing for a stamp in the future (a host clock set back) */
		uint64_t ahead = now > saved->realtime ? now - saved->realtime : 0;
		log_info("clock_realtime: kvmclock advanced by %llu.%03llu s, the wall time since "
			 "the snapshot",
			 (unsigned long long)(ahead / 1000000000ull),
			 (unsigned long long)(ahead / 1000000ull % 1000));
	}
	return e;
}

int kvm_vm_restore(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
		   void *r, bool clock_realtime, char *err, size_t errlen)
{
	(void)vcpu_fds, (void)ncpus;
	int vm_fd = kvm->vm_fd;
	int e = restore_irqchips(vm_fd, get, r, err, errlen);
	if (!e)
		e = restore_pit(vm_fd, get, r, err, errlen);
	struct kvm_clock_data saved;
	if (!e)
		e = vm_get(get, r, SNAP_VM_CLOCK, 0, &saved, sizeof(saved), "SNAP_VM_CLOCK", err,
			   errlen);
	if (!e)
		e = restore_clock(vm_fd, &saved, clock_realtime, err, errlen);
	return e;
}

int kvm_vm_restore_late(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
			void *r, bool clock_realtime, char *err, size_t errlen)
{
	(void)kvm, (void)vcpu_fds, (void)ncpus, (void)get, (void)r, (void)clock_realtime;
	(void)err, (void)errlen;
	return 0; /* kvmclock is the VM's: kvm_vm_restore() set it */
}
