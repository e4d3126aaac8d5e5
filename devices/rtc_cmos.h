/* MC146818-style RTC and CMOS RAM at ports 0x70 (index) / 0x71 (data), read-only clock.
 *
 * The clock registers always show the host's current UTC time in BCD, 24-hour mode, with the
 * update-in-progress flag clear; writes to them are ignored (the guest cannot set the host
 * clock). No periodic/alarm/update interrupts (no IRQ 8). Other CMOS bytes are plain RAM, zero
 * at start; rtc_cmos_set_mem_size() fills the memory-size bytes SeaBIOS-style. */
#ifndef DEVICES_RTC_CMOS_H
#define DEVICES_RTC_CMOS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/io_bus.h"

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

int rtc_cmos_init(struct rtc_cmos *r);

/* rtc_cmos_init() + claim ports 0x70-0x71. Returns 0 or -errno. */
int rtc_cmos_attach(struct rtc_cmos *r, struct io_bus *pio);
void rtc_cmos_detach(struct rtc_cmos *r, struct io_bus *pio);

/* Record guest RAM sizes in the conventional CMOS bytes: 0x30/0x31 KiB above 1 MiB (max 0xffff),
 * 0x34/0x35 64 KiB units between 16 MiB and `below_4g` (max 0xffff), 0x5b-0x5d 64 KiB units
 * above 4 GiB (`above_4g`, 24 bits max). */
void rtc_cmos_set_mem_size(struct rtc_cmos *r, uint64_t below_4g, uint64_t above_4g);

/* Register-level access, what the bus handlers use; exposed for tests and fuzzers.
 * `port_offset` is 0 (index port) or 1 (data port). */
uint8_t rtc_cmos_read(struct rtc_cmos *r, unsigned port_offset);
void rtc_cmos_write(struct rtc_cmos *r, unsigned port_offset, uint8_t val);

#endif
