/* Reads the CMOS clock as a Linux guest's rtc_cmos driver does (index to port 0x70, data from
 * 0x71): the status registers, then the time in BCD, twice to catch a second boundary. Every
 * distribution kernel does this at boot; a VMM whose vCPU thread loaded libc's time zone on the
 * first read died by its own seccomp filter (issue 46). Prints "rtc: YYYY-MM-DD HH:MM:SS" for
 * the host to compare with its own UTC date. */
#include "guest.h"
#include "io.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

static uint8_t cmos(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

/* A BCD byte, or -1 when a nibble is not a decimal digit. */
static int from_bcd(uint8_t v)
{
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0f);
}

struct clock {
	int sec, min, hour, day, month, year, century;
};

static void read_clock(struct clock *c)
{
	c->sec = from_bcd(cmos(0x00));
	c->min = from_bcd(cmos(0x02));
	c->hour = from_bcd(cmos(0x04));
	c->day = from_bcd(cmos(0x07));
	c->month = from_bcd(cmos(0x08));
	c->year = from_bcd(cmos(0x09));
	c->century = from_bcd(cmos(0x32));
}

int guest_main(void)
{
	struct clock a, b;

	TEST_ASSERT_MSG(!(cmos(0x0a) & 0x80), "update in progress flag set");
	TEST_ASSERT_MSG(cmos(0x0b) & 0x02, "status B: not 24-hour mode");
	TEST_ASSERT_MSG(!(cmos(0x0b) & 0x04), "status B: binary, not BCD");
	TEST_ASSERT_MSG(cmos(0x0d) & 0x80, "status D: clock not valid");
	do { /* Linux reads until two reads agree */
		read_clock(&a);
		read_clock(&b);
	} while (a.sec != b.sec);
	TEST_ASSERT_MSG(a.sec >= 0 && a.sec < 60 && a.min >= 0 && a.min < 60 && a.hour >= 0 &&
			    a.hour < 24,
			"bad time %d:%d:%d", a.hour, a.min, a.sec);
	TEST_ASSERT_MSG(a.day >= 1 && a.day <= 31 && a.month >= 1 && a.month <= 12,
			"bad date %d-%d", a.month, a.day);
	TEST_ASSERT_MSG(a.century >= 20 && a.year >= 0, "bad year %d%02d", a.century, a.year);
	printf("rtc: %d%02d-%02d-%02d %02d:%02d:%02d\n", a.century, a.year, a.month, a.day, a.hour,
	       a.min, a.sec);
	return 0;
}
