/* RTC/CMOS stub. Register map: Motorola MC146818A data sheet (time at 0-9, status A-D at
 * 0x0a-0x0d) plus the IBM PC/AT CMOS conventions (century at 0x32). */
#include "devices/x86/rtc_cmos.h"

#include <errno.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "base/utc.h"

#define REG_SECONDS	 0x00
#define REG_MINUTES	 0x02
#define REG_HOURS	 0x04
#define REG_DAY_OF_WEEK	 0x06
#define REG_DAY_OF_MONTH 0x07
#define REG_MONTH	 0x08
#define REG_YEAR	 0x09
#define REG_STATUS_A	 0x0a
#define REG_STATUS_B	 0x0b
#define REG_STATUS_C	 0x0c
#define REG_STATUS_D	 0x0d
#define REG_CENTURY	 0x32

#define STATUS_A_DIVIDER 0x26 /* 32.768 kHz time base, 1024 Hz rate; UIP (bit 7) clear */
#define STATUS_B_24H	 0x02 /* 24-hour mode; DM (bit 2) clear = BCD */
#define STATUS_D_VRT	 0x80 /* valid RAM and time: the battery is fine */

#define INDEX_MASK  0x7f
#define NMI_DISABLE 0x80

static uint8_t bcd(unsigned v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static time_t host_now(const struct rtc_cmos *r)
{
	struct timespec ts;

	if (r->now)
		return r->now(r->now_opaque);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* The clock and status registers; -1 for a plain RAM byte. */
static int clock_reg(const struct rtc_cmos *r, uint8_t index)
{
	struct utc_tm tm;

	if (index > REG_STATUS_D && index != REG_CENTURY)
		return -1;
	switch (index) {
	case REG_STATUS_A:
		return STATUS_A_DIVIDER;
	case REG_STATUS_B:
		return STATUS_B_24H;
	case REG_STATUS_C:
		return 0; /* no interrupt flags ever */
	case REG_STATUS_D:
		return STATUS_D_VRT;
	}
	/* Not gmtime_r(): its first call loads the time zone from /etc/localtime, an open() the
	 * vCPU thread's filter forbids (base/utc.h). */
	utc_from_epoch(host_now(r), &tm);
	switch (index) {
	case REG_SECONDS:
		return bcd(tm.sec);
	case REG_MINUTES:
		return bcd(tm.min);
	case REG_HOURS:
		return bcd(tm.hour);
	case REG_DAY_OF_WEEK:
		return bcd(tm.wday + 1); /* 1 = Sunday */
	case REG_DAY_OF_MONTH:
		return bcd(tm.day);
	case REG_MONTH:
		return bcd(tm.month);
	case REG_YEAR:
		return bcd((unsigned)(tm.year % 100));
	case REG_CENTURY:
		return bcd((unsigned)(tm.year / 100 % 100));
	default:
		return 0; /* alarm registers 1, 3, 5: no alarm */
	}
}

uint8_t rtc_cmos_read(struct rtc_cmos *r, unsigned port_offset)
{
	uint8_t val = 0xff; /* the index port is write-only */
	int reg;

	if (port_offset != 1)
		return val;
	pthread_mutex_lock(&r->lock);
	reg = clock_reg(r, r->index);
	val = reg >= 0 ? (uint8_t)reg : r->ram[r->index];
	pthread_mutex_unlock(&r->lock);
	return val;
}

void rtc_cmos_write(struct rtc_cmos *r, unsigned port_offset, uint8_t val)
{
	pthread_mutex_lock(&r->lock);
	if (port_offset == 0) {
		r->index = val & INDEX_MASK;
		r->nmi_disabled = val & NMI_DISABLE;
	} else if (port_offset == 1) {
		if (clock_reg(r, r->index) < 0)
			r->ram[r->index] = val;
		else
			log_debug("rtc: ignored write 0x%02x to register 0x%02x", val, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_cmos_set_ram(struct rtc_cmos *r, uint8_t index, uint8_t val)
{
	if (index >= RTC_CMOS_SIZE || clock_reg(r, index) >= 0)
		return;
	pthread_mutex_lock(&r->lock);
	r->ram[index] = val;
	pthread_mutex_unlock(&r->lock);
}

static uint64_t at_most(uint64_t v, uint64_t max)
{
	return v < max ? v : max;
}

void rtc_cmos_set_memory(struct rtc_cmos *r, uint64_t below_4g, uint64_t above_4g)
{
	uint64_t ext_kib = below_4g > MIB(1) ? at_most((below_4g - MIB(1)) >> 10, 0xffff) : 0;
	uint64_t above16 = below_4g > MIB(16) ? at_most((below_4g - MIB(16)) >> 16, 0xffff) : 0;
	uint64_t high = at_most(above_4g >> 16, 0xffffff);
	const uint8_t regs[][2] = {
	    {0x15, 640 & 0xff},
	    {0x16, 640 >> 8},
	    {0x17, (uint8_t)ext_kib},
	    {0x18, (uint8_t)(ext_kib >> 8)},
	    {0x30, (uint8_t)ext_kib},
	    {0x31, (uint8_t)(ext_kib >> 8)},
	    {0x34, (uint8_t)above16},
	    {0x35, (uint8_t)(above16 >> 8)},
	    {0x5b, (uint8_t)high},
	    {0x5c, (uint8_t)(high >> 8)},
	    {0x5d, (uint8_t)(high >> 16)},
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		rtc_cmos_set_ram(r, regs[i][0], regs[i][1]);
}

void rtc_cmos_save(struct rtc_cmos *r, struct rtc_cmos_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&r->lock);
	memcpy(s->ram, r->ram, sizeof(s->ram));
	s->index = r->index;
	s->nmi_disabled = r->nmi_disabled;
	pthread_mutex_unlock(&r->lock);
}

int rtc_cmos_restore(struct rtc_cmos *r, const struct rtc_cmos_state *s)
{
	if (s->index > INDEX_MASK || s->nmi_disabled > 1 || s->reserved[0] || s->reserved[1])
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	memcpy(r->ram, s->ram, sizeof(r->ram));
	r->index = s->index;
	r->nmi_disabled = s->nmi_disabled;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	uint8_t *out = data;

	for (uint32_t i = 0; i < len; i++)
		out[i] = rtc_cmos_read(opaque, (unsigned)(offset + i));
}

static void pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	const uint8_t *in = data;

	for (uint32_t i = 0; i < len; i++)
		rtc_cmos_write(opaque, (unsigned)(offset + i), in[i]);
}

static const struct io_ops rtc_cmos_ops = {.read = pio_read, .write = pio_write};

int rtc_cmos_init(struct rtc_cmos *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	err = pthread_mutex_init(&r->lock, NULL);
	return -err;
}

int rtc_cmos_attach(struct rtc_cmos *r, struct io_bus *pio)
{
	int err = rtc_cmos_init(r);

	if (err)
		return err;
	err = io_bus_register(pio, PORT_RTC, 2, &rtc_cmos_ops, r, "rtc-cmos");
	if (err) {
		log_error("rtc: cannot claim ports 0x%x-0x%x: %s", PORT_RTC, PORT_RTC + 1,
			  strerror(-err));
		pthread_mutex_destroy(&r->lock);
	}
	return err;
}

void rtc_cmos_detach(struct rtc_cmos *r, struct io_bus *pio)
{
	if (pio)
		io_bus_unregister(pio, PORT_RTC);
	pthread_mutex_destroy(&r->lock);
}
