/* Test-only calls of devices/x86/rtc_cmos.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef DEVICES_X86_RTC_CMOS_TEST_H
#define DEVICES_X86_RTC_CMOS_TEST_H

#include "devices/x86/rtc_cmos.h"

/* Register-level access, what the bus handlers use; exposed for tests and fuzzers.
 * `port_offset` is 0 (index port) or 1 (data port). */
uint8_t rtc_cmos_read(struct rtc_cmos *r, unsigned port_offset);

void rtc_cmos_write(struct rtc_cmos *r, unsigned port_offset, uint8_t val);

int rtc_cmos_init(struct rtc_cmos *r);

#endif
