/* The CPU model of an arm64 snapshot or migration (vmm/snapshot/cpu_check.h): vCPU 0's ID
 * registers (host/kvm/aarch64/cpu_ids.h), checked against what this host's KVM presents before
 * anything runs. "The same kind of host": every register must be equal, MIDR_EL1 (implementer,
 * part, revision) included, but for the bits the host's KVM lets user space lower (Linux 6.7 and
 * later: a guest started with a CPU template has lowered them, and the restore sets them again);
 * KVM would refuse any other difference at the restore anyway, this says so first and names it.
 *
 * Encoding: CPU_MODEL_AARCH64_MAGIC (8 bytes), u32 count, u32 zero, then count pairs of u64
 * (register ID as KVM_GET_ONE_REG names it, value), little-endian. A model without the magic is
 * another architecture's: the snapshot is refused as not an aarch64 VM's. */
#include "vmm/snapshot/cpu_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "base/errors.h"
#include "base/log.h"
#include "host/kvm/aarch64/cpu_ids.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/vm/vm.h"

#define MODEL_HDR 16
#define MODEL_LEN (MODEL_HDR + 16 * ARM64_CPU_IDS)

static void put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t *encode(const struct vm *vm, size_t *len)
{
	uint64_t vals[ARM64_CPU_IDS];
	uint8_t *p;
	*len = 0;
	if (!vm->ncpus || arm64_cpu_ids_of_vcpu(vm->vcpus[0].fd, vals) ||
	    !(p = calloc(1, MODEL_LEN)))
		return NULL;
	memcpy(p, CPU_MODEL_AARCH64_MAGIC, 8);
	p[8] = ARM64_CPU_IDS;
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++) {
		put64(p + MODEL_HDR + 16 * i, arm64_cpu_id_regs[i]);
		put64(p + MODEL_HDR + 16 * i + 8, vals[i]);
	}
	*len = MODEL_LEN;
	return p;
}

int cpu_check_put_model(const struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	size_t len;
	uint8_t *p = encode(vm, &len);
	int r = p ? snap_put(w, SNAP_CPU_MODEL, 0, p, len) : -EIO;
	if (r)
		snprintf(err, errlen, "cannot record the CPU model (vCPU 0's ID registers): %s",
			 strerror(-r));
	free(p);
	return r;
}

void cpu_check_note_restored(struct vm *vm, struct snap_reader *r)
{
	(void)vm, (void)r; /* the ID registers are the host's, equal to the snapshot's */
}

uint8_t *cpu_check_encode_vm(const struct vm *vm, size_t *len)
{
	return encode(vm, len);
}

/* The model's values, in arm64_cpu_id_regs order. Returns 0, or -EINVAL with the reason. */
static int decode(const uint8_t *p, size_t len, uint64_t saved[ARM64_CPU_IDS], char *why,
		  size_t whylen)
{
	if (len < 8 || memcmp(p, CPU_MODEL_AARCH64_MAGIC, 8)) {
		snprintf(why, whylen,
			 "not a snapshot of an aarch64 VM (its CPU model is another "
			 "architecture's)");
		return -EINVAL;
	}
	if (len != MODEL_LEN || get64(p + 8) != ARM64_CPU_IDS) {
		snprintf(why, whylen, "an aarch64 CPU model of %zu bytes, this vmm reads %d", len,
			 MODEL_LEN);
		return -EINVAL;
	}
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++) {
		if (get64(p + MODEL_HDR + 16 * i) != arm64_cpu_id_regs[i]) {
			snprintf(why, whylen, "an aarch64 CPU model with unknown registers");
			return -EINVAL;
		}
		saved[i] = get64(p + MODEL_HDR + 16 * i + 8);
	}
	return 0;
}

/* ID_AA64PFR0_EL1.GIC (bits 27:24): 1 where the host's KVM gives VMs a GICv3 (its system-register
 * CPU interface), 0 where it offers only a GICv2. */
#define PFR0_GIC (0xfULL << 24)

/* What differs in register i: the GIC said as such when it is all that differs. */
static void describe(unsigned i, uint64_t host, uint64_t saved, char *text, size_t textlen)
{
	if (!strcmp(arm64_cpu_id_names[i], "ID_AA64PFR0_EL1") && !((host ^ saved) & ~PFR0_GIC))
		snprintf(text, textlen,
			 "the guest's VM has a %s and this host's KVM %s (ID_AA64PFR0_EL1.GIC)",
			 saved & PFR0_GIC ? "GICv3" : "GICv2",
			 host & PFR0_GIC ? "gives VMs a GICv3" : "offers only a GICv2");
	else
		snprintf(text, textlen, "its %s is 0x%016llx, the guest's 0x%016llx (another CPU)",
			 arm64_cpu_id_names[i], (unsigned long long)host,
			 (unsigned long long)saved);
}

/* Decodes (first: a foreign model is refused without asking KVM), reads the host's registers and
 * compares: 0 with *ok (and what differs in text), or -errno with the reason in err. */
static int judge(const void *bytes, size_t len, const char *what, const char *kvm_path, bool *ok,
		 char *text, size_t textlen, char *err, size_t errlen)
{
	uint64_t host[ARM64_CPU_IDS], saved[ARM64_CPU_IDS], writable[ARM64_CPU_IDS];
	char why[256];
	int r = decode(bytes, len, saved, why, sizeof(why));
	if (!r && (r = arm64_cpu_ids_of_host(kvm_path, host, writable, why, sizeof(why))))
		snprintf(err, errlen, "%s: this host's CPU cannot be read: %s", what, why);
	else if (r)
		snprintf(err, errlen, "%s: %s", what, why);
	if (r)
		return r;
	for (unsigned k = 0; k < ARM64_CPU_IDS;
	     k++) /* the GIC's kind must match, writable or not */
		if (!strcmp(arm64_cpu_id_names[k], "ID_AA64PFR0_EL1"))
			writable[k] &= ~PFR0_GIC;
	unsigned i = 0;
	while (i < ARM64_CPU_IDS && !((saved[i] ^ host[i]) & ~writable[i]))
		i++;
	*ok = i == ARM64_CPU_IDS;
	if (!*ok)
		describe(i, host[i], saved[i], text, textlen);
	return 0;
}

int cpu_check_model(const void *bytes, size_t len, const char *what, const char *kvm_path,
		    bool enforce, char *err, size_t errlen)
{
	char text[256] = "";
	bool ok = false;
	if (!bytes) {
		snprintf(err, errlen,
			 "%s carries no aarch64 CPU model: not a snapshot of an aarch64 VM", what);
		return -EINVAL;
	}
	int r = judge(bytes, len, what, kvm_path, &ok, text, sizeof(text), err, errlen);
	if (!r && !ok && enforce) {
		snprintf(err, errlen,
			 "%s: this host cannot run the guest: %s (vmm --cpu-check off accepts the "
			 "risk)",
			 what, text);
		r = -EINVAL;
	} else if (!r && !ok) {
		log_warn("%s: this host cannot run the guest: %s; going on (--cpu-check off)", what,
			 text);
	}
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
	char path[4096], err[2300], text[256] = "";
	struct snap_reader r;
	bool ok = false;
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_STATE_FILE);
	int ret = snap_open(&r, path, err, sizeof(err));
	if (!ret) {
		size_t len = 0;
		const void *p = snap_get(&r, SNAP_CPU_MODEL, 0, &len);
		ret = p ? judge(p, len, path, kvm_path, &ok, text, sizeof(text), err, sizeof(err))
			: -EINVAL;
		if (!p)
			snprintf(err, sizeof(err),
				 "no aarch64 CPU model: not a snapshot of an "
				 "aarch64 VM");
		snap_close(&r);
	}
	if (ret) {
		fprintf(stderr, "vmm: --check-cpu %s: %s\n", dir, err);
		return VMM_EXIT_USAGE;
	}
	printf("%s: %s\n", ok ? "ok" : "refused",
	       ok ? "this host's CPU presents the same ID registers as the guest's" : text);
	return ok ? VMM_EXIT_OK : VMM_EXIT_ERROR;
}
