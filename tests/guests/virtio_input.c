/* virtio-input (virtio 1.2 section 5.8): finds the keyboard and the tablet, checks their config
 * space (select/subsel: ID_NAME, ID_DEVIDS, EV_BITS, ABS_INFO), sends an LED state on the
 * keyboard's statusq, and with `events` on the command line reads the events the host injected
 * (tests/integration/display_input.sh writes the matching --input-script) and compares them, in
 * order, with the expected lists below.
 *
 * Command line: [events] (without it, only the config space and the statusq are checked: QEMU
 * has no injection path that a script can use). */
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

static void start(struct vdev *d, struct vq *evq, struct vq *stq)
{
	int err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX), 0);

	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d", err);
	TEST_ASSERT_EQ(vq_setup(evq, d, 0, NBUFS), 0);
	TEST_ASSERT_EQ(vq_setup(stq, d, 1, 8), 0);
	vdev_driver_ok(d);
	for (unsigned i = 0; i < NBUFS; i++) {
		struct ev *e = virtio_alloc(sizeof(*e), 16);
		struct vq_buf b = {virt_to_phys(e), sizeof(*e), true};

		TEST_ASSERT(e);
		memset(e, 0xee, sizeof(*e));
		TEST_ASSERT_EQ(vq_add(evq, &b, 1, e, 0), 0);
	}
	vq_kick(evq);
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

static void read_events(struct vq *evq, const struct ev *want, unsigned n, const char *what)
{
	unsigned got = 0;

	while (got < n) {
		struct ev *e;
		uint32_t len;

		TEST_ASSERT_MSG(vq_wait(evq, WAIT_MS), "%s: %u of %u events", what, got, n);
		while (got < n && (e = vq_get_used(evq, &len)) != NULL) {
			TEST_ASSERT_EQ(len, sizeof(*e));
			TEST_ASSERT_MSG(e->type == want[got].type && e->code == want[got].code &&
					    e->value == want[got].value,
					"%s event %u: %u/%u/%u, want %u/%u/%u", what, got, e->type,
					e->code, e->value, want[got].type, want[got].code,
					want[got].value);
			got++;
		}
	}
	printf("%s: %u events as injected\n", what, n);
}

int guest_main(void)
{
	static struct vq evq[2], stq[2];
	struct vdev *d[2] = {vdev_find(VIRTIO_ID_INPUT, 0), vdev_find(VIRTIO_ID_INPUT, 1)};
	struct vdev *kbd, *tablet;

	TEST_ASSERT_MSG(d[0] && d[1], "want two virtio-input devices (transport %s)",
			vdev_transport_name());
	kbd = is_tablet(d[0]) ? d[1] : d[0];
	tablet = kbd == d[0] ? d[1] : d[0];
	TEST_ASSERT(is_tablet(tablet) && !is_tablet(kbd));
	check_config(kbd, false);
	check_config(tablet, true);
	TEST_ASSERT(vdev_irq_enable(kbd, VEC_INPUT));
	TEST_ASSERT(vdev_irq_enable(tablet, VEC_INPUT + 1));
	start(kbd, &evq[0], &stq[0]);
	start(tablet, &evq[1], &stq[1]);
	send_led(&stq[0]);
	if (cmdline_has("events")) {
		read_events(&evq[0], kbd_expected, sizeof(kbd_expected) / sizeof(kbd_expected[0]),
			    "keyboard");
		read_events(&evq[1], tablet_expected,
			    sizeof(tablet_expected) / sizeof(tablet_expected[0]), "tablet");
	}
	printf("virtio-input ok\n");
	return 0;
}
