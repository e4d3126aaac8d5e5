/* arm64-kvm-probe: proves that an arm64 KVM (the L1 of `tools/kvm-in-qemu/run.sh --arch aarch64`,
 * or any arm64 host) runs a guest the way the VMM will drive one, and is the smallest reference
 * of that sequence for the team (issue 67):
 *
 *   /dev/kvm -> KVM_CREATE_VM (type 0: the default 40-bit IPA space) -> KVM_CREATE_VCPU ->
 *   KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT (PSCI 0.2) -> an in-kernel GICv3
 *   (KVM_CREATE_DEVICE, distributor and redistributor addresses, SPI count, CTRL_INIT) and its
 *   ITS (the MSI controller of PCI devices) ->
 *   64 KiB of RAM at 2 GiB holding seven instructions -> PC through KVM_SET_ONE_REG -> KVM_RUN
 *
 * The guest writes the byte 123 to 0x40000000 (the boot timer's address in the VMM's arm64 map,
 * base/aarch64/arch/layout.h: nothing is mapped there, so KVM exits with KVM_EXIT_MMIO) and then
 * calls PSCI SYSTEM_OFF through `hvc #0`, which KVM's PSCI turns into KVM_EXIT_SYSTEM_EVENT
 * (SHUTDOWN). First it prints the capabilities the VMM relies on. With --exits N the guest
 * writes N times (x3, set through KVM_SET_ONE_REG, counts them) and the probe prints the time of
 * one MMIO exit and return: what a device register access costs on this KVM.
 *
 * Prints one line per fact and "arm64-kvm-probe: ok" at the end; exits 0 when every exit came as
 * expected, 1 (with the reason) otherwise, 2 on a bad argument.
 *   aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -o arm64-kvm-probe arm64-kvm-probe.c
 *   arm64-kvm-probe [--exits N] [/dev/kvm] */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if !defined(__aarch64__)
#error "arm64-kvm-probe is an arm64 program (aarch64-linux-gnu-gcc)"
#endif

/* The VMM's arm64 map (base/aarch64/arch/layout.h): the GICv3 distributor at the top of the
 * first GiB, one redistributor (RD_base + SGI_base frames, 128 KiB) per vCPU below it. */
#define GIC_DIST_BASE	0x3fff0000ULL
#define GIC_REDIST_BASE 0x3ffd0000ULL
#define GIC_ITS_BASE	0x3ffb0000ULL /* below the redistributors, 128 KiB */
#define GIC_NR_IRQS	(32 + 128)    /* SGIs and PPIs, then the SPIs; a multiple of 32 */
#define MMIO_ADDR	0x40000000ULL
#define MMIO_BYTE	123
#define RAM_BASE	0x80000000ULL
#define RAM_SIZE	0x10000ULL

/* The function ID the guest puts in x0 (linux/psci.h, through linux/kvm.h). */
_Static_assert(PSCI_0_2_FN_SYSTEM_OFF == 0x84000008U, "PSCI 0.2 SYSTEM_OFF");

/* The guest, assembled by hand (aarch64-linux-gnu-as and objdump agree). The vCPU starts at EL1
 * with its MMU off, where every data access is Device memory, so the store exits as MMIO with a
 * valid syndrome (ISV): KVM can decode it without reading the instruction. */
static const uint32_t guest_code[] = {
    0xd2a80001, /* movz x1, #0x4000, lsl #16   x1 = MMIO_ADDR */
    0x52800f62, /* movz w2, #123               w2 = MMIO_BYTE */
    0x39000022, /* 1: strb w2, [x1]            -> KVM_EXIT_MMIO */
    0xf1000463, /* subs x3, x3, #1             x3: the writes left (set by the probe) */
    0x54ffffc1, /* b.ne 1b */
    0xd2800100, /* movz x0, #0x0008 */
    0xf2b08000, /* movk x0, #0x8400, lsl #16   x0 = PSCI SYSTEM_OFF */
    0xd4000002, /* hvc  #0                     -> KVM_EXIT_SYSTEM_EVENT */
    0x14000000, /* b    .                      never reached */
};

struct probe {
	int kvm, vm, vcpu, gic;
	struct kvm_run *run;
	size_t run_size;
	void *ram;
};

static int fail(const char *what)
{
	fprintf(stderr, "arm64-kvm-probe: FAIL: %s: %s\n", what, strerror(errno));
	return -1;
}

static int fail_msg(const char *what)
{
	fprintf(stderr, "arm64-kvm-probe: FAIL: %s\n", what);
	return -1;
}

/* The capabilities the VMM's arm64 port builds on, as KVM_CHECK_EXTENSION answers them on the VM
 * (some, like the IPA size, are per VM on arm64). */
static void print_caps(int fd)
{
	static const struct {
		const char *name;
		long cap;
	} caps[] = {
	    {"KVM_CAP_ARM_VM_IPA_SIZE", KVM_CAP_ARM_VM_IPA_SIZE},
	    {"KVM_CAP_IRQFD", KVM_CAP_IRQFD},
	    {"KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD},
	    {"KVM_CAP_ARM_PSCI_0_2", KVM_CAP_ARM_PSCI_0_2},
	    {"KVM_CAP_ONE_REG", KVM_CAP_ONE_REG},
	    {"KVM_CAP_ARM_PMU_V3", KVM_CAP_ARM_PMU_V3},
	    {"KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS},
	    {"KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS},
	    {"KVM_CAP_IRQ_ROUTING", KVM_CAP_IRQ_ROUTING},
	    {"KVM_CAP_SIGNAL_MSI", KVM_CAP_SIGNAL_MSI},
	    {"KVM_CAP_MSI_DEVID", KVM_CAP_MSI_DEVID},
	    {"KVM_CAP_ARM_IRQ_LINE_LAYOUT_2", KVM_CAP_ARM_IRQ_LINE_LAYOUT_2},
	    {"KVM_CAP_ARM_EL1_32BIT", KVM_CAP_ARM_EL1_32BIT},
	    {"KVM_CAP_ARM_SVE", KVM_CAP_ARM_SVE},
	    {"KVM_CAP_ARM_PTRAUTH_ADDRESS", KVM_CAP_ARM_PTRAUTH_ADDRESS},
	    {"KVM_CAP_ARM_MTE", KVM_CAP_ARM_MTE},
	    {"KVM_CAP_READONLY_MEM", KVM_CAP_READONLY_MEM},
	    {"KVM_CAP_USER_MEMORY2", 231 /* 6.8+; 0 on older kernels */},
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("arm64-kvm-probe: %s = %d\n", caps[i].name,
		       ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap));
}

/* Which in-kernel interrupt controllers this KVM can create (KVM_CREATE_DEVICE_TEST creates
 * nothing): GICv3, its ITS (MSI/MSI-X of PCI devices), GICv2 (absent on GICv3-only hosts). */
static void print_devices(int vm)
{
	static const struct {
		const char *name;
		uint32_t type;
	} devs[] = {
	    {"KVM_DEV_TYPE_ARM_VGIC_V3", KVM_DEV_TYPE_ARM_VGIC_V3},
	    {"KVM_DEV_TYPE_ARM_VGIC_ITS", KVM_DEV_TYPE_ARM_VGIC_ITS},
	    {"KVM_DEV_TYPE_ARM_VGIC_V2", KVM_DEV_TYPE_ARM_VGIC_V2},
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		struct kvm_create_device cd = {.type = devs[i].type,
					       .flags = KVM_CREATE_DEVICE_TEST};
		int rc = ioctl(vm, KVM_CREATE_DEVICE, &cd);
		printf("arm64-kvm-probe: %s: %s\n", devs[i].name,
		       rc == 0 ? "supported" : strerror(errno));
	}
}

static int open_vm(struct probe *p, const char *dev)
{
	int ipa;

	p->kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (p->kvm < 0)
		return fail(dev);
	if (ioctl(p->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return fail_msg("KVM_GET_API_VERSION is not 12");
	/* Type 0: a 40-bit IPA space, what every arm64 KVM supports (the VMM's LAYOUT_PHYS_MAX);
	 * KVM_VM_TYPE_ARM_IPA_SIZE(bits) would ask for another size up to the reported maximum. */
	p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
	if (p->vm < 0)
		return fail("KVM_CREATE_VM");
	ipa = ioctl(p->kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	printf("arm64-kvm-probe: VM created (IPA: 40 bits, up to %d)\n", ipa);
	print_caps(p->vm);
	print_devices(p->vm);
	return 0;
}

static int create_vcpu(struct probe *p)
{
	struct kvm_vcpu_init init;
	struct kvm_reg_list probe_list = {.n = 0};
	int size;

	p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
	if (p->vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	p->run_size = (size_t)size;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu, 0);
	if (p->run == MAP_FAILED)
		return fail("mmap of kvm_run");
	/* The host CPU's own target (there is no portable fixed one), plus PSCI 0.2, which makes
	 * KVM answer the guest's PSCI calls (CPU_ON, SYSTEM_OFF, SYSTEM_RESET) itself. */
	memset(&init, 0, sizeof(init));
	if (ioctl(p->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return fail("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(p->vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return fail("KVM_ARM_VCPU_INIT");
	/* n = 0 fails with E2BIG and says how many registers a snapshot would walk. */
	if (ioctl(p->vcpu, KVM_GET_REG_LIST, &probe_list) < 0 && errno != E2BIG)
		return fail("KVM_GET_REG_LIST");
	printf("arm64-kvm-probe: vCPU 0 initialised (target %u, PSCI 0.2), %llu registers in "
	       "KVM_GET_REG_LIST\n",
	       init.target, (unsigned long long)probe_list.n);
	return 0;
}

static int gic_attr(int gic, uint32_t group, uint64_t attr, void *val)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)val};

	return ioctl(gic, KVM_SET_DEVICE_ATTR, &a);
}

/* The in-kernel GICv3. Created after the vCPUs and initialised last: CTRL_INIT sizes the
 * redistributors for the vCPUs that exist, and no vCPU may be created after it. */
static int create_gic(struct probe *p)
{
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
	uint64_t dist = GIC_DIST_BASE, redist = GIC_REDIST_BASE;
	uint32_t nr_irqs = GIC_NR_IRQS;

	if (ioctl(p->vm, KVM_CREATE_DEVICE, &cd) < 0)
		return fail("KVM_CREATE_DEVICE (VGIC_V3)");
	p->gic = (int)cd.fd;
	if (gic_attr(p->gic, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist) < 0)
		return fail("the GIC distributor's address");
	if (gic_attr(p->gic, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist) < 0)
		return fail("the GIC redistributors' address");
	if (gic_attr(p->gic, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs) < 0)
		return fail("the GIC's interrupt count");
	if (gic_attr(p->gic, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL) < 0)
		return fail("KVM_DEV_ARM_VGIC_CTRL_INIT");
	printf("arm64-kvm-probe: GICv3 at 0x%llx (redistributors at 0x%llx), %u interrupts\n",
	       GIC_DIST_BASE, GIC_REDIST_BASE, nr_irqs);
	return 0;
}

/* The GICv3's ITS, which turns a PCI device's MSI write (KVM_SIGNAL_MSI or an MSI route, each
 * with the device's ID: KVM_CAP_MSI_DEVID answers 1 once an ITS exists) into an LPI. */
static int create_its(struct probe *p)
{
	struct kvm_create_device cd = {.type = KVM_DEV_TYPE_ARM_VGIC_ITS};
	uint64_t base = GIC_ITS_BASE;
	int its;

	if (ioctl(p->vm, KVM_CREATE_DEVICE, &cd) < 0)
		return fail("KVM_CREATE_DEVICE (VGIC_ITS)");
	its = (int)cd.fd;
	if (gic_attr(its, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &base) < 0)
		return fail("the ITS's address");
	if (gic_attr(its, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL) < 0)
		return fail("the ITS's KVM_DEV_ARM_VGIC_CTRL_INIT");
	printf("arm64-kvm-probe: ITS at 0x%llx, KVM_CAP_MSI_DEVID now %d\n", GIC_ITS_BASE,
	       ioctl(p->vm, KVM_CHECK_EXTENSION, KVM_CAP_MSI_DEVID));
	close(its);
	return 0;
}

static int map_ram(struct probe *p)
{
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = RAM_BASE,
	    .memory_size = RAM_SIZE,
	};

	p->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->ram == MAP_FAILED)
		return fail("mmap of guest RAM");
	memcpy(p->ram, guest_code, sizeof(guest_code));
	region.userspace_addr = (uintptr_t)p->ram;
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/* PC and x0-x30 are core registers: a core register's ONE_REG id is its offset in struct
 * kvm_regs, in 32-bit units. */
#define CORE_REG(name)                                                                             \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(name))

static int set_reg(struct probe *p, uint64_t id, uint64_t val, const char *what)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)&val};

	if (ioctl(p->vcpu, KVM_SET_ONE_REG, &reg) < 0)
		return fail(what);
	return 0;
}

static int set_regs(struct probe *p, uint64_t exits)
{
	if (set_reg(p, CORE_REG(regs.pc), RAM_BASE, "KVM_SET_ONE_REG (pc)") < 0 ||
	    set_reg(p, CORE_REG(regs.regs[3]), exits, "KVM_SET_ONE_REG (x3)") < 0)
		return -1;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_once(struct probe *p, uint32_t want)
{
	if (ioctl(p->vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN");
	if (p->run->exit_reason != want) {
		fprintf(stderr, "arm64-kvm-probe: FAIL: exit reason %u, expected %u\n",
			p->run->exit_reason, want);
		return -1;
	}
	return 0;
}

static int mmio_exit(struct probe *p)
{
	struct kvm_run *r = p->run;

	if (run_once(p, KVM_EXIT_MMIO) < 0)
		return -1;
	if (!r->mmio.is_write || r->mmio.phys_addr != MMIO_ADDR || r->mmio.len != 1 ||
	    r->mmio.data[0] != MMIO_BYTE) {
		fprintf(stderr,
			"arm64-kvm-probe: FAIL: MMIO exit: %s 0x%llx len %u data %u, expected the "
			"guest's 1-byte write of %u to 0x%llx\n",
			r->mmio.is_write ? "write" : "read", (unsigned long long)r->mmio.phys_addr,
			r->mmio.len, r->mmio.data[0], MMIO_BYTE, MMIO_ADDR);
		return -1;
	}
	return 0;
}

/* EXITS MMIO exits (a write needs nothing from us: the next KVM_RUN completes it), then the
 * PSCI SYSTEM_OFF. */
static int run_guest(struct probe *p, uint64_t exits)
{
	struct kvm_run *r = p->run;
	double t0 = now();

	for (uint64_t i = 0; i < exits; i++)
		if (mmio_exit(p) < 0)
			return -1;
	printf("arm64-kvm-probe: exits 1-%llu: KVM_EXIT_MMIO write 0x%llx len 1 data %u\n",
	       (unsigned long long)exits, MMIO_ADDR, MMIO_BYTE);
	if (exits > 1)
		printf("arm64-kvm-probe: %.1f us per MMIO exit and return\n",
		       (now() - t0) * 1e6 / (double)exits);
	if (run_once(p, KVM_EXIT_SYSTEM_EVENT) < 0)
		return -1;
	printf("arm64-kvm-probe: exit %llu: KVM_EXIT_SYSTEM_EVENT type %u\n",
	       (unsigned long long)exits + 1, r->system_event.type);
	if (r->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN)
		return fail_msg("the system event is not SHUTDOWN (PSCI SYSTEM_OFF)");
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p = {.kvm = -1, .vm = -1, .vcpu = -1, .gic = -1};
	const char *dev = "/dev/kvm";
	uint64_t exits = 1;
	char *end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--exits") == 0 && i + 1 < argc) {
			exits = strtoull(argv[++i], &end, 10);
			if (*end != '\0' || exits == 0 || exits > 100000000) {
				fprintf(stderr, "arm64-kvm-probe: --exits: 1 to 100000000\n");
				return 2;
			}
		} else if (argv[i][0] != '-') {
			dev = argv[i];
		} else {
			fprintf(stderr, "usage: arm64-kvm-probe [--exits N] [/dev/kvm]\n");
			return 2;
		}
	}
	if (open_vm(&p, dev) < 0 || create_vcpu(&p) < 0 || create_gic(&p) < 0 ||
	    create_its(&p) < 0 || map_ram(&p) < 0 || set_regs(&p, exits) < 0 ||
	    run_guest(&p, exits) < 0)
		return 1;
	printf("arm64-kvm-probe: ok\n");
	return 0;
}
