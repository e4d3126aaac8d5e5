/* What a virtio-input device says about itself through its config space (virtio 1.2 section
 * 5.8.4): the driver writes `select` and `subsel`, the device answers with `size` bytes of `u`
 * (size 0: nothing for this pair). Two devices are described here:
 *
 *   keyboard: EV_KEY (every key of virtio/input/keymap.h, KEY_POWER among them), EV_REP, EV_LED
 *             (Num/Caps/Scroll Lock, which the driver sets through the statusq);
 *   tablet:   an absolute pointer, EV_ABS ABS_X / ABS_Y over 0..INPUT_ABS_MAX, EV_KEY BTN_LEFT /
 *             BTN_RIGHT / BTN_MIDDLE, EV_REL REL_WHEEL.
 *
 * Both: ID_NAME, ID_SERIAL, ID_DEVIDS (BUS_VIRTUAL), no PROP_BITS. */
#ifndef VIRTIO_INPUT_CONFIG_H
#define VIRTIO_INPUT_CONFIG_H

#include <linux/virtio_input.h>
#include <stdint.h>

#define INPUT_ABS_MAX 32767 /* tablet coordinates span 0..32767 on both axes */

enum input_kind { INPUT_KEYBOARD, INPUT_TABLET };

#define INPUT_NAME_KEYBOARD "VMM virtio keyboard"
#define INPUT_NAME_TABLET   "VMM virtio tablet"

/* Fills cfg->u and cfg->size from cfg->select and cfg->subsel (the rest of u is zeroed). */
void input_config_select(enum input_kind kind, struct virtio_input_config *cfg);

#endif
