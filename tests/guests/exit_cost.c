/* The cost of one guest exit for a notify-style MMIO write, timed with the platform clock:
 *
 *   mmio_exit_ns: a 32-bit write to platform_plain_exit_addr(): a plain exit to the VMM's user
 *                 space (KVM_EXIT_MMIO) that changes nothing, on our VMM and on QEMU alike (x86:
 *                 inside the boot-timer page, 0xC0000008, claimed or not, unassigned on QEMU;
 *                 arm64: the PL011's read-only flag register).
 *   ioeventfd_ns: a write of 0 to a virtio-mmio device's QueueNotify (+0x50) after queue 0 is set
 *                 up: KVM matches it against the device's ioeventfd and signals the eventfd
 *                 without leaving the kernel. Needs any virtio-mmio device (--rng, or QEMU's
 *                 -device virtio-rng-device); without one the line says ioeventfd_ns=-.
 *
 * The loops run through run_user: on x86 in ring 3 (on hosts that emulate guest ring 0 only ring 3
 * runs at native speed; the whole 4 GiB identity map is user-accessible, MMIO included), on arm64
 * where they are (EL1 runs natively). The clock: platform_clock_calibrate() (x86: the TSC against
 * the LAPIC timer; arm64: the virtual counter at CNTFRQ_EL0).
 *
 * Prints "BENCH exit_cost mmio_exit_ns=A ioeventfd_ns=B loops=N clock_khz=K".
 * Command line: [loops=N] (per kind, default 20000). */
#include "guest.h"
#include "user.h"
#include "virtio_vq.h"

#include <linux/virtio_ids.h>

#define DEFAULT_LOOPS 20000

struct loop {
	uint64_t addr;
	uint32_t value;
	uint64_t n;
};

/* n writes (through run_user), returns the clock ticks they took. */
static uint64_t write_loop(void *arg)
{
	const struct loop *l = arg;
	uint64_t t0 = clock_ticks();

	for (uint64_t i = 0; i < l->n; i++)
		mmio_write32(l->addr, l->value);
	return clock_ticks() - t0;
}

static uint64_t ns_per_write(const struct loop *l, uint64_t clock_khz)
{
	uint64_t ticks = run_user(write_loop, (void *)l);

	return ticks * 1000000ull / clock_khz / l->n;
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
	const char *how;

	cmdline_get_u64("loops", &loops);
	TEST_ASSERT(loops > 0);
	khz = platform_clock_calibrate(&how) / 1000;
	TEST_ASSERT_MSG(khz > 0, "the clock did not advance");
	printf("clock: %llu kHz, %s\n", (unsigned long long)khz, how);
	TEST_ASSERT_MSG(platform_plain_exit_addr(), "no address for a plain exit");

	plain = (struct loop){platform_plain_exit_addr(), 0, loops};
	mmio_ns = ns_per_write(&plain, khz);
	d = notify_device();
	if (d) {
		notify = (struct loop){d->base + VIRTIO_MMIO_QUEUE_NOTIFY, 0, loops};
		snprintf(ioevt, sizeof(ioevt), "%llu",
			 (unsigned long long)ns_per_write(&notify, khz));
	}
	printf("BENCH exit_cost mmio_exit_ns=%llu ioeventfd_ns=%s loops=%llu clock_khz=%llu\n",
	       (unsigned long long)mmio_ns, ioevt, (unsigned long long)loops,
	       (unsigned long long)khz);
	return 0;
}
