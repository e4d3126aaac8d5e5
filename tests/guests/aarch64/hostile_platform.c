/* The hostile guest's arm64 platform part (the virtio rules are hostile.c's, which arm64 runs
 * unchanged): what a guest can throw at the VMM outside virtqueues, each followed by a check
 * that the VMM is still there and serving:
 *
 *  1. unmapped MMIO: loads and stores of every width at addresses no device-tree node and no
 *     RAM covers (low memory, gaps in the device region, past the end of RAM, far above it);
 *     an access may complete (reads any value) or come back as an external abort (caught);
 *  2. odd accesses to every virtio-mmio window with a device: 8-, 16- and 64-bit loads and stores
 * of its registers, stores to read-only registers, loads of write-only ones, misaligned offsets (an
 * alignment fault in the guest, caught), the configuration space and past it; the window must still
 * read "virt" and a virtio-blk disk must still read sector 0's pattern;
 *  3. our VMM's own platform devices: the PL011 and the PL031 (every register, every width,
 *     garbage), then the console must still print;
 *  4. PSCI with bogus arguments: CPU_ON of MPIDRs that do not exist (INVALID_PARAMS), of the
 *     calling CPU (ALREADY_ON), twice of the same CPU (ALREADY_ON or ON_PENDING), AFFINITY_INFO
 *     of no CPU (INVALID_PARAMS) and at a bogus level, unknown function IDs (NOT_SUPPORTED),
 *     HVC with a nonzero immediate, SMC, CPU_SUSPEND with a bogus power state (returns: a timer
 *     wakes it); the calls without a "want" may return anything, they must just return;
 *
 * then "hostile_platform: ok" and the usual TEST PASS. With `nisv` the guest then loads a pair of
 * registers from a virtio-mmio window (`ldp`: no instruction syndrome, ESR_ELx.ISV 0, so KVM
 * cannot hand the access to the VMM): our VMM injects an external data abort, which is caught
 * and reported (another VMM may end the run there instead). Command line:
 * [skip=unmapped,odd,platform,psci] (any of them) [nisv]. Meant for our VMM (QEMU answers some
 * calls with an exception instead of an error code: both are accepted where the spec allows both).
 */
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "guest.h"
#include "serial.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"

#define MAX_RANGES  64
#define ESR_EC(esr) (((esr) >> 26) & 0x3f)

static struct {
	uint64_t base, size;
} ranges[MAX_RANGES];
static unsigned nranges;
static unsigned n_accesses, n_faults;

static bool skip(const char *part)
{
	char list[64] = "";

	return cmdline_get_str("skip", list, sizeof(list)) && strstr(list, part);
}

/* ---- what the device tree says is there ---- */

static void collect_ranges(void)
{
	struct dt t;
	int depth = 0;

	TEST_ASSERT_MSG(boot_dt(&t) == 0, "no device tree");
	for (int off = dt_next_node(&t, -1, &depth); off >= 0;
	     off = dt_next_node(&t, off, &depth)) {
		uint32_t len;
		const uint8_t *reg = dt_prop(&t, off, "reg", &len);
		if (depth < 1 || depth > 2 || !reg || len % 16)
			continue;
		for (uint32_t at = 0; at < len && nranges < MAX_RANGES; at += 16) {
			ranges[nranges].base = dt_cells(reg + at, 2);
			ranges[nranges].size = dt_cells(reg + at + 8, 2);
			nranges++;
		}
	}
}

static bool occupied(uint64_t addr)
{
	for (unsigned i = 0; i < nranges; i++) {
		if (addr >= ranges[i].base && addr - ranges[i].base < ranges[i].size)
			return true;
	}
	return boot_is_ram(addr, 8);
}

/* ---- accesses that may fault ---- */

static uint64_t load(uint64_t addr, unsigned width)
{
	switch (width) {
	case 1:
		return mmio_read8(addr);
	case 2:
		return mmio_read16(addr);
	case 4:
		return mmio_read32(addr);
	default:
		return mmio_read64(addr);
	}
}

static void store(uint64_t addr, unsigned width, uint64_t v)
{
	switch (width) {
	case 1:
		mmio_write8(addr, (uint8_t)v);
		break;
	case 2:
		mmio_write16(addr, (uint16_t)v);
		break;
	case 4:
		mmio_write32(addr, (uint32_t)v);
		break;
	default:
		mmio_write64(addr, v);
		break;
	}
}

/* One load and one store of each width at addr, under fault catching. */
static void poke_all_widths(uint64_t addr, uint64_t value)
{
	struct fault_info fi;

	catch_begin();
	for (unsigned w = 1; w <= 8; w <<= 1) {
		(void)load(addr, w);
		store(addr, w, value);
		n_accesses += 2;
	}
	unsigned faults = catch_end(&fi);
	n_faults += faults;
	if (faults)
		printf("  0x%llx: %u fault(s), last ESR 0x%llx (EC 0x%llx) FAR 0x%llx\n",
		       (unsigned long long)addr, faults, (unsigned long long)fi.esr,
		       (unsigned long long)ESR_EC(fi.esr), (unsigned long long)fi.far);
}

/* ---- 1. unmapped MMIO ---- */

static void unmapped_mmio(void)
{
	uint64_t ram_end = 0, candidates[16];
	unsigned n = 0, tried = 0;

	for (unsigned i = 0; i < machine.nram; i++)
		if (machine.ram[i].base + machine.ram[i].size > ram_end)
			ram_end = machine.ram[i].base + machine.ram[i].size;
	candidates[n++] = 0x0;
	candidates[n++] = 0x1000;
	candidates[n++] = 0x04000000;
	candidates[n++] = 0x20000000;
	candidates[n++] = 0x3e000000;
	candidates[n++] = 0x40005000;
	candidates[n++] = 0x40007ff8;
	candidates[n++] = 0x7ff00000;
	candidates[n++] = ram_end;
	candidates[n++] = ram_end + 0x10000000;
	candidates[n++] = 0x4000000000ULL; /* 256 GiB */
	candidates[n++] = 0x7ffffff000ULL; /* the top of the guest's 39-bit map */
	for (unsigned i = 0; i < n; i++) {
		if (occupied(candidates[i]))
			continue;
		poke_all_widths(candidates[i], 0xdeadbeefcafef00dULL);
		tried++;
	}
	printf("unmapped MMIO: %u addresses, %u accesses, %u faults: VMM alive\n", tried,
	       n_accesses, n_faults);
	TEST_ASSERT(tried >= 4);
}

/* ---- 2. odd accesses to the virtio-mmio windows ---- */

static const uint32_t ro_regs[] = {VIRTIO_MMIO_MAGIC_VALUE,	 VIRTIO_MMIO_VERSION,
				   VIRTIO_MMIO_DEVICE_ID,	 VIRTIO_MMIO_VENDOR_ID,
				   VIRTIO_MMIO_DEVICE_FEATURES,	 VIRTIO_MMIO_QUEUE_NUM_MAX,
				   VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_CONFIG_GENERATION};
static const uint32_t wo_regs[] = {VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
				   VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_ACK,
				   VIRTIO_MMIO_QUEUE_DESC_LOW};

static void odd_window(struct vdev *d)
{
	struct fault_info fi;
	unsigned faults;

	catch_begin();
	for (unsigned i = 0; i < sizeof(ro_regs) / sizeof(ro_regs[0]); i++) {
		mmio_write32(d->base + ro_regs[i], 0xffffffffu);
		(void)mmio_read8(d->base + ro_regs[i]);
		(void)mmio_read16(d->base + ro_regs[i] + 2);
		(void)mmio_read64(d->base + ro_regs[i]);
		mmio_write8(d->base + ro_regs[i] + 1, 0x5a);
	}
	for (unsigned i = 0; i < sizeof(wo_regs) / sizeof(wo_regs[0]); i++) {
		(void)mmio_read32(d->base + wo_regs[i]);
		mmio_write16(d->base + wo_regs[i], 0xffff);
		mmio_write64(d->base + wo_regs[i], 0xffffffffffffffffULL);
	}
	/* 64-bit stores over the register pairs, 8-bit ones to Status and QueueSel */
	mmio_write32(d->base + VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_write64(d->base + VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfffffffffffff000ULL);
	mmio_write64(d->base + VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x1000);
	mmio_write8(d->base + VIRTIO_MMIO_STATUS, 0xff);
	mmio_write8(d->base + VIRTIO_MMIO_QUEUE_SEL, 0xff);
	mmio_write16(d->base + VIRTIO_MMIO_QUEUE_NUM, 0xffff);
	mmio_write8(d->base + VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_write32(d->base + VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	/* misaligned (an alignment fault on device memory, in the guest) */
	(void)mmio_read32(d->base + VIRTIO_MMIO_STATUS + 1);
	mmio_write32(d->base + VIRTIO_MMIO_STATUS + 2, 0xffffffffu);
	(void)mmio_read64(d->base + VIRTIO_MMIO_CONFIG + 4);
	/* the configuration space and past it, to the end of the window */
	for (uint64_t off = VIRTIO_MMIO_CONFIG; off + 8 <= d->size; off += 0x38) {
		(void)mmio_read64(d->base + off);
		mmio_write64(d->base + off, 0xa5a5a5a5a5a5a5a5ULL);
		mmio_write8(d->base + off + 3, 0x5a);
	}
	faults = catch_end(&fi);
	if (faults)
		printf("  window 0x%llx: %u fault(s), last ESR 0x%llx FAR 0x%llx ELR 0x%llx\n",
		       (unsigned long long)d->base, faults, (unsigned long long)fi.esr,
		       (unsigned long long)fi.far, (unsigned long long)fi.elr);
	TEST_ASSERT_EQ(mmio_read32(d->base + VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	TEST_ASSERT_EQ(mmio_read32(d->base + VIRTIO_MMIO_DEVICE_ID), d->device_id);
	TEST_ASSERT_EQ(vdev_reset(d), 0);
}

/* A fresh bring-up of the first disk and a read of sector 0's host pattern. */
static void disk_still_reads(struct vdev *d)
{
	static struct vq vq;
	uint8_t *buf = virtio_alloc(BLK_SECTOR, 512);
	int err;

	TEST_ASSERT(buf);
	TEST_ASSERT_EQ(vdev_negotiate(d, 0, 0), 0);
	err = vq_setup(&vq, d, 0, 8);
	TEST_ASSERT_MSG(err == 0, "vq_setup: %d", err);
	TEST_ASSERT(vdev_irq_enable(d, 0x40));
	vdev_driver_ok(d);
	TEST_ASSERT_EQ(blk_do(&vq, VIRTIO_BLK_T_IN, 0, buf, BLK_SECTOR, 1, 0, true),
		       VIRTIO_BLK_S_OK);
	TEST_ASSERT_MSG(blk_pattern_check(buf, 0, 1, 'H', "HST") == 1,
			"sector 0 lost the host's pattern");
	TEST_ASSERT_EQ(vdev_reset(d), 0);
}

static void odd_virtio_accesses(void)
{
	unsigned n = virtio_mmio_scan(), used = 0;
	struct vdev *disk = vdev_find(VIRTIO_ID_BLOCK, 0);

	for (unsigned i = 0; i < n; i++) {
		struct vdev *d = virtio_mmio_dev(i);
		if (!d->device_id)
			continue;
		odd_window(d);
		used++;
	}
	printf("odd virtio-mmio accesses: %u windows: registers intact\n", used);
	TEST_ASSERT_MSG(disk, "no virtio-blk disk to check with");
	disk_still_reads(disk);
	printf("virtio-blk after the odd accesses: sector 0 read: ok\n");
}

/* ---- 3. the PL011 and the PL031 ---- */

static void garbage_device(uint64_t base, const char *what)
{
	struct fault_info fi;
	unsigned faults;

	catch_begin();
	for (uint64_t off = 0; off < 0x1000; off += 4) {
		if (base == machine.uart && (off == 0x00 || off == 0x30))
			continue; /* UARTDR (it would print) and UARTCR (put back below) */
		(void)mmio_read32(base + off);
		(void)mmio_read8(base + off + 1);
		(void)mmio_read16(base + off + 2);
		if (off % 8 == 0)
			(void)mmio_read64(base + off);
		mmio_write32(base + off, 0xffffffffu);
		mmio_write8(base + off + 3, 0xa5);
	}
	faults = catch_end(&fi);
	printf("%s at 0x%llx: every register, every width, garbage: %u fault(s)\n", what,
	       (unsigned long long)base, faults);
}

static void platform_devices(void)
{
	struct dt t;
	uint32_t len;
	int rtc;

	TEST_ASSERT(boot_dt(&t) == 0);
	rtc = dt_find_compatible(&t, -1, "arm,pl031");
	const uint8_t *reg = rtc >= 0 ? dt_prop(&t, rtc, "reg", &len) : NULL;
	garbage_device(machine.uart, "pl011");
	serial_init();				  /* the UART back on */
	mmio_write32(machine.uart + 0x38, 0);	  /* UARTIMSC: no interrupts */
	mmio_write32(machine.uart + 0x44, 0x7ff); /* UARTICR: clear them */
	printf("pl011: still printing\n");
	if (reg && len == 16) {
		garbage_device(dt_cells(reg, 2), "pl031");
		mmio_write32(dt_cells(reg, 2) + 0x10, 0); /* RTCIMSC */
	}
}

/* ---- 4. PSCI ---- */

static int64_t psci_caught(int64_t (*call)(uint64_t, uint64_t, uint64_t, uint64_t), uint64_t fn,
			   uint64_t a1, uint64_t a2, bool *faulted)
{
	struct fault_info fi;
	int64_t r;

	catch_begin();
	r = call(fn, a1, a2, 0);
	*faulted = catch_end(&fi) > 0;
	if (*faulted)
		printf("  0x%llx: exception ESR 0x%llx (EC 0x%llx)\n", (unsigned long long)fn,
		       (unsigned long long)fi.esr, (unsigned long long)ESR_EC(fi.esr));
	return r;
}

/* The call returned `want`, or (where allowed) raised an exception (QEMU's undefined HVC). */
static void expect_psci(const char *what, int64_t (*call)(uint64_t, uint64_t, uint64_t, uint64_t),
			uint64_t fn, uint64_t a1, uint64_t a2, int64_t want, bool may_fault)
{
	bool faulted;
	int64_t r = psci_caught(call, fn, a1, a2, &faulted);

	printf("psci %s: %s %lld\n", what, faulted ? "exception," : "returned", (long long)r);
	if (faulted)
		TEST_ASSERT_MSG(may_fault, "%s: an exception", what);
	else
		TEST_ASSERT_MSG(r == want || (want < 0 && r < 0 && want != PSCI_NOT_SUPPORTED),
				"%s returned %lld, want %lld", what, (long long)r, (long long)want);
}

/* CPU_ON of the CPU with this MPIDR and runtime index (the context the entry takes as its index:
 * its own stack; 0 would be the boot CPU's) */
static int64_t psci_cpu_on(uint64_t mpidr, unsigned index)
{
	__asm__ volatile("dsb sy" ::: "memory"); /* the new CPU starts with its MMU off */
	return psci_call(PSCI_CPU_ON, mpidr, smp_secondary_entry(), index);
}

/* Whether CPU `index` came up within `ms` milliseconds. */
static bool cpu_came_up(unsigned index, unsigned ms)
{
	uint64_t deadline = clock_ticks() + (uint64_t)ms * 1000 * clock_ticks_per_us();
	while (!__atomic_load_n(&smp_cpu(index)->online, __ATOMIC_ACQUIRE))
		if (clock_ticks() > deadline)
			return false;
	return true;
}

static void bogus_psci(void)
{
	uint64_t self = cpu_mpidr(), other = self;
	unsigned other_index = 0;
	int64_t r;

	expect_psci("CPU_ON of MPIDR 0xff", psci_call, PSCI_CPU_ON, 0xff, smp_secondary_entry(),
		    PSCI_INVALID_PARAMS, false);
	expect_psci("CPU_ON of MPIDR 0xff00ff00ff", psci_call, PSCI_CPU_ON, 0xff00ff00ffULL,
		    smp_secondary_entry(), PSCI_INVALID_PARAMS, false);
	expect_psci("CPU_ON of itself", psci_call, PSCI_CPU_ON, self, smp_secondary_entry(),
		    PSCI_ALREADY_ON, false);
	expect_psci("AFFINITY_INFO of MPIDR 0xff", psci_call, PSCI_AFFINITY_INFO, 0xff, 0,
		    PSCI_INVALID_PARAMS, false);
	expect_psci("function 0x8400ff00", psci_call, 0x8400ff00u, 0, 0, PSCI_NOT_SUPPORTED, true);
	expect_psci("function 0xc600ffff", psci_call, 0xc600ffffu, 1, 2, PSCI_NOT_SUPPORTED, true);
	expect_psci("function 0xffffffff", psci_call, 0xffffffffu, 1, 2, PSCI_NOT_SUPPORTED, true);
	expect_psci("function 0x0", psci_call, 0, 0, 0, PSCI_NOT_SUPPORTED, true);
	{
		bool faulted; /* KVM: INVALID_PARAMS; QEMU ignores the level */
		r = psci_caught(psci_call, PSCI_AFFINITY_INFO, self, 7, &faulted);
		printf("psci AFFINITY_INFO at level 7: %s %lld\n",
		       faulted ? "exception," : "returned", (long long)r);
		r = psci_caught(psci_call_hvc1, PSCI_VERSION, 0, 0, &faulted);
		printf("psci VERSION through hvc #1: %s %lld\n",
		       faulted ? "exception," : "returned", (long long)r);
		r = psci_caught(psci_call_smc, PSCI_VERSION, 0, 0, &faulted);
		printf("psci VERSION through smc #0: %s %lld\n",
		       faulted ? "exception," : "returned", (long long)r);
	}
	for (unsigned i = 0; i < machine.ncpus; i++)
		if (machine.mpidr[i] != self)
			other = machine.mpidr[i], other_index = i;
	if (other != self) {
		/* the second once the CPU runs: QEMU (TCG) marks a CPU on only when it starts, so
		 * right after the first it may still say SUCCESS */
		int64_t first = psci_cpu_on(other, other_index);
		bool up = first == PSCI_SUCCESS && cpu_came_up(other_index, 5000);
		int64_t second = psci_cpu_on(other, other_index);
		printf("psci CPU_ON of 0x%llx twice: %lld, then %lld\n", (unsigned long long)other,
		       (long long)first, (long long)second);
		TEST_ASSERT_EQ(first, PSCI_SUCCESS);
		TEST_ASSERT_MSG(up, "CPU 0x%llx did not come up", (unsigned long long)other);
		TEST_ASSERT_MSG(second == PSCI_ALREADY_ON || second == PSCI_ON_PENDING,
				"the second CPU_ON returned %lld", (long long)second);
	}
	/* CPU_SUSPEND (0xc4000001) with a bogus power state: KVM treats it as WFI; the timer wakes
	 */
	write_sysreg(cntv_tval_el0, 10000 * clock_ticks_per_us());
	write_sysreg(cntv_ctl_el0, 1);
	gic_enable(GIC_PPI_VTIMER);
	{
		bool faulted;
		r = psci_caught(psci_call, 0xc4000001u, 0xffffffffu, smp_secondary_entry(),
				&faulted);
		printf("psci CPU_SUSPEND with power state 0xffffffff: %s %lld\n",
		       faulted ? "exception," : "returned", (long long)r);
	}
	write_sysreg(cntv_ctl_el0, 0);
	printf("bogus PSCI calls: VMM alive\n");
}

/* An access KVM cannot decode (no syndrome): what the VMM makes of it ends the run. */
static void load_pair_from_mmio(void)
{
	struct vdev *d = vdev_find(VIRTIO_ID_BLOCK, 0);
	uint64_t a, b, addr = d ? d->base : machine.uart;
	struct fault_info fi;

	printf("nisv: ldp from 0x%llx\n", (unsigned long long)addr);
	catch_begin();
	__asm__ volatile("ldp %0, %1, [%2]" : "=r"(a), "=r"(b) : "r"(addr) : "memory");
	if (catch_end(&fi))
		printf("nisv: an exception, ESR 0x%llx (EC 0x%llx)\n", (unsigned long long)fi.esr,
		       (unsigned long long)ESR_EC(fi.esr));
	else
		printf("nisv: read 0x%llx 0x%llx\n", (unsigned long long)a, (unsigned long long)b);
	printf("nisv: the guest goes on\n");
}

int guest_main(void)
{
	collect_ranges();
	printf("hostile_platform: %u device-tree ranges, %u CPUs, %u virtio-mmio windows\n",
	       nranges, machine.ncpus, virtio_mmio_scan());
	if (!skip("unmapped"))
		unmapped_mmio();
	if (!skip("odd"))
		odd_virtio_accesses();
	if (!skip("platform"))
		platform_devices();
	if (!skip("psci"))
		bogus_psci();
	printf("hostile_platform: ok\n");
	if (cmdline_has("nisv"))
		load_pair_from_mmio();
	return 0;
}
