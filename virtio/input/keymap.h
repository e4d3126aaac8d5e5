/* Host key to Linux evdev key code (<linux/input-event-codes.h>), the codes a virtio-input
 * keyboard sends (virtio 1.2 section 5.8.6.2: events are evdev events).
 *
 * The host key is a USB HID usage of the Keyboard/Keypad page (0x07, HID Usage Tables 1.12
 * chapter 10). SDL2's SDL_Scancode values are defined as these usages, so the SDL window passes
 * its scancodes unchanged, and this mapping needs no SDL header (tests run without SDL). */
#ifndef VIRTIO_INPUT_KEYMAP_H
#define VIRTIO_INPUT_KEYMAP_H

#include <stdint.h>

/* The evdev code for HID usage `usage`, or 0 (KEY_RESERVED) when it has none. */
uint16_t input_keymap_hid(uint32_t usage);

/* Sets bit `code` in `bitmap` (at least 128 bytes: codes < 1024) for every code the mapping can
 * produce. */
void input_keymap_bits(uint8_t *bitmap);

#endif
