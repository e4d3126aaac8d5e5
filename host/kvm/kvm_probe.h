/* Can this host run a VM? One probe answers it for the VMM's error message, `vmm --check-kvm`,
 * tools/boot.sh and the tests (tools/kvm-probe.sh is its shell twin: the reason texts and the
 * one-line format below are shared, so keep them in step).
 *
 * The steps, in order, each with its own reason and fix when it fails:
 *   1. the device exists (if not: is the kvm module loaded at all, or only the core module with
 *      no vendor module to register /dev/kvm?),
 *   2. it is a character device,
 *   3. it opens read-write (EACCES/EPERM: the kvm group),
 *   4. KVM_GET_API_VERSION answers 12 (KVM's stable API),
 *   5. KVM_CREATE_VM works (EBUSY: another hypervisor holds VT-x/AMD-V; else virtualization or
 *      nested virtualization is off).
 * Only a usable KVM gets a kind: hardware (kvm_intel, kvm_amd) or emulated (kvm_pvm, which wins
 * when it is loaded beside a vendor module, since it is then the one serving /dev/kvm). */
#ifndef VMM_KVM_PROBE_H
#define VMM_KVM_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum kvm_kind {
	KVM_KIND_NONE,	  /* not usable: no kind is claimed */
	KVM_KIND_UNKNOWN, /* usable, but none of the modules below is loaded */
	KVM_KIND_INTEL,	  /* hardware: kvm_intel */
	KVM_KIND_AMD,	  /* hardware: kvm_amd */
	KVM_KIND_PVM,	  /* emulated in software: kvm_pvm */
};

struct kvm_probe {
	bool usable;
	enum kvm_kind kind; /* KVM_KIND_NONE unless usable */
	int err;	    /* errno of the failed step (0 when usable) */
	char reason[192];   /* when unusable: what is wrong, one line, no final period */
	char fix[384];	    /* when unusable: what to do about it, one line, no final period */
};

/* kvm_probe_at(path, "/sys", out). */
int kvm_probe(const char *path, struct kvm_probe *out);

/* The probe's result as one line without newline, the format tools/kvm-probe.sh prints too:
 *   "kvm: usable (hardware, kvm_intel)", "... (hardware, kvm_amd)", "... (emulated, kvm_pvm)",
 *   "kvm: usable (unknown module)", or "kvm: unusable: <reason>; fix: <fix>".
 * Truncated to fit `len`; returns `buf`. */
char *kvm_probe_line(const struct kvm_probe *p, char *buf, size_t len);

#endif
