/* virtio-input through a snapshot (virtio/input/input.c save/restore, events.c copy/replace): the
 * driver's config selection, the LEDs it set and the events still waiting for eventq buffers go
 * into the state; a fresh device over a fresh queue (holding other events, as a re-read input
 * script would) then answers the same config reads and holds exactly the saved events. Damaged
 * states (lengths, counts, LEDs the device lacks, events it could never send) are refused with
 * the queue and config untouched. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <linux/virtio_config.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/input/input.h"

static struct mock_ram mram;
static struct input_queue qa, qb;
static struct virtio_dev *a, *b;
static struct virtio_dev_state st;
static uint8_t *priv;
static size_t priv_len;
static char err[200];

static void setup_kind(enum input_kind kind)
{
	cr_assert_eq(mock_ram_init(&mram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(input_queue_init(&qa), 0);
	cr_assert_eq(input_queue_init(&qb), 0);
	cr_assert_eq(virtio_input_create(&a, kind, &qa), 0);
	cr_assert_eq(virtio_input_create(&b, kind, &qb), 0);
	cr_assert_eq(virtio_dev_init(a, &mram.mem), 0);
	cr_assert_eq(virtio_dev_init(b, &mram.mem), 0);
	priv = NULL;
}

static void setup(void)
{
	setup_kind(INPUT_KEYBOARD);
}

static void teardown(void)
{
	virtio_dev_destroy(a);
	virtio_dev_destroy(b);
	free(a);
	free(b);
	input_queue_destroy(&qa);
	input_queue_destroy(&qb);
	mock_ram_free(&mram);
	free(priv);
}

TestSuite(input_snap, .init = setup, .fini = teardown);

static void save(void)
{
	size_t room = virtio_dev_snapshot_size(a);

	free(priv);
	priv = malloc(room);
	cr_assert(priv);
	cr_assert_eq(virtio_dev_snapshot_save(a, &st, priv, room, &priv_len, err, sizeof(err)), 0,
		     "%s", err);
}

static int restore(void)
{
	return virtio_dev_snapshot_restore(b, &st, priv, priv_len, err, sizeof(err));
}

static void select_cfg(struct virtio_dev *d, uint8_t sel, uint8_t sub)
{
	pthread_mutex_lock(&d->lock);
	virtio_dev_config_write(d, 0, &sel, 1);
	virtio_dev_config_write(d, 1, &sub, 1);
	pthread_mutex_unlock(&d->lock);
}

static void read_cfg(struct virtio_dev *d, struct virtio_input_config *cfg)
{
	pthread_mutex_lock(&d->lock);
	virtio_dev_config_read(d, 0, cfg, sizeof(*cfg));
	pthread_mutex_unlock(&d->lock);
}

/* The model state behind the header: struct vinput_snap is select, subsel, u16 leds, u32 n. */
static uint8_t *model(void)
{
	return priv + sizeof(struct virtio_dev_priv_hdr);
}

static void expect_queue(struct input_queue *q, const struct virtio_input_event *want, unsigned n)
{
	struct virtio_input_event got[INPUT_QUEUE_CAP];

	cr_assert_eq(input_queue_copy(q, got, INPUT_QUEUE_CAP), n);
	cr_assert_arr_eq(got, want, n * sizeof(*want));
}

Test(input_snap, config_and_waiting_events_travel)
{
	struct virtio_input_config ca, cb;

	cr_assert_eq(input_queue_push_syn(&qa, EV_KEY, KEY_A, 1), 0);
	cr_assert_eq(input_queue_push_syn(&qa, EV_KEY, KEY_A, 0), 0);
	cr_assert_eq(input_queue_push_syn(&qb, EV_KEY, KEY_B, 1), 0); /* replaced */
	select_cfg(a, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY);
	save();
	cr_assert_eq(restore(), 0, "%s", err);
	read_cfg(a, &ca);
	read_cfg(b, &cb);
	cr_assert_eq(cb.select, VIRTIO_INPUT_CFG_EV_BITS);
	cr_assert_eq(cb.subsel, EV_KEY);
	cr_assert_arr_eq(&ca, &cb, sizeof(ca), "the restored config reads differently");

	struct virtio_input_event want[4];
	cr_assert_eq(input_queue_copy(&qa, want, 4), 4);
	expect_queue(&qb, want, 4);
	cr_assert_eq(input_queue_count(&qa), 4, "a save takes nothing from the queue");
}

Test(input_snap, a_full_queue_fits)
{
	struct virtio_input_event ev = {EV_KEY, KEY_A, 1}, syn = {EV_SYN, SYN_REPORT, 0};

	for (unsigned i = 0; i < INPUT_QUEUE_CAP; i++)
		cr_assert_eq(input_queue_push(&qa, i % 2 ? &syn : &ev, 1), 0);
	cr_assert_gt(virtio_dev_snapshot_size(a), (size_t)VIRTIO_DEV_PRIV_MAX);
	save();
	cr_assert_eq(restore(), 0, "%s", err);
	cr_assert_eq(input_queue_count(&qb), INPUT_QUEUE_CAP);
}

Test(input_snap, leds_travel_and_are_checked)
{
	uint16_t leds = 1u << LED_CAPSL;

	save();
	memcpy(model() + 2, &leds, 2);
	cr_assert_eq(restore(), 0, "%s", err);
	save(); /* from a again: its LEDs are off */
	leds = 1u << LED_MISC;
	memcpy(model() + 2, &leds, 2);
	cr_assert_neq(restore(), 0, "an LED the keyboard does not have");
}

/* Each spoiled state is refused; qb keeps its one KEY_B group, b its config. */
static void expect_refused(const char *what)
{
	struct virtio_input_config c;
	struct virtio_input_event want[2] = {{EV_KEY, KEY_B, 1}, {EV_SYN, SYN_REPORT, 0}};

	cr_assert_neq(restore(), 0, "%s accepted", what);
	expect_queue(&qb, want, 2);
	read_cfg(b, &c);
	cr_assert_eq(c.select, 0, "%s: the config changed", what);
}

static void put_event(unsigned i, uint16_t type, uint16_t code)
{
	struct virtio_input_event ev = {type, code, 1};

	memcpy(model() + 8 + i * sizeof(ev), &ev, sizeof(ev));
}

Test(input_snap, hostile_states_refused)
{
	uint32_t n;

	cr_assert_eq(input_queue_push_syn(&qa, EV_KEY, KEY_A, 1), 0);
	cr_assert_eq(input_queue_push_syn(&qb, EV_KEY, KEY_B, 1), 0);
	select_cfg(a, VIRTIO_INPUT_CFG_ID_NAME, 0);
	save();
	size_t good = priv_len;
	for (priv_len = sizeof(struct virtio_dev_priv_hdr); priv_len < good; priv_len++) {
		uint32_t len = (uint32_t)(priv_len - sizeof(struct virtio_dev_priv_hdr));

		memcpy(priv + offsetof(struct virtio_dev_priv_hdr, len), &len, 4);
		expect_refused("a truncated state");
	}
	priv_len = good;
	n = 3;
	save();
	memcpy(model() + 4, &n, 4);
	expect_refused("more events than the bytes");
	n = INPUT_QUEUE_CAP + 1;
	save();
	memcpy(model() + 4, &n, 4);
	expect_refused("more events than the queue holds");
	save();
	put_event(0, EV_ABS, ABS_X);
	expect_refused("an EV_ABS event from a keyboard");
	save();
	put_event(0, EV_KEY, BTN_LEFT);
	expect_refused("a key the keyboard does not have");
	save();
	put_event(1, EV_SYN, SYN_DROPPED);
	expect_refused("a SYN other than SYN_REPORT");
	save();
	put_event(0, 0x1234, 0);
	expect_refused("an unknown event type");
}

/* The tablet's events and its lack of LEDs. */
static void setup_tablet(void)
{
	setup_kind(INPUT_TABLET);
}

Test(input_snap_tablet, events_and_no_leds, .init = setup_tablet, .fini = teardown)
{
	uint16_t leds = 1u << LED_NUML;

	cr_assert_eq(input_queue_push_syn(&qa, EV_ABS, ABS_X, 100), 0);
	cr_assert_eq(input_queue_push_syn(&qa, EV_KEY, BTN_LEFT, 1), 0);
	save();
	cr_assert_eq(restore(), 0, "%s", err);
	cr_assert_eq(input_queue_count(&qb), 4);
	memcpy(model() + 2, &leds, 2);
	cr_assert_neq(restore(), 0, "the tablet has no LEDs");
}
