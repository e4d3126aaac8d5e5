/* The CPU model of snapshots and migrations (x86: CPUID), and the check before a guest runs. See
 * vmm/snapshot/cpu_check.h. */
#include "vmm/snapshot/cpu_check.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/snapshot_io.h"
#include "base/x86/snapshot_tags.h"
#include "host/kvm/x86/cpu_model.h"
#include "vmm/migration/stream/mig_format.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/vm/vm.h"

/* The CPUID table of a SNAP_VCPU_CPUID section (struct kvm_cpuid2: nent, pad, entries), or NULL
 * when its length does not match its count. */
static const struct kvm_cpuid2 *cpuid_section(const void *p, size_t len)
{
	const struct kvm_cpuid2 *t = p;
	if (!p || len < sizeof(*t) || t->nent > CPUID_MAX_ENTRIES ||
	    len != sizeof(*t) + t->nent * sizeof(t->entries[0]))
		return NULL;
	return t;
}

/* The MSR indexes of a SNAP_VCPU_MSRS section (struct kvm_msrs: nmsrs, pad, entries) into
 * m->msrs; false when the section is absent or malformed. */
static bool msrs_of(struct cpu_model *m, const void *p, size_t len)
{
	const struct kvm_msrs *s = p;
	if (!p || len < sizeof(*s) || s->nmsrs > CPU_MODEL_MAX_MSRS ||
	    len != sizeof(*s) + s->nmsrs * sizeof(s->entries[0]))
		return false;
	for (uint32_t i = 0; i < s->nmsrs; i++)
		m->msrs[i] = s->entries[i].index;
	m->nmsrs = s->nmsrs;
	m->msrs_known = true;
	return true;
}

static int put_model(struct snap_writer *w, const struct cpu_model *m)
{
	size_t len = cpu_model_encoded_size(m);
	uint8_t *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	int r = cpu_model_encode(m, buf, len) == len ? snap_put(w, SNAP_CPU_MODEL, 0, buf, len)
						     : -EINVAL;
	free(buf);
	return r;
}

int cpu_check_put_model(const struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	size_t len = 0;
	const void *p;
	/* As set with KVM_SET_CPUID2, not KVM_GET_CPUID2's answer: kvm_pvm answers with the host
	 * CPU's own features there, more than it supports (docs/cpu.md). */
	const struct kvm_cpuid2 *cpuid = vm->guest_cpuid ? &vm->guest_cpuid->header : NULL;
	if (!cpuid) {
		p = snap_writer_get(w, SNAP_VCPU_CPUID, 0, &len);
		cpuid = cpuid_section(p, len);
	}
	if (!cpuid) {
		log_debug("snapshot: no CPUID of vCPU 0, no CPU model saved");
		return 0;
	}
	struct cpu_model *m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	cpu_model_from(m, cpuid, NULL, 0, false);
	p = snap_writer_get(w, SNAP_VCPU_MSRS, 0, &len);
	msrs_of(m, p, len);
	int r = put_model(w, m);
	free(m);
	if (r)
		snprintf(err, errlen, "cannot save the CPU model: %s", strerror(-r));
	return r;
}

void cpu_check_note_restored(struct vm *vm, struct snap_reader *r)
{
	size_t len = 0;
	const void *p = snap_get(r, SNAP_CPU_MODEL, 0, &len);
	struct cpu_model *m = p && vm->guest_cpuid ? malloc(sizeof(*m)) : NULL;
	if (m && !cpu_model_decode(p, len, m, NULL, 0)) {
		memcpy(vm->guest_cpuid, &m->cpuid, sizeof(*vm->guest_cpuid));
	} else if (vm->guest_cpuid && !p) {
		p = snap_get(r, SNAP_VCPU_CPUID, 0, &len);
		const struct kvm_cpuid2 *t = cpuid_section(p, len);
		if (t)
			memcpy(vm->guest_cpuid, t, len);
	}
	free(m);
}

/* A migration's HELLO has room for any CPU model without an MSR list (cpu_check_encode_vm()). */
_Static_assert(MIG_MAX_CPU_MODEL >= CPU_MODEL_HDR + CPUID_MAX_ENTRIES * CPU_MODEL_ENTRY,
	       "HELLO's CPU model limit");

uint8_t *cpu_check_encode_vm(const struct vm *vm, size_t *len)
{
	*len = 0;
	struct cpu_model *m = vm->guest_cpuid ? malloc(sizeof(*m)) : NULL;
	if (!m)
		return NULL;
	cpu_model_from(m, &vm->guest_cpuid->header, NULL, 0, false);
	size_t n = cpu_model_encoded_size(m);
	uint8_t *buf = malloc(n);
	if (buf && cpu_model_encode(m, buf, n) == n)
		*len = n;
	free(m);
	if (!*len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Both models on the heap: each is ~14 KiB. */
struct models {
	struct cpu_model *guest, *host;
	struct cpu_verdict verdict;
	char text[2048];
};

static struct models *models_new(void)
{
	struct models *s = calloc(1, sizeof(*s));
	if (s &&
	    (!(s->guest = malloc(sizeof(*s->guest))) || !(s->host = malloc(sizeof(*s->host))))) {
		free(s->guest);
		free(s);
		s = NULL;
	}
	return s;
}

static void models_free(struct models *s)
{
	if (s) {
		free(s->guest);
		free(s->host);
		free(s);
	}
}

/* Decodes and compares; *ok says whether the guest can run here. Returns 0 or -errno. */
static int judge(struct models *s, const void *bytes, size_t len, const char *what,
		 const char *kvm_path, bool *ok, char *err, size_t errlen)
{
	char why[256];
	if (len >= 8 && !memcmp(bytes, CPU_MODEL_AARCH64_MAGIC, 8)) {
		snprintf(err, errlen,
			 "%s: a snapshot of an aarch64 VM: this vmm runs x86_64 guests", what);
		return -EINVAL;
	}
	if (cpu_model_decode(bytes, len, s->guest, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -EINVAL;
	}
	int r = cpu_model_of_host(kvm_path, s->host, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "%s: %s", what, why);
		return r;
	}
	*ok = cpu_model_compare(s->guest, s->host, &s->verdict);
	cpu_verdict_text(&s->verdict, s->text, sizeof(s->text));
	return 0;
}

/* An error of opening the KVM device itself (cpuid_host_at()), not of asking it. */
static bool no_kvm_device(int r)
{
	return r == -ENOENT || r == -ENODEV || r == -ENXIO || r == -EACCES || r == -EPERM ||
	       r == -ENOTDIR;
}

int cpu_check_model(const void *bytes, size_t len, const char *what, const char *kvm_path,
		    bool enforce, char *err, size_t errlen)
{
	if (!bytes) {
		log_warn("%s carries no CPU model (made by an older vmm): the CPU is not checked",
			 what);
		return 0;
	}
	struct models *s = models_new();
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	bool ok = false;
	int r = judge(s, bytes, len, what, kvm_path, &ok, err, errlen);
	if (no_kvm_device(r)) {
		/* No guest can run: building the VM fails on the same device, with the KVM probe's
		 * message and its fix, the one place that says why KVM is unusable. */
		log_debug("%s: CPU not checked: %s", what, err);
		r = 0;
		ok = true;
	}
	if (!r && !ok && enforce) {
		snprintf(err, errlen,
			 "%s: this host cannot run the guest: %s (vmm --cpu-check off accepts the "
			 "risk)",
			 what, s->text);
		r = -EINVAL;
	} else if (!r && !ok) {
		log_warn("%s: this host cannot run the guest: %s; going on (--cpu-check off): the "
			 "guest may crash when it uses them",
			 what, s->text);
	}
	models_free(s);
	return r;
}

int cpu_check_reader(struct snap_reader *r, const char *what, const char *kvm_path, bool enforce,
		     char *err, size_t errlen)
{
	size_t len = 0;
	const void *p = snap_get(r, SNAP_CPU_MODEL, 0, &len);
	return cpu_check_model(p, len, what, kvm_path, enforce, err, errlen);
}

int cpu_check_snapshot_dir(const char *dir, const char *kvm_path)
{
	char path[4096], err[2300];
	struct snap_reader r;
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_STATE_FILE);
	int ret = snap_open(&r, path, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vmm: --check-cpu %s: %s\n", dir, err);
		return VMM_EXIT_USAGE;
	}
	size_t len = 0;
	const void *p = snap_get(&r, SNAP_CPU_MODEL, 0, &len);
	struct models *s = p ? models_new() : NULL;
	bool ok = false;
	if (!p)
		puts("unknown: the snapshot carries no CPU model (made by an older vmm)");
	else if (!s)
		ret = -ENOMEM;
	else if (!(ret = judge(s, p, len, path, kvm_path, &ok, err, sizeof(err))))
		printf("%s: %s\n", ok ? "ok" : "refused",
		       ok ? "this host can present every CPU feature the guest saw" : s->text);
	if (ret == -ENOMEM)
		snprintf(err, sizeof(err), "out of memory");
	if (ret)
		fprintf(stderr, "vmm: --check-cpu %s: %s\n", dir, err);
	models_free(s);
	snap_close(&r);
	return ret ? VMM_EXIT_USAGE : ok || !p ? VMM_EXIT_OK : VMM_EXIT_ERROR;
}
