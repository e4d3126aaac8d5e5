/* The cost of one guest exit for a notify-style MMIO write, measured from ring 3 with the TSC:
 *
 *   mmio_exit_ns: a 32-bit write inside the boot-timer page (0xC0000000 + 8): a plain exit to the
 *                 VMM's user space (KVM_EXIT_MMIO), whether or not --boot-timer claims the page
 *                 (the device ignores writes at any offset but 0) and on QEMU (unassigned MMIO).
 *   ioeventfd_ns: a write of 0 to a virtio-mmio device's QueueNotify (+0x50) after queue 0 is set
 *                 up: KVM matches it against the device's ioeventfd and signals the eventfd
 *                 without leaving the kernel. Needs any virtio-mmio device (--rng, or QEMU's
 *                 -device virtio-rng-device); without one the line says ioeventfd_ns=-.
 *
 * The loops run in ring 3 (run_user): on hosts that emulate guest ring 0 only ring 3 runs at
 * native speed. The whole 4 GiB identity map is user-accessible, MMIO included. The TSC is
 * calibrated against the LAPIC timer, which KVM's in-kernel LAPIC counts at 1 GHz.
 *
 * Prints "BENCH exit_cost mmio_exit_ns=A ioeventfd_ns=B loops=N tsc_khz=K".
 * Command line: [loops=N] (per kind, default 20000). */
#include "guest.h"
#include "virtio_vq.h"

#include <linux/virtio_ids.h>

#define PLAIN_EXIT_ADDR	   0xC0000008ull /* boot-timer page, offset 8: ignored everywhere */
#define DEFAULT_LOOPS	   20000
#define CALIBRATION_NS	   50000000u /* 50 ms of LAPIC timer */
#define LAPIC_DIVIDE_BY_1  0xB
#define LAPIC_TIMER_MASKED (1u << 16)

struct loop {
	uint64_t addr;
	uint32_t value;
	uint64_t n;
};

/* TSC ticks in CALIBRATION_NS nanoseconds of the LAPIC timer (KVM: 1 count per ns). */
static uint64_t tsc_khz_from_lapic(void)
{
	uint32_t start, now;
	uint64_t t0, t1;

	lapic_init();
	lapic_write(LAPIC_TIMER_DCR, LAPIC_DIVIDE_BY_1);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_MASKED);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
	start = lapic_read(LAPIC_TIMER_CCR);
	t0 = rdtsc();
	do {
		now = lapic_read(LAPIC_TIMER_CCR);
	} while (start - now < CALIBRATION_NS);
	t1 = rdtsc();
	lapic_timer_stop();
	/* kHz = ticks per ms = ticks * 1e6 / elapsed ns */
	return (t1 - t0) * 1000000ull / (start - now);
}

/* Ring 3: n writes, returns the TSC ticks they took. */
static uint64_t write_loop(void *arg)
{
	const struct loop *l = arg;
	uint64_t t0 = rdtsc();

	for (uint64_t i = 0; i < l->n; i++)
		mmio_write32(l->addr, l->value);
	return rdtsc() - t0;
}

static uint64_t ns_per_write(const struct loop *l, uint64_t tsc_khz)
{
	uint64_t ticks = run_user(write_loop, (void *)l);

	return ticks * 1000000ull / tsc_khz / l->n;
}

/* A virtio device with queue 0 live, so QueueNotify(0) hits its ioeventfd; NULL if none. */
static struct vdev *notify_device(void)
{
	static struct vq vq;
	struct vdev *d = virtio_mmio_find(VIRTIO_ID_RNG, 0);

	for (unsigned i = 0; !d && i < virtio_mmio_scan(); i++) {
		if (virtio_mmio_dev(i)->device_id)
			d = virtio_mmio_dev(i);
	}
	if (!d)
		return NULL;
	TEST_ASSERT_EQ(vdev_negotiate(d, 0, 0), 0);
	TEST_ASSERT_EQ(vq_setup(&vq, d, 0, 16), 0);
	vdev_driver_ok(d);
	printf("notify: virtio device %u at 0x%llx\n", d->device_id, (unsigned long long)d->base);
	return d;
}

int guest_main(void)
{
	uint64_t loops = DEFAULT_LOOPS, khz, mmio_ns;
	struct loop plain, notify;
	struct vdev *d;
	char ioevt[24] = "-";

	cmdline_get_u64("loops", &loops);
	TEST_ASSERT(loops > 0);
	khz = tsc_khz_from_lapic();
	TEST_ASSERT_MSG(khz > 0, "TSC did not advance");
	printf("TSC: %llu kHz against the LAPIC timer\n", (unsigned long long)khz);

	plain = (struct loop){PLAIN_EXIT_ADDR, 0, loops};
	mmio_ns = ns_per_write(&plain, khz);
	d = notify_device();
	if (d) {
		notify = (struct loop){d->base + VIRTIO_MMIO_QUEUE_NOTIFY, 0, loops};
		snprintf(ioevt, sizeof(ioevt), "%llu",
			 (unsigned long long)ns_per_write(&notify, khz));
	}
	printf("BENCH exit_cost mmio_exit_ns=%llu ioeventfd_ns=%s loops=%llu tsc_khz=%llu\n",
	       (unsigned long long)mmio_ns, ioevt, (unsigned long long)loops,
	       (unsigned long long)khz);
	return 0;
}
