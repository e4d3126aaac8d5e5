/* A guest whose final result must not depend on whether it was snapshotted and restored in the
 * middle (tests/integration/snapshot/test_snapshot_restore.py, test_snapshot_clones.py; on arm64
 * tests/integration/framework/arm64_snap.py).
 *
 * Per step (BSP): a deterministic 64-bit checksum advanced in ring 3 (run_user(); at EL1 on
 * arm64) (FNV-style multiply and xorshift over the step number and the previous value, `work`
 * rounds; interrupts on, so the timer interrupts the work); every WRITE_EVERY steps one sector is
 * written to the disk with a pattern derived from (step, checksum), read back by interrupt (the
 * completion must be announced by the device's interrupt: MSI-X (through the ITS on arm64), or
 * the IOAPIC pin or GIC SPI on mmio), compared, and folded into the checksum. A periodic timer
 * (100 Hz: the LAPIC timer, arm64's virtual timer; platform.h's platform_tick_start()) counts
 * ticks all along; after the loop the guest must see more ticks (the timer survived a restore).
 * With cpus=N the APs (arm64: the secondaries, started by PSCI CPU_ON) count too, in ring 3 with
 * interrupts off, each into its own slot, one chunk per step the BSP has started (so they are
 * mid-work whenever the BSP is); their sums join the checksum at the end.
 *
 * Output: "SNAP-PROGRESS n" every 10 steps; at the end "SNAP-RESULT checksum=%016llx sectors=%u"
 * (identical for the same command line, snapshot or not), then every written sector is read
 * again and checked, then TEST PASS. No timing enters the result; waits are bounded by timer ticks
 * (not the TSC or counter, which a restore may move).
 *
 * With dirty=M (the region is 64 MiB into RAM: x86's 64 MiB, arm64's RAM base + 64 MiB) the BSP
 * also writes one word of every 4 KiB page of M MiB there, again and again for dirty_ticks= timer
 * ticks (default 4) each step (ring 3: faster than a migration can copy them,
 * tests/integration/migration/test_migration.py), and one page in 256 of the 16 MiB after them (so
 * most of those are written once in the middle of the run, see once_pages()); the values depend on
 * the step alone, and the final word of every page of both joins the checksum.
 *
 * Command line: [steps=N] (default 400) [work=N] (ring-3 rounds per step, default 2M)
 *   [ring=packed] [transport=pci [pci_irq=intx]] [cpus=N] (default 1) [disk=0] (no disk)
 *   [dirty=M] (MiB, default 0) [dirty_ticks=N]. */
#include "guest.h"
#include "user.h"
#include "virtio_blk.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define TIMER_VECTOR	0x30
#define DISK_VECTOR	0x50
#define TICK_US		10000 /* 100 Hz */
#define QUEUE_SIZE	16
#define WRITE_EVERY	4
#define PROGRESS_EVERY	10
#define MAX_WRITES	4096
#define FIRST_SECTOR	8
#define WAIT_TICKS	6000 /* 60 s of ticks for one disk request or the APs */
#define AP_USER_STACK	16384
#define MORE_TICKS	5
#define MORE_TICKS_SECS 30	      /* seconds of the clock the final tick wait may take */
#define DIRTY_OFFSET	(64ull << 20) /* from boot_ram_base() */
#define DIRTY_PAGE	4096ull
#define ONCE_PAGES	4096ull /* 16 MiB after the dirty region */
#define ONCE_STRIDE	256ull

#define F(bit) (1ULL << (bit))

struct ap_slot {
	volatile uint64_t steps_done;
	volatile uint64_t sum;
	volatile uint32_t done;
} __attribute__((aligned(64)));

static struct ap_slot ap_slots[SMP_MAX_CPUS];
static uint8_t ap_stacks[SMP_MAX_CPUS][AP_USER_STACK] __attribute__((aligned(4096)));
static volatile uint64_t bsp_started; /* steps the BSP has begun: the APs follow it */
static uint64_t steps = 400, work = 2u << 20, dirty_mib, dirty_ticks = 4, dirty_clock_limit;
static uint64_t dirty_base; /* boot_ram_base() + DIRTY_OFFSET */
static unsigned naps;

static struct vdev *disk;
static struct vq vq;
static uint8_t *wbuf, *rbuf;
static uint64_t seeds[MAX_WRITES];

/* ---- pure, deterministic arithmetic (ring 3) ---- */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	h ^= h >> 29;
	return h;
}

static uint64_t chunk(uint64_t h, uint64_t step, uint64_t rounds)
{
	h ^= (step + 1) * 0x9E3779B97F4A7C15ull;
	for (uint64_t i = 0; i < rounds; i++)
		h = mix(h, i ^ step);
	return h;
}

struct step_arg {
	uint64_t step, sum;
};

static uint64_t ticks(void);

/* One word of every page of the dirty region, from the step and the page: the last step's
 * values are what stays. */
static void dirty_pages(uint64_t step)
{
	uint64_t pages = (dirty_mib << 20) / DIRTY_PAGE;

	for (uint64_t i = 0; i < pages; i++)
		*(volatile uint64_t *)phys_ptr(dirty_base + i * DIRTY_PAGE) = mix(step, i);
}

/* The once-region after the dirty one: step s writes the pages i with i % ONCE_STRIDE equal to
 * s % ONCE_STRIDE, so most pages keep the value of one step in the middle of the run. A page the
 * guest wrote while a migration's pre-copy ran and never again must reach the destination through
 * the dirty log: if the log lost that write, the page is stale there and the result differs. */
static void once_pages(uint64_t step)
{
	uint64_t base = dirty_base + (dirty_mib << 20);

	for (uint64_t i = step % ONCE_STRIDE; i < ONCE_PAGES; i += ONCE_STRIDE)
		*(volatile uint64_t *)phys_ptr(base + i * DIRTY_PAGE) = mix(step, i) | 1;
}

static uint64_t dirty_fold_user(void *arg)
{
	uint64_t h = *(uint64_t *)arg, pages = (dirty_mib << 20) / DIRTY_PAGE + ONCE_PAGES;

	for (uint64_t i = 0; i < pages; i++)
		h = mix(h, *(volatile uint64_t *)phys_ptr(dirty_base + i * DIRTY_PAGE));
	return h;
}

static uint64_t step_user(void *arg)
{
	struct step_arg *a = arg;

	if (dirty_mib) {
		/* the clock bounds it too: a timer lost on the way ends here, and the final tick
		 * check says so */
		uint64_t until = ticks() + dirty_ticks, start = clock_ticks();

		once_pages(a->step);
		do
			dirty_pages(a->step);
		while (ticks() < until && clock_ticks() - start < dirty_clock_limit);
	}
	return chunk(a->sum, a->step, work);
}

/* 512 bytes from a seed: 64 words of a xorshift stream, the first one the seed itself. */
static void sector_fill(uint64_t *w, uint64_t seed)
{
	uint64_t x = seed | 1;

	w[0] = seed;
	for (int i = 1; i < 64; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static uint64_t sector_hash(const uint64_t *w)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < 64; i++)
		h = mix(h, w[i]);
	return h;
}

/* ---- the APs: ring 3 (arm64: EL1), interrupts off, one chunk per step the BSP has begun ---- */

static uint64_t ap_user(void *arg)
{
	struct ap_slot *s = arg;
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(s - ap_slots + 1);

	for (uint64_t st = 0; st < steps; st++) {
		while (__atomic_load_n(&bsp_started, __ATOMIC_ACQUIRE) <= st)
			cpu_relax();
		h = chunk(h, st, work / 2);
		s->sum = h;
		__atomic_store_n(&s->steps_done, st + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	for (;;)
		cpu_relax();
	return 0;
}

static void ap_main(unsigned index)
{
	run_user_ap(ap_user, &ap_slots[index], ap_stacks[index] + AP_USER_STACK);
}

/* ---- timer ---- */

static uint64_t ticks(void)
{
	return irq_count(TIMER_VECTOR);
}

/* Ring 3, interrupts on: waits for the APs to finish, bounded by timer ticks. */
static uint64_t wait_aps_user(void *arg)
{
	uint64_t t0 = ticks();

	(void)arg;
	for (;;) {
		unsigned done = 0;

		for (unsigned i = 0; i < naps; i++)
			done += __atomic_load_n(&ap_slots[i].done, __ATOMIC_ACQUIRE);
		if (done == naps)
			return 1;
		if (ticks() - t0 > WAIT_TICKS)
			return 0;
		cpu_relax();
	}
}

/* Ring 3, interrupts on: waits for MORE_TICKS more timer ticks, bounded by the clock. */
static uint64_t more_ticks_user(void *arg)
{
	uint64_t t0 = ticks(), start = clock_ticks(), limit = *(uint64_t *)arg;

	while (ticks() - t0 < MORE_TICKS) {
		if (clock_ticks() - start > limit)
			return 0;
		cpu_relax();
	}
	return 1;
}

/* ---- the disk ---- */

static void disk_setup(bool packed)
{
	uint64_t capacity;
	int err;

	disk = vdev_find(VIRTIO_ID_BLOCK, 0);
	TEST_ASSERT_MSG(disk, "no virtio-blk device (transport %s)", vdev_transport_name());
	vdev_print(disk, "disk");
	err =
	    vdev_negotiate(disk, F(VIRTIO_RING_F_EVENT_IDX), packed ? F(VIRTIO_F_RING_PACKED) : 0);
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d", err);
	TEST_ASSERT_EQ(vq_setup(&vq, disk, 0, QUEUE_SIZE), 0);
	TEST_ASSERT(vdev_irq_enable(disk, DISK_VECTOR));
	vdev_driver_ok(disk);
	capacity = vdev_config64(disk, offsetof(struct virtio_blk_config, capacity));
	TEST_ASSERT_MSG(capacity >= FIRST_SECTOR + steps / WRITE_EVERY,
			"disk of %llu sectors: %llu needed", (unsigned long long)capacity,
			(unsigned long long)(FIRST_SECTOR + steps / WRITE_EVERY));
	wbuf = virtio_alloc(BLK_SECTOR, 512);
	rbuf = virtio_alloc(BLK_SECTOR, 512);
	TEST_ASSERT(wbuf && rbuf);
}

/* One request; waits asleep for its completion AND the device's interrupt, bounded by timer
 * ticks. Returns with interrupts on. */
static void disk_io(uint32_t type, uint64_t sector, void *buf)
{
	static struct blk_req req;
	uint64_t irqs0 = disk->irqs, t0 = ticks();
	struct blk_req *r = NULL;
	int err;

	irq_disable();
	err = blk_add(&vq, &req, type, sector, buf, BLK_SECTOR, 1, 0);
	TEST_ASSERT_MSG(err == 0, "blk_add failed: %d", err);
	vq_kick(&vq);
	for (;;) {
		if (disk->irqs > irqs0 && vq_has_used(&vq)) {
			r = blk_complete(&vq);
			TEST_ASSERT_MSG(r == &req, "unexpected used element %p", (void *)r);
			break;
		}
		TEST_ASSERT_MSG(ticks() - t0 < WAIT_TICKS,
				"no completion interrupt for the request at sector %llu (used %d, "
				"irqs %llu -> %llu)",
				(unsigned long long)sector, vq_has_used(&vq),
				(unsigned long long)irqs0, (unsigned long long)disk->irqs);
		irq_sleep();
	}
	irq_enable();
	TEST_ASSERT_MSG(req.status == VIRTIO_BLK_S_OK, "request type %u at sector %llu: status %u",
			type, (unsigned long long)sector, req.status);
}

/* Writes the sector of write k from its seed, reads it back and compares. */
static uint64_t disk_write_check(unsigned k)
{
	uint64_t sector = FIRST_SECTOR + k;

	sector_fill((uint64_t *)wbuf, seeds[k]);
	disk_io(VIRTIO_BLK_T_OUT, sector, wbuf);
	memset(rbuf, 0, BLK_SECTOR);
	disk_io(VIRTIO_BLK_T_IN, sector, rbuf);
	TEST_ASSERT_MSG(memcmp(wbuf, rbuf, BLK_SECTOR) == 0, "sector %llu read back differs",
			(unsigned long long)sector);
	return sector_hash((const uint64_t *)rbuf);
}

int guest_main(void)
{
	uint64_t use_disk = 1, cpus = 1, sum = 0x5EED5EED5EED5EEDull, t_loop, t_end, limit;
	char ring[16] = "split";
	unsigned writes = 0;

	cmdline_get_u64("steps", &steps);
	cmdline_get_u64("work", &work);
	cmdline_get_u64("disk", &use_disk);
	cmdline_get_u64("cpus", &cpus);
	cmdline_get_str("ring", ring, sizeof(ring));
	cmdline_get_u64("dirty", &dirty_mib);
	cmdline_get_u64("dirty_ticks", &dirty_ticks);
	dirty_clock_limit = (dirty_ticks + 100) * TICK_US * clock_ticks_per_us();
	dirty_base = boot_ram_base() + DIRTY_OFFSET;
	TEST_ASSERT_MSG(
	    !dirty_mib || (dirty_mib <= 1024 &&
			   boot_is_ram(dirty_base, (dirty_mib << 20) + ONCE_PAGES * DIRTY_PAGE)),
	    "dirty=%llu: [0x%llx, +%llu MiB + 16 MiB) is not RAM", (unsigned long long)dirty_mib,
	    (unsigned long long)dirty_base, (unsigned long long)dirty_mib);
	TEST_ASSERT_MSG(cpus >= 1 && cpus <= SMP_MAX_CPUS, "cpus=%llu", (unsigned long long)cpus);
	TEST_ASSERT_MSG(!use_disk || steps / WRITE_EVERY <= MAX_WRITES, "steps=%llu: too many",
			(unsigned long long)steps);

	if (use_disk)
		disk_setup(!strcmp(ring, "packed"));
	if (cpus > 1) {
		int up = smp_start_aps_nowait((unsigned)cpus - 1, ap_main, 10000);

		TEST_ASSERT_MSG(up == (int)cpus - 1, "%d APs came up, want %llu", up,
				(unsigned long long)cpus - 1);
		naps = (unsigned)up;
	}
	platform_tick_start(TIMER_VECTOR, TICK_US);
	printf("SNAP-START steps=%llu work=%llu disk=%llu ring=%s cpus=%llu dirty=%llu\n",
	       (unsigned long long)steps, (unsigned long long)work, (unsigned long long)use_disk,
	       ring, (unsigned long long)cpus, (unsigned long long)dirty_mib);
	irq_enable();

	for (uint64_t s = 0; s < steps; s++) {
		struct step_arg a = {.step = s, .sum = sum};

		__atomic_store_n(&bsp_started, s + 1, __ATOMIC_RELEASE);
		irq_enable();
		sum = run_user(step_user, &a);
		irq_enable();
		if (use_disk && s % WRITE_EVERY == WRITE_EVERY - 1) {
			seeds[writes] = mix(sum, s);
			sum = mix(sum, disk_write_check(writes));
			writes++;
		}
		if ((s + 1) % PROGRESS_EVERY == 0)
			printf("SNAP-PROGRESS %llu\n", (unsigned long long)(s + 1));
	}
	t_loop = ticks();

	if (naps) {
		TEST_ASSERT_MSG(run_user(wait_aps_user, NULL), "the APs did not finish");
		for (unsigned i = 0; i < naps; i++) {
			TEST_ASSERT_EQ(ap_slots[i].steps_done, steps);
			sum = mix(sum, ap_slots[i].sum);
		}
	}
	if (dirty_mib)
		sum = run_user(dirty_fold_user, &sum);
	TEST_ASSERT_MSG(t_loop > 0, "no timer tick during the whole run");
	limit = (uint64_t)MORE_TICKS_SECS * 1000000 * clock_ticks_per_us();
	irq_enable();
	TEST_ASSERT_MSG(run_user(more_ticks_user, &limit),
			"the timer stopped: %llu ticks at the end of the loop, %llu now",
			(unsigned long long)t_loop, (unsigned long long)ticks());
	t_end = ticks();
	printf("SNAP-RESULT checksum=%016llx sectors=%u\n", (unsigned long long)sum, writes);

	for (unsigned k = 0; k < writes; k++) {
		memset(rbuf, 0, BLK_SECTOR);
		disk_io(VIRTIO_BLK_T_IN, FIRST_SECTOR + k, rbuf);
		sector_fill((uint64_t *)wbuf, seeds[k]);
		TEST_ASSERT_MSG(memcmp(wbuf, rbuf, BLK_SECTOR) == 0, "sector %u differs at the end",
				FIRST_SECTOR + k);
	}
	irq_disable();
	platform_tick_stop();
	printf("%u sectors verified; timer: %llu ticks in the loop, %llu by the end\n", writes,
	       (unsigned long long)t_loop, (unsigned long long)t_end);
	return 0;
}
