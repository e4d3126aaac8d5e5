/* virtio-input (virtio 1.2 section 5.8): finds the keyboard and the tablet, checks their config
 * space (select/subsel: ID_NAME, ID_DEVIDS, EV_BITS, ABS_INFO), sends an LED state on the
 * keyboard's statusq, and with `events` on the command line reads the events the host injected
 * (tests/integration/display/test_display_input.py writes the matching --input-script) and compares
 * them, in order, with the expected lists below.
 *
 * Command line: [events] (without it, only the config space and the statusq are checked: QEMU
 * has no injection path that a script can use) [wait=S]: with wait, the keyboard first gets only
 * two eventq buffers and the tablet none; after the first two keyboard events the guest selects
 * ID_NAME in the keyboard's config, prints "input waiting", waits S seconds (platform.h's clock: a
 * snapshot is taken there, tests/integration/snapshot/test_snapshot_display.py); then, without
 * selecting again, it checks the name, posts the other buffers and reads the rest of both lists. */
#include "guest.h"
#include "virtio_dev.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/input-event-codes.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_input.h>

#define VEC_INPUT 0x54
#define WAIT_MS	  5000
#define NBUFS	  16
#define F(bit)	  (1ULL << (bit))
#define CFG(f)	  offsetof(struct virtio_input_config, f)

struct ev {
	uint16_t type, code;
	uint32_t value;
};

static const struct ev kbd_expected[] = {
    {EV_KEY, KEY_A, 1},	     {EV_SYN, SYN_REPORT, 0},	 {EV_KEY, KEY_A, 0},
    {EV_SYN, SYN_REPORT, 0}, {EV_KEY, KEY_LEFTSHIFT, 1}, {EV_SYN, SYN_REPORT, 0},
};
static const struct ev tablet_expected[] = {
    {EV_ABS, ABS_X, 1000},   {EV_ABS, ABS_Y, 2000}, {EV_SYN, SYN_REPORT, 0}, {EV_KEY, BTN_LEFT, 1},
    {EV_SYN, SYN_REPORT, 0}, {EV_KEY, BTN_LEFT, 0}, {EV_SYN, SYN_REPORT, 0},
};

/* 5.8.4: write select and subsel, then read size (and the union). */
static uint8_t cfg_select(struct vdev *d, uint8_t select, uint8_t subsel)
{
	mmio_write8(d->config + CFG(select), select);
	mmio_write8(d->config + CFG(subsel), subsel);
	return vdev_config8(d, CFG(size));
}

static bool bit_set(struct vdev *d, uint8_t type, unsigned bit)
{
	uint8_t size = cfg_select(d, VIRTIO_INPUT_CFG_EV_BITS, type);

	return bit / 8 < size && (vdev_config8(d, CFG(u.bitmap) + bit / 8) >> (bit % 8) & 1);
}

static void check_config(struct vdev *d, bool tablet)
{
	char name[129] = {0};
	uint8_t n = cfg_select(d, VIRTIO_INPUT_CFG_ID_NAME, 0);

	TEST_ASSERT(n > 0 && n <= 128);
	for (uint8_t i = 0; i < n; i++)
		name[i] = (char)vdev_config8(d, CFG(u.string) + i);
	printf("input %s: \"%s\"\n", tablet ? "tablet" : "keyboard", name);
	TEST_ASSERT_EQ(cfg_select(d, VIRTIO_INPUT_CFG_ID_DEVIDS, 0), 8);
	TEST_ASSERT_EQ(vdev_config16(d, CFG(u.ids.bustype)), 0x06); /* BUS_VIRTUAL */
	TEST_ASSERT_EQ(cfg_select(d, VIRTIO_INPUT_CFG_UNSET, 0), 0);
	if (!tablet) {
		TEST_ASSERT(bit_set(d, EV_KEY, KEY_A) && bit_set(d, EV_KEY, KEY_LEFTSHIFT));
		TEST_ASSERT(bit_set(d, EV_LED, LED_CAPSL));
		TEST_ASSERT_EQ(cfg_select(d, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS), 0);
		return;
	}
	TEST_ASSERT(bit_set(d, EV_ABS, ABS_X) && bit_set(d, EV_ABS, ABS_Y));
	TEST_ASSERT(bit_set(d, EV_KEY, BTN_LEFT));
	TEST_ASSERT_EQ(cfg_select(d, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X), 20);
	TEST_ASSERT_EQ(vdev_config32(d, CFG(u.abs.min)), 0);
	TEST_ASSERT_EQ(vdev_config32(d, CFG(u.abs.max)), 0x7fff);
}

/* A device is the tablet when it reports absolute axes. */
static bool is_tablet(struct vdev *d)
{
	return cfg_select(d, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS) > 0;
}

/* Posts n more eventq buffers. */
static void post(struct vq *evq, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ev *e = virtio_alloc(sizeof(*e), 16);
		struct vq_buf b = {virt_to_phys(e), sizeof(*e), true};

		TEST_ASSERT(e);
		memset(e, 0xee, sizeof(*e));
		TEST_ASSERT_EQ(vq_add(evq, &b, 1, e, 0), 0);
	}
	vq_kick(evq);
}

static void start(struct vdev *d, struct vq *evq, struct vq *stq, unsigned nbufs)
{
	int err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX), 0);

	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d", err);
	TEST_ASSERT_EQ(vq_setup(evq, d, 0, NBUFS), 0);
	TEST_ASSERT_EQ(vq_setup(stq, d, 1, 8), 0);
	vdev_driver_ok(d);
	post(evq, nbufs);
}

/* 5.8.6.1: the driver reports Caps Lock on; the device consumes the buffer. */
static void send_led(struct vq *stq)
{
	struct ev *e = virtio_alloc(sizeof(*e), 16);
	struct vq_buf b = {virt_to_phys(e), sizeof(*e), false};
	uint32_t len;

	*e = (struct ev){EV_LED, LED_CAPSL, 1};
	TEST_ASSERT_EQ(vq_add(stq, &b, 1, e, 0), 0);
	vq_kick(stq);
	TEST_ASSERT_MSG(vq_wait(stq, WAIT_MS), "statusq buffer not used");
	TEST_ASSERT(vq_get_used(stq, &len) == e);
}

/* Reads events want[from, to) in order. */
static void read_events(struct vq *evq, const struct ev *want, unsigned from, unsigned to,
			const char *what)
{
	unsigned got = from;

	while (got < to) {
		struct ev *e;
		uint32_t len;

		TEST_ASSERT_MSG(vq_wait(evq, WAIT_MS), "%s: %u of %u events", what, got, to);
		while (got < to && (e = vq_get_used(evq, &len)) != NULL) {
			TEST_ASSERT_EQ(len, sizeof(*e));
			TEST_ASSERT_MSG(e->type == want[got].type && e->code == want[got].code &&
					    e->value == want[got].value,
					"%s event %u: %u/%u/%u, want %u/%u/%u", what, got, e->type,
					e->code, e->value, want[got].type, want[got].code,
					want[got].value);
			got++;
		}
	}
}

#define NKBD	(sizeof(kbd_expected) / sizeof(kbd_expected[0]))
#define NTABLET (sizeof(tablet_expected) / sizeof(tablet_expected[0]))

/* The keyboard's name, read without selecting it again (the selection is device state). */
static void expect_name_selected(struct vdev *d)
{
	const char *want = "VMM virtio keyboard";
	uint8_t n = vdev_config8(d, CFG(size));

	TEST_ASSERT_MSG(vdev_config8(d, CFG(select)) == VIRTIO_INPUT_CFG_ID_NAME, "select is %u",
			vdev_config8(d, CFG(select)));
	TEST_ASSERT_EQ(n, strlen(want));
	for (uint8_t i = 0; i < n; i++)
		TEST_ASSERT_EQ(vdev_config8(d, CFG(u.string) + i), (uint8_t)want[i]);
}

/* wait=S: part of the events before the wait, the rest after it (see the top). */
static void events_around_a_wait(struct vq *evq, struct vdev *kbd, uint64_t s)
{
	uint64_t start, ticks = s * 1000000 * clock_ticks_per_us();

	read_events(&evq[0], kbd_expected, 0, 2, "keyboard");
	cfg_select(kbd, VIRTIO_INPUT_CFG_ID_NAME, 0);
	printf("input waiting %llu s\n", (unsigned long long)s);
	for (start = clock_ticks(); clock_ticks() - start < ticks;)
		delay_us(10000);
	expect_name_selected(kbd);
	post(&evq[0], NBUFS - 2);
	post(&evq[1], NBUFS);
	read_events(&evq[0], kbd_expected, 2, NKBD, "keyboard");
	read_events(&evq[1], tablet_expected, 0, NTABLET, "tablet");
}

int guest_main(void)
{
	static struct vq evq[2], stq[2];
	struct vdev *d[2] = {vdev_find(VIRTIO_ID_INPUT, 0), vdev_find(VIRTIO_ID_INPUT, 1)};
	struct vdev *kbd, *tablet;
	uint64_t wait = 0;
	bool waiting = cmdline_get_u64("wait", &wait);

	TEST_ASSERT_MSG(d[0] && d[1], "want two virtio-input devices (transport %s)",
			vdev_transport_name());
	kbd = is_tablet(d[0]) ? d[1] : d[0];
	tablet = kbd == d[0] ? d[1] : d[0];
	TEST_ASSERT(is_tablet(tablet) && !is_tablet(kbd));
	check_config(kbd, false);
	check_config(tablet, true);
	TEST_ASSERT(vdev_irq_enable(kbd, VEC_INPUT));
	TEST_ASSERT(vdev_irq_enable(tablet, VEC_INPUT + 1));
	start(kbd, &evq[0], &stq[0], waiting ? 2 : NBUFS);
	start(tablet, &evq[1], &stq[1], waiting ? 0 : NBUFS);
	send_led(&stq[0]);
	if (cmdline_has("events") && waiting) {
		events_around_a_wait(evq, kbd, wait);
	} else if (cmdline_has("events")) {
		read_events(&evq[0], kbd_expected, 0, NKBD, "keyboard");
		read_events(&evq[1], tablet_expected, 0, NTABLET, "tablet");
	}
	if (cmdline_has("events")) {
		printf("keyboard: %u events as injected\n", (unsigned)NKBD);
		printf("tablet: %u events as injected\n", (unsigned)NTABLET);
	}
	printf("virtio-input ok\n");
	return 0;
}
