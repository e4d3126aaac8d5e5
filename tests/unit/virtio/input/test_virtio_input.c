/* virtio-input (virtio 1.2 section 5.8): the HID-to-evdev key mapping, the config space answers
 * of the keyboard and the tablet, the host event queue (groups all or nothing), input scripts,
 * and the device behind a mock driver (one event per buffer, events kept until buffers come,
 * short buffers, select/subsel writes, the statusq). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/input.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/input/input.h"
#include "virtio/input/keymap.h"

/* ---- key mapping ---- */

Test(input_keymap, hid_usages_to_evdev)
{
	cr_assert_eq(input_keymap_hid(0x04), KEY_A);
	cr_assert_eq(input_keymap_hid(0x1d), KEY_Z);
	cr_assert_eq(input_keymap_hid(0x1e), KEY_1);
	cr_assert_eq(input_keymap_hid(0x27), KEY_0);
	cr_assert_eq(input_keymap_hid(0x28), KEY_ENTER);
	cr_assert_eq(input_keymap_hid(0x29), KEY_ESC);
	cr_assert_eq(input_keymap_hid(0x2c), KEY_SPACE);
	cr_assert_eq(input_keymap_hid(0x3a), KEY_F1);
	cr_assert_eq(input_keymap_hid(0x44), KEY_F11);
	cr_assert_eq(input_keymap_hid(0x45), KEY_F12);
	cr_assert_eq(input_keymap_hid(0x4f), KEY_RIGHT);
	cr_assert_eq(input_keymap_hid(0x52), KEY_UP);
	cr_assert_eq(input_keymap_hid(0x58), KEY_KPENTER);
	cr_assert_eq(input_keymap_hid(0x62), KEY_KP0);
	cr_assert_eq(input_keymap_hid(0x66), KEY_POWER);
	cr_assert_eq(input_keymap_hid(0xe0), KEY_LEFTCTRL);
	cr_assert_eq(input_keymap_hid(0xe2), KEY_LEFTALT);
	cr_assert_eq(input_keymap_hid(0xe7), KEY_RIGHTMETA);
	/* No key: reserved usages, gaps, past the table. */
	cr_assert_eq(input_keymap_hid(0), KEY_RESERVED);
	cr_assert_eq(input_keymap_hid(0x03), KEY_RESERVED);
	cr_assert_eq(input_keymap_hid(0xa0), KEY_RESERVED);
	cr_assert_eq(input_keymap_hid(0xe8), KEY_RESERVED);
	cr_assert_eq(input_keymap_hid(0xffffffff), KEY_RESERVED);
}

Test(input_keymap, letters_are_a_bijection)
{
	uint8_t seen[KEY_MAX / 8 + 1] = {0};

	for (uint32_t u = 0x04; u <= 0x1d; u++) {
		uint16_t c = input_keymap_hid(u);

		cr_assert_neq(c, 0);
		cr_assert_not(seen[c / 8] >> (c % 8) & 1, "usage 0x%x repeats code %u", u, c);
		seen[c / 8] |= (uint8_t)(1 << (c % 8));
	}
}

Test(input_keymap, bitmap)
{
	uint8_t bits[128] = {0};

	input_keymap_bits(bits);
	cr_assert(bits[KEY_A / 8] >> (KEY_A % 8) & 1);
	cr_assert(bits[KEY_F24 / 8] >> (KEY_F24 % 8) & 1);
	cr_assert_not(bits[0] & 1); /* KEY_RESERVED */
	cr_assert_eq(bits[KEY_F24 / 8 + 1], 0);
}

/* ---- config space ---- */

static struct virtio_input_config sel(enum input_kind k, uint8_t select, uint8_t subsel)
{
	struct virtio_input_config c = {.select = select, .subsel = subsel};

	memset(&c.u, 0x5a, sizeof(c.u)); /* stale bytes must be cleared */
	input_config_select(k, &c);
	return c;
}

static bool has_bit(const struct virtio_input_config *c, unsigned bit)
{
	return bit / 8 < c->size && (c->u.bitmap[bit / 8] >> (bit % 8) & 1);
}

Test(input_config, identity)
{
	struct virtio_input_config c = sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_ID_NAME, 0);

	cr_assert_eq(c.size, strlen(INPUT_NAME_KEYBOARD));
	cr_assert_eq(memcmp(c.u.string, INPUT_NAME_KEYBOARD, c.size), 0);
	cr_assert_eq(c.u.string[c.size], 0);
	c = sel(INPUT_TABLET, VIRTIO_INPUT_CFG_ID_NAME, 0);
	cr_assert_eq(memcmp(c.u.string, INPUT_NAME_TABLET, c.size), 0);
	cr_assert_eq(sel(INPUT_TABLET, VIRTIO_INPUT_CFG_ID_NAME, 1).size, 0);
	c = sel(INPUT_TABLET, VIRTIO_INPUT_CFG_ID_SERIAL, 0);
	cr_assert_eq(c.size, strlen("vmm-tablet-0"));
	c = sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_ID_DEVIDS, 0);
	cr_assert_eq(c.size, 8);
	cr_assert_eq(c.u.ids.bustype, BUS_VIRTUAL);
	cr_assert_eq(c.u.ids.vendor, 0x1af4);
	cr_assert_eq(c.u.ids.product, 1);
	cr_assert_eq(sel(INPUT_TABLET, VIRTIO_INPUT_CFG_ID_DEVIDS, 0).u.ids.product, 3);
}

Test(input_config, nothing_for_unknown_selectors)
{
	cr_assert_eq(sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_UNSET, 0).size, 0);
	cr_assert_eq(sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_PROP_BITS, 0).size, 0);
	cr_assert_eq(sel(INPUT_TABLET, 0x7f, 0).size, 0);
	cr_assert_eq(sel(INPUT_TABLET, 0xff, 0xff).size, 0);
	struct virtio_input_config c = sel(INPUT_TABLET, 0x13, 0);
	for (unsigned i = 0; i < sizeof(c.u); i++)
		cr_assert_eq(c.u.bitmap[i], 0);
}

Test(input_config, keyboard_bits)
{
	struct virtio_input_config c = sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY);

	cr_assert_eq(c.size, KEY_F24 / 8 + 1);
	cr_assert(has_bit(&c, KEY_A) && has_bit(&c, KEY_POWER) && has_bit(&c, KEY_LEFTSHIFT));
	cr_assert_not(has_bit(&c, BTN_LEFT));
	c = sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_EV_BITS, EV_LED);
	cr_assert_eq(c.size, 1);
	cr_assert_eq(c.u.bitmap[0], 0x7);
	cr_assert_gt(sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_EV_BITS, EV_REP).size, 0);
	cr_assert_eq(sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS).size, 0);
	cr_assert_eq(sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_EV_BITS, EV_REL).size, 0);
	cr_assert_eq(sel(INPUT_KEYBOARD, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X).size, 0);
}

Test(input_config, tablet_bits_and_axes)
{
	struct virtio_input_config c = sel(INPUT_TABLET, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS);

	cr_assert_eq(c.size, 1);
	cr_assert_eq(c.u.bitmap[0], 0x3); /* ABS_X, ABS_Y */
	c = sel(INPUT_TABLET, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY);
	cr_assert_eq(c.size, BTN_MIDDLE / 8 + 1);
	cr_assert(has_bit(&c, BTN_LEFT) && has_bit(&c, BTN_RIGHT) && has_bit(&c, BTN_MIDDLE));
	cr_assert_not(has_bit(&c, KEY_A));
	c = sel(INPUT_TABLET, VIRTIO_INPUT_CFG_EV_BITS, EV_REL);
	cr_assert(has_bit(&c, REL_WHEEL));
	c = sel(INPUT_TABLET, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y);
	cr_assert_eq(c.size, 20);
	cr_assert_eq(c.u.abs.min, 0);
	cr_assert_eq(c.u.abs.max, INPUT_ABS_MAX);
	cr_assert_eq(c.u.abs.fuzz, 0);
	cr_assert_eq(sel(INPUT_TABLET, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Z).size, 0);
	cr_assert_eq(sel(INPUT_TABLET, VIRTIO_INPUT_CFG_EV_BITS, EV_LED).size, 0);
}

/* ---- the host event queue ---- */

static struct input_queue q;

static void q_setup(void)
{
	cr_assert_eq(input_queue_init(&q), 0);
}

static void q_teardown(void)
{
	input_queue_destroy(&q);
}

static bool fd_readable(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v);
}

Test(input_queue, groups_in_order, .init = q_setup, .fini = q_teardown)
{
	struct virtio_input_event ev;

	cr_assert_not(input_queue_peek(&q, &ev));
	cr_assert_eq(input_queue_push(&q, &ev, 0), -EINVAL);
	cr_assert_eq(input_queue_push_syn(&q, EV_KEY, KEY_B, 1), 0);
	cr_assert(fd_readable(input_queue_fd(&q)));
	cr_assert_not(fd_readable(input_queue_fd(&q)));
	cr_assert_eq(input_queue_count(&q), 2);
	cr_assert(input_queue_peek(&q, &ev));
	cr_assert_eq(ev.type, EV_KEY);
	cr_assert_eq(ev.code, KEY_B);
	cr_assert_eq(ev.value, 1);
	cr_assert(input_queue_peek(&q, &ev)); /* peek does not consume */
	cr_assert_eq(ev.code, KEY_B);
	input_queue_drop(&q);
	cr_assert(input_queue_peek(&q, &ev));
	cr_assert_eq(ev.type, EV_SYN);
	cr_assert_eq(ev.code, SYN_REPORT);
	input_queue_drop(&q);
	input_queue_drop(&q); /* empty: harmless */
	cr_assert_eq(input_queue_count(&q), 0);
}

Test(input_queue, full_queue_drops_whole_groups, .init = q_setup, .fini = q_teardown)
{
	struct virtio_input_event ev = {EV_REL, REL_WHEEL, 1};

	for (unsigned i = 0; i < INPUT_QUEUE_CAP - 1; i++)
		cr_assert_eq(input_queue_push(&q, &ev, 1), 0);
	cr_assert_eq(input_queue_push_syn(&q, EV_KEY, KEY_C, 1), -ENOSPC); /* 2 do not fit */
	cr_assert_eq(input_queue_count(&q), INPUT_QUEUE_CAP - 1);
	cr_assert_eq(q.dropped, 1);
	cr_assert_eq(input_queue_push(&q, &ev, 1), 0);
	cr_assert_eq(input_queue_push(&q, &ev, 1), -ENOSPC);
	for (unsigned i = 0; i < INPUT_QUEUE_CAP; i++)
		input_queue_drop(&q);
	cr_assert_eq(input_queue_push_syn(&q, EV_KEY, KEY_C, 1), 0); /* wraps around */
	cr_assert(input_queue_peek(&q, &ev));
	cr_assert_eq(ev.code, KEY_C);
}

/* ---- input scripts ---- */

static char script_path[] = "/tmp/test_virtio_input.XXXXXX";

static int load(const char *text, struct input_queue *kbd, struct input_queue *tab)
{
	int fd = mkstemp(script_path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int err = virtio_input_load_script(script_path, kbd, tab);
	unlink(script_path);
	strcpy(script_path, "/tmp/test_virtio_input.XXXXXX");
	return err;
}

static void expect(struct input_queue *in, uint16_t type, uint16_t code, uint32_t value)
{
	struct virtio_input_event ev;

	cr_assert(input_queue_peek(in, &ev));
	cr_assert_eq(ev.type, type);
	cr_assert_eq(ev.code, code);
	cr_assert_eq(ev.value, value);
	input_queue_drop(in);
}

Test(input_script, events_from_a_file, .init = q_setup, .fini = q_teardown)
{
	struct input_queue tab;

	cr_assert_eq(input_queue_init(&tab), 0);
	cr_assert_eq(load("# comment\n\nkey 30 1\n  key 0x1e 0 # release\n"
			  "abs 100 32767\nbtn 0x110 1\nwheel -1\n",
			  &q, &tab),
		     0);
	expect(&q, EV_KEY, KEY_A, 1);
	expect(&q, EV_SYN, SYN_REPORT, 0);
	expect(&q, EV_KEY, KEY_A, 0);
	expect(&q, EV_SYN, SYN_REPORT, 0);
	cr_assert_eq(input_queue_count(&q), 0);
	expect(&tab, EV_ABS, ABS_X, 100);
	expect(&tab, EV_ABS, ABS_Y, 32767);
	expect(&tab, EV_SYN, SYN_REPORT, 0);
	expect(&tab, EV_KEY, BTN_LEFT, 1);
	expect(&tab, EV_SYN, SYN_REPORT, 0);
	expect(&tab, EV_REL, REL_WHEEL, (uint32_t)-1);
	expect(&tab, EV_SYN, SYN_REPORT, 0);
	input_queue_destroy(&tab);
}

Test(input_script, bad_lines, .init = q_setup, .fini = q_teardown)
{
	cr_assert_eq(load("key 30\n", &q, &q), -EINVAL);
	cr_assert_eq(load("key 30 3\n", &q, &q), -EINVAL);
	cr_assert_eq(load("key 0 1\n", &q, &q), -EINVAL);
	cr_assert_eq(load("key 30x 1\n", &q, &q), -EINVAL);
	cr_assert_eq(load("abs 1 32768\n", &q, &q), -EINVAL);
	cr_assert_eq(load("abs -1 0\n", &q, &q), -EINVAL);
	cr_assert_eq(load("jump 1 2\n", &q, &q), -EINVAL);
	cr_assert_eq(load("key 30 1 1 1 1\n", &q, &q), -EINVAL);
	cr_assert_eq(load("abs 1 1\n", &q, NULL), -EINVAL); /* no tablet */
	cr_assert_eq(virtio_input_load_script("/nonexistent/script", &q, &q), -ENOENT);
}

/* ---- the device behind a mock driver ---- */

static struct mock_ram mram;
static struct mock_vq evq, stq;
static struct virtio_dev *dev;
static unsigned irqs[2];

static void count_irq(void *opaque, uint16_t queue)
{
	(void)opaque;
	if (queue < 2)
		irqs[queue]++;
}

static void attach(int qi, struct mock_vq *mv, uint64_t ring)
{
	cr_assert_eq(mock_vq_init(mv, &mram, 16, false, ring), 0);
	dev->vqs[qi].num = mv->size;
	dev->vqs[qi].desc_addr = mv->desc;
	dev->vqs[qi].driver_addr = mv->driver;
	dev->vqs[qi].device_addr = mv->device;
	virtio_dev_set_queue_ready(dev, (uint16_t)qi, true);
}

static void dev_setup(void)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	q_setup();
	memset(irqs, 0, sizeof(irqs));
	cr_assert_eq(virtio_input_create(&dev, INPUT_KEYBOARD, &q), 0);
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&mram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &mram.mem), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 1, 1);
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	attach(0, &evq, MOCK_RAM_GPA);
	attach(1, &stq, MOCK_RAM_GPA + MOCK_RAM_SIZE / 2);
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
}

static void dev_teardown(void)
{
	virtio_dev_destroy(dev);
	free(dev);
	mock_vq_free(&evq);
	mock_vq_free(&stq);
	mock_ram_free(&mram);
	q_teardown();
}

TestSuite(input_dev, .init = dev_setup, .fini = dev_teardown);

static uint64_t add_buf(struct mock_vq *mv, uint32_t len, bool write)
{
	uint64_t a = mock_alloc(mv, len);
	struct mock_buf b = {a, len, write};

	cr_assert_neq(a, 0);
	memset(mock_ram_host(&mram, a), 0xee, len);
	cr_assert_geq(mock_split_add(mv, &b, 1), 0);
	return a;
}

static void locked(void (*fn)(struct virtio_dev *, uint16_t), uint16_t qi)
{
	pthread_mutex_lock(&dev->lock);
	fn(dev, qi);
	virtio_dev_process_pending(dev); /* what the I/O thread does after a kick */
	pthread_mutex_unlock(&dev->lock);
}

/* What the I/O thread does when the queue's eventfd fires. */
static void source_ready(void)
{
	cr_assert_eq(dev->nfds, 1);
	cr_assert_eq(dev->fds[0].fd, input_queue_fd(&q));
	pthread_mutex_lock(&dev->lock);
	dev->fds[0].ready(dev, dev->fds[0].fd, EPOLLIN);
	pthread_mutex_unlock(&dev->lock);
}

static void used_event(uint64_t addr, uint16_t type, uint16_t code, uint32_t value)
{
	struct virtio_input_event ev;
	uint32_t id, len;

	cr_assert_eq(mock_split_get_used(&evq, &id, &len), 1);
	cr_assert_eq(len, sizeof(ev));
	memcpy(&ev, mock_ram_host(&mram, addr), sizeof(ev));
	cr_assert_eq(ev.type, type);
	cr_assert_eq(ev.code, code);
	cr_assert_eq(ev.value, value);
}

Test(input_dev, one_event_per_buffer_and_waiting_events)
{
	uint64_t b0 = add_buf(&evq, 8, true), b1 = add_buf(&evq, 16, true);
	uint32_t id, len;

	locked(virtio_dev_kick, 0); /* buffers but no events: nothing used */
	cr_assert_eq(mock_split_get_used(&evq, &id, &len), 0);
	cr_assert_eq(input_queue_push_syn(&q, EV_KEY, KEY_Q, 1), 0);
	cr_assert_eq(input_queue_push_syn(&q, EV_KEY, KEY_Q, 0), 0);
	source_ready();
	used_event(b0, EV_KEY, KEY_Q, 1);
	used_event(b1, EV_SYN, SYN_REPORT, 0);
	cr_assert_eq(mock_split_get_used(&evq, &id, &len), 0);
	cr_assert_eq(irqs[0], 1);
	cr_assert_eq(input_queue_count(&q), 2); /* waiting for buffers */
	uint64_t b2 = add_buf(&evq, 8, true), b3 = add_buf(&evq, 8, true);
	locked(virtio_dev_kick, 0);
	used_event(b2, EV_KEY, KEY_Q, 0);
	used_event(b3, EV_SYN, SYN_REPORT, 0);
	cr_assert_eq(input_queue_count(&q), 0);
}

Test(input_dev, short_buffer_used_empty_event_kept)
{
	uint64_t small = add_buf(&evq, 4, true), ro = add_buf(&evq, 8, false);
	uint64_t good = add_buf(&evq, 8, true);
	uint32_t id, len;

	(void)small, (void)ro;
	cr_assert_eq(input_queue_push_syn(&q, EV_KEY, KEY_W, 2), 0);
	source_ready();
	cr_assert_eq(mock_split_get_used(&evq, &id, &len), 1);
	cr_assert_eq(len, 0);
	cr_assert_eq(mock_split_get_used(&evq, &id, &len), 1);
	cr_assert_eq(len, 0); /* device-readable: never written */
	cr_assert_eq(*(uint8_t *)mock_ram_host(&mram, ro), 0xee);
	used_event(good, EV_KEY, KEY_W, 2);
}

Test(input_dev, select_and_subsel_writes)
{
	struct virtio_input_config c;
	uint8_t b = VIRTIO_INPUT_CFG_EV_BITS, two[2] = {VIRTIO_INPUT_CFG_EV_BITS, EV_LED};

	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_write(dev, 0, &b, 1);
	b = EV_KEY;
	virtio_dev_config_write(dev, 1, &b, 1);
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(c.size, KEY_F24 / 8 + 1);
	cr_assert(c.u.bitmap[KEY_A / 8] >> (KEY_A % 8) & 1);
	virtio_dev_config_write(dev, 0, two, 2); /* both at once */
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(c.size, 1);
	cr_assert_eq(c.u.bitmap[0], 7);
	b = 99;
	virtio_dev_config_write(dev, 2, &b, 1); /* size is read-only */
	virtio_dev_config_write(dev, 8, &b, 1); /* and so is the union */
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(c.size, 1);
	cr_assert_eq(c.u.bitmap[0], 7);
	pthread_mutex_unlock(&dev->lock);
}

Test(input_dev, statusq_accepts_led_writes)
{
	struct virtio_input_event led = {EV_LED, LED_CAPSL, 1};
	uint64_t a = mock_fill(&stq, &led, sizeof(led));
	struct mock_buf b = {a, sizeof(led), false};
	uint32_t id, len;

	cr_assert_geq(mock_split_add(&stq, &b, 1), 0);
	locked(virtio_dev_kick, 1);
	cr_assert_eq(mock_split_get_used(&stq, &id, &len), 1);
	cr_assert_eq(len, 0);
	cr_assert_eq(irqs[1], 1);
	cr_assert_eq(input_queue_count(&q), 0); /* not echoed as input */
}
