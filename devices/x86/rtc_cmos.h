/* MC146818-style RTC and CMOS RAM at ports 0x70 (index) / 0x71 (data), read-only clock.
 *
 * The clock registers always show the host's current UTC time in BCD, 24-hour mode, with the
 * update-in-progress flag clear; writes to them are ignored (the guest cannot set the host
 * clock). No periodic/alarm/update interrupts (no IRQ 8). Other CMOS bytes are plain RAM, zero
 * at start; the memory-size bytes (0x30/0x31, 0x34/0x35, 0x5b-0x5d) stay 0: the guest learns its
 * memory from the e820 or PVH map (firmware/machine.h), and no firmware here reads them. */
#ifndef DEVICES_RTC_CMOS_H
#define DEVICES_RTC_CMOS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/io_bus.h"

#define RTC_CMOS_SIZE 128

struct rtc_cmos {
	pthread_mutex_t lock;
	uint8_t index;	   /* selected register, 0..127 */
	bool nmi_disabled; /* bit 7 of the last index write; kept, has no effect */
	uint8_t ram[RTC_CMOS_SIZE];
	/* Clock source; NULL means the host's CLOCK_REALTIME. Tests inject a fixed time. */
	time_t (*now)(void *opaque);
	void *now_opaque;
};

/* Sets the clock to its power-on state and claims ports 0x70-0x71. Returns 0 or -errno. */
int rtc_cmos_attach(struct rtc_cmos *r, struct io_bus *pio);
void rtc_cmos_detach(struct rtc_cmos *r, struct io_bus *pio);

/* The CMOS RAM and index register for a snapshot. The clock registers are not state: they show
 * the host's time, before and after a restore. */
struct rtc_cmos_state {
	uint8_t ram[RTC_CMOS_SIZE];
	uint8_t index;	      /* 0..127 */
	uint8_t nmi_disabled; /* 0 or 1 */
	uint8_t reserved[2];  /* zero */
};

/* Copies the state (lock taken inside). */
/* Sets CMOS RAM byte `index` (< RTC_CMOS_SIZE, not a clock register), as a firmware's setup
 * utility would have: the memory sizes a PC BIOS reads (0x15-0x18, 0x30/0x31, 0x34/0x35,
 * 0x5b-0x5d). Out-of-range or clock indexes are ignored. */
void rtc_cmos_set_ram(struct rtc_cmos *r, uint8_t index, uint8_t val);
/* The memory sizes a PC BIOS reads from CMOS (QEMU's pc_cmos_init() layout, what OVMF falls back
 * to without fw_cfg's etc/e820): 0x15/0x16 640 KiB of base memory; 0x17/0x18 and 0x30/0x31 KiB
 * from 1 MiB (at most 0xFFFF); 0x34/0x35 64 KiB units from 16 MiB to `below_4g` (at most
 * 0xFFFF); 0x5B-0x5D 64 KiB units of `above_4g`. */
void rtc_cmos_set_memory(struct rtc_cmos *r, uint64_t below_4g, uint64_t above_4g);
void rtc_cmos_save(struct rtc_cmos *r, struct rtc_cmos_state *s);
/* Checks (index < 128, booleans 0/1) and puts it in; lock taken inside. 0 or -EINVAL. */
int rtc_cmos_restore(struct rtc_cmos *r, const struct rtc_cmos_state *s);

#endif
