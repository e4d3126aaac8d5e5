/* virtio-input config space answers (virtio 1.2 section 5.8.4). See virtio/input/config.h. */
#include "virtio/input/config.h"

#include <linux/input.h>
#include <stdbool.h>
#include <string.h>

#include "virtio/input/keymap.h"

#define VENDOR_VIRTIO 0x1af4 /* the PCI vendor of virtio devices; ours are virtual anyway */

/* The size of a bitmap: up to its last non-zero byte. */
static uint8_t bitmap_size(const uint8_t *bitmap)
{
	unsigned n = sizeof(((struct virtio_input_config *)0)->u.bitmap);

	while (n && !bitmap[n - 1])
		n--;
	return (uint8_t)n;
}

static void set_bit(uint8_t *bitmap, unsigned bit)
{
	bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static uint8_t string(struct virtio_input_config *cfg, const char *s)
{
	size_t n = strlen(s);

	memcpy(cfg->u.string, s, n); /* 5.8.4: not NUL-terminated; size says how long */
	return (uint8_t)n;
}

static void keyboard_ev_bits(uint8_t type, uint8_t *bitmap)
{
	switch (type) {
	case EV_KEY:
		input_keymap_bits(bitmap);
		set_bit(bitmap, KEY_POWER);
		break;
	case EV_REP: /* any size > 0 makes Linux's driver set EV_REP (autorepeat in the guest) */
		set_bit(bitmap, REP_DELAY);
		set_bit(bitmap, REP_PERIOD);
		break;
	case EV_LED:
		set_bit(bitmap, LED_NUML);
		set_bit(bitmap, LED_CAPSL);
		set_bit(bitmap, LED_SCROLLL);
		break;
	}
}

static void tablet_ev_bits(uint8_t type, uint8_t *bitmap)
{
	switch (type) {
	case EV_KEY:
		set_bit(bitmap, BTN_LEFT);
		set_bit(bitmap, BTN_RIGHT);
		set_bit(bitmap, BTN_MIDDLE);
		break;
	case EV_REL:
		set_bit(bitmap, REL_WHEEL);
		break;
	case EV_ABS:
		set_bit(bitmap, ABS_X);
		set_bit(bitmap, ABS_Y);
		break;
	}
}

static uint8_t abs_info(enum input_kind kind, uint8_t axis, struct virtio_input_absinfo *abs)
{
	if (kind != INPUT_TABLET || (axis != ABS_X && axis != ABS_Y))
		return 0;
	*abs = (struct virtio_input_absinfo){.min = 0, .max = INPUT_ABS_MAX};
	return sizeof(*abs);
}

static uint8_t answer(enum input_kind kind, struct virtio_input_config *cfg)
{
	bool kbd = kind == INPUT_KEYBOARD;

	switch (cfg->select) {
	case VIRTIO_INPUT_CFG_ID_NAME:
		return cfg->subsel ? 0 : string(cfg, kbd ? INPUT_NAME_KEYBOARD : INPUT_NAME_TABLET);
	case VIRTIO_INPUT_CFG_ID_SERIAL:
		return cfg->subsel ? 0 : string(cfg, kbd ? "vmm-kbd-0" : "vmm-tablet-0");
	case VIRTIO_INPUT_CFG_ID_DEVIDS:
		if (cfg->subsel)
			return 0;
		cfg->u.ids = (struct virtio_input_devids){BUS_VIRTUAL, VENDOR_VIRTIO,
							  kbd ? 0x0001 : 0x0003, 0x0001};
		return sizeof(cfg->u.ids);
	case VIRTIO_INPUT_CFG_EV_BITS:
		if (kbd)
			keyboard_ev_bits(cfg->subsel, cfg->u.bitmap);
		else
			tablet_ev_bits(cfg->subsel, cfg->u.bitmap);
		return bitmap_size(cfg->u.bitmap);
	case VIRTIO_INPUT_CFG_ABS_INFO:
		return abs_info(kind, cfg->subsel, &cfg->u.abs);
	default: /* UNSET, PROP_BITS (none), unknown selectors */
		return 0;
	}
}

void input_config_select(enum input_kind kind, struct virtio_input_config *cfg)
{
	memset(&cfg->u, 0, sizeof(cfg->u));
	cfg->size = answer(kind, cfg);
}
