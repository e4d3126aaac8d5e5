/* Writes the seed corpus of fuzz_snapshot_arm64 (its input format is there): the sections of a
 * real save (kvm_vcpu_save, kvm_vm_save of host/kvm/aarch64) over the in-memory KVM of
 * fake_kvm.h, whose vCPUs were given core, FP/SIMD, system and timer registers and whose GIC some
 * enabled, routed and prioritised SPIs, with the counter's wall-clock stamp, plus an arm64 CPU
 * model. Usage: fuzz_gen_snapshot_seeds
 * DIR (creates DIR/snapshot_arm64/seed-*; run under qemu-user by tools/fuzz/fuzz seeds). */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/aarch64/snapshot_tags.h"
#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/aarch64/gic_state.h"
#include "host/kvm/aarch64/gicv2_state.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_state.h"
#include "tools/fuzz/aarch64/fake_kvm.h"
#include "vmm/snapshot/cpu_check.h"

#define CORE(name, size)                                                                           \
	(KVM_REG_ARM64 | (size) | KVM_REG_ARM_CORE |                                               \
	 offsetof(struct kvm_regs, name) / sizeof(uint32_t))

static char dir[512];
static FILE *out;

static void die(const char *what, int e)
{
	fprintf(stderr, "gen_snapshot_seeds: %s: %s\n", what, strerror(e < 0 ? -e : e));
	exit(1);
}

static void u32(uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	fwrite(b, 1, 4, out);
}

/* The writer of the seed being made: each section in the target's framing. */
static int put(void *w, uint32_t tag, uint32_t inst, const void *data, size_t len)
{
	struct gic_dist_state d;
	(void)w;
	if (tag == SNAP_VM_GIC_DIST && len == sizeof(d)) { /* SPIs enabled, routed, prioritised */
		memcpy(&d, data, sizeof(d));
		d.ctlr = 0x12;
		d.isenabler[1] = 0x00ff00ff;
		d.ipriorityr[9] = 0xa0a0a0a0;
		d.irouter[40] = fake_kvm_mpidr(0);
		d.icfgr[3] = 0x55555555;
		data = &d;
	}
	struct gicv2_dist_state d2;
	if (tag == SNAP_VM_GICV2_DIST && len == sizeof(d2)) { /* SPIs on, aimed at vCPU 1 */
		memcpy(&d2, data, sizeof(d2));
		d2.ctlr = 1;
		d2.isenabler[1] = 0x0000ffff;
		d2.ipriorityr[9] = 0xa0a0a0a0;
		d2.itargetsr[9] = 0x02020202;
		d2.icfgr[3] = 0x55555555;
		data = &d2;
	}
	u32(tag), u32(inst), u32((uint32_t)len);
	fwrite(data, 1, len, out);
	return 0;
}

static void set_regs(int fd, unsigned index)
{
	uint64_t v128[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
	for (unsigned i = 0; i < 31; i++)
		arm64_set_reg(fd, CORE(regs.regs[i], KVM_REG_SIZE_U64), 0x1000u * i + index);
	arm64_set_reg(fd, CORE(regs.pc, KVM_REG_SIZE_U64), 0xffff800008000000ull);
	arm64_set_reg(fd, CORE(regs.pstate, KVM_REG_SIZE_U64), 0x3c5);
	struct kvm_one_reg r = {.id = CORE(fp_regs.vregs[0], KVM_REG_SIZE_U128),
				.addr = (uint64_t)(uintptr_t)v128};
	kvm_ioctl(fd, KVM_SET_ONE_REG, &r);
	uint32_t fpsr = 0x8000010;
	r = (struct kvm_one_reg){.id = CORE(fp_regs.fpsr, KVM_REG_SIZE_U32),
				 .addr = (uint64_t)(uintptr_t)&fpsr};
	kvm_ioctl(fd, KVM_SET_ONE_REG, &r);
	arm64_set_reg(fd, ARM64_SYS_REG(3, 0, 0, 0, 5), fake_kvm_mpidr(index)); /* MPIDR_EL1 */
	arm64_set_reg(fd, ARM64_SYS_REG(3, 0, 1, 0, 0), 0x30d5198d);		/* SCTLR_EL1 */
	arm64_set_reg(fd, KVM_REG_ARM_TIMER_CTL, 1);
	arm64_set_reg(fd, KVM_REG_ARM_TIMER_CVAL, 123456789);
	arm64_set_reg(fd, KVM_REG_ARM_TIMER_CNT, 123000000);
	arm64_set_reg(fd, KVM_REG_ARM_PSCI_VERSION, 0x10001);
}

static void model(void)
{
	uint8_t m[16 + 16 * ARM64_CPU_IDS] = {0};
	memcpy(m, CPU_MODEL_AARCH64_MAGIC, 8);
	m[8] = ARM64_CPU_IDS;
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++) {
		memcpy(m + 16 + 16 * i, &arm64_cpu_id_regs[i], 8);
		uint64_t v = 0x1100000000000000ull >> i | i;
		memcpy(m + 16 + 16 * i + 8, &v, 8);
	}
	put(NULL, SNAP_CPU_MODEL, 0, m, sizeof(m));
}

/* One seed: control bytes, then the saved sections of NCPUS vCPUs and the GIC. */
static void seed(const char *name, unsigned ncpus, bool its, uint32_t nr_irqs, uint8_t refuse,
		 uint8_t check)
{
	bool v2 = check & 8; /* a GICv2 VM (then no ITS) */
	char path[600], err[256];
	int fds[2] = {FAKE_KVM_VCPU0, FAKE_KVM_VCPU0 + 1};
	struct kvm kvm = {.dev_fd = FAKE_KVM_DEV,
			  .vm_fd = -1,
			  .gic_fd = FAKE_KVM_GIC,
			  .its_fd = its ? FAKE_KVM_ITS : -1,
			  .gic_version = v2 ? 2 : 3};
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	if (!(out = fopen(path, "wb")))
		die(path, errno);
	fake_kvm_reset();
	fake_kvm.nr_irqs = nr_irqs;
	fputc((ncpus - 1) | (its ? 2 : 0) | (int)((nr_irqs - 64) / 32) << 2, out);
	fputc(refuse, out);
	fputc(check, out);
	if (check & 7) /* the CPU check's and clock_realtime's control byte: a model to check */
		model();
	for (unsigned i = 0; i < ncpus; i++) {
		set_regs(fds[i], i);
		int r = kvm_vcpu_save(FAKE_KVM_DEV, fds[i], i, put, NULL, err, sizeof(err));
		if (r)
			die(err, r);
	}
	int r = kvm_vm_save(&kvm, fds, ncpus, put, NULL, err, sizeof(err));
	if (r)
		die(err, r);
	if (fclose(out))
		die(path, errno);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/snapshot_arm64", argv[1]);
	if (mkdir(dir, 0755) && errno != EEXIST)
		die(dir, errno);
	seed("one-vcpu", 1, false, 128, 0, 0);
	seed("two-vcpus-its", 2, true, 256, 0, 3);	       /* the model enforced, the host's */
	seed("1024-irqs-clock-realtime", 2, true, 1024, 0, 7); /* and clock_realtime */
	seed("kvm-refuses", 1, true, 96, 7, 0);
	seed("gicv2-two-vcpus", 2, false, 160, 0, 8);
	return 0;
}
