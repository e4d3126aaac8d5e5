/* The host timer of a clock's alarm (vmm/vm/rtc_alarm.h): a real PL031 on the host's clock whose
 * match comes on time with no register access, and fake clocks for the kick, a stop at any
 * moment and a device that stays due. ~1.5 s: one real second to wait, one fake third. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "base/io_bus.h"
#include "devices/pl031.h"
#include "vmm/vm/rtc_alarm.h"

#define BASE 0x9010000ULL

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a PL031 on time(), as vm_devices_arch.c attaches it ---- */

static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t irq_cond = PTHREAD_COND_INITIALIZER;
static int irq_level;
static time_t irq_time; /* time() when the line rose */

static void rec_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque, (void)gsi;
	pthread_mutex_lock(&irq_lock);
	irq_level = level;
	irq_time = time(NULL);
	pthread_cond_broadcast(&irq_cond);
	pthread_mutex_unlock(&irq_lock);
}

static time_t host_time(void *opaque)
{
	(void)opaque;
	return time(NULL);
}

static int64_t rtc_next(void *rtc)
{
	return pl031_next_match(rtc);
}

static void rtc_fire(void *rtc)
{
	pl031_poll(rtc);
}

static void wr(struct io_bus *bus, uint64_t reg, uint32_t v)
{
	cr_assert_eq(io_bus_write(bus, BASE + reg, &v, 4), 1);
}

/* Until the line is up or `ms` passed; returns the level. */
static int wait_irq(unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	struct timespec ts;

	pthread_mutex_lock(&irq_lock);
	while (!irq_level && mono_ms() < end) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&irq_cond, &irq_lock, &ts);
	}
	int level = irq_level;
	pthread_mutex_unlock(&irq_lock);
	return level;
}

/* Linux's rtc-pl031 sets an alarm: RTCMR, then RTCIMSC. A far one first (the thread sleeps
 * until then), then one a second ahead: the write's kick wakes the thread, which fires it when
 * the counter gets there, without the guest reading the clock. */
Test(rtc_alarm, pl031_match_on_time_without_an_access)
{
	struct io_bus bus;
	struct pl031 rtc;
	struct rtc_alarm alarm;
	struct irq_line irq = {.set = rec_irq, .gsi = 1};
	uint32_t now = 0;

	io_bus_init(&bus, "mmio");
	cr_assert_eq(pl031_attach(&rtc, &bus, BASE, irq, host_time, NULL), 0);
	cr_assert_eq(rtc_alarm_init(&alarm, rtc_next, rtc_fire, &rtc), 0);
	pl031_set_armed_cb(&rtc, rtc_alarm_kick, &alarm);
	cr_assert_eq(rtc_alarm_start(&alarm), 0);
	cr_assert_eq(io_bus_read(&bus, BASE + PL031_DR, &now, 4), 1);
	wr(&bus, PL031_MR, now + 3600);
	wr(&bus, PL031_IMSC, 1);
	cr_assert_eq(wait_irq(100), 0, "an hour ahead: not yet");
	wr(&bus, PL031_MR, now + 1);
	cr_assert_eq(wait_irq(2500), 1, "the match a second ahead did not fire");
	cr_assert_geq((uint32_t)irq_time, now + 1, "fired before the counter reached RTCMR");
	cr_assert_eq(pl031_next_match(&rtc), -1);
	rtc_alarm_stop(&alarm);
	pl031_detach(&rtc, &bus);
	rtc_alarm_destroy(&alarm);
	io_bus_destroy(&bus);
}

/* ---- a fake clock: what next() says, what fire() got ---- */

static atomic_int fake_due; /* next()'s answer */
static atomic_int nexts, fires;

static int64_t fake_next(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&nexts, 1);
	return atomic_load(&fake_due);
}

static void fake_fire(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&fires, 1);
}

static struct rtc_alarm fake;

static void fake_setup(void)
{
	atomic_store(&fake_due, -1);
	atomic_store(&nexts, 0);
	atomic_store(&fires, 0);
	cr_assert_eq(rtc_alarm_init(&fake, fake_next, fake_fire, NULL), 0);
}

static void fake_teardown(void)
{
	rtc_alarm_destroy(&fake);
}

/* Until `counter` reaches `n` or `ms` passed; true when it did. */
static bool wait_count(atomic_int *counter, int n, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	struct timespec pause = {0, 1000000};

	while (atomic_load(counter) < n && mono_ms() < end)
		nanosleep(&pause, NULL);
	return atomic_load(counter) >= n;
}

TestSuite(rtc_alarm_fake, .init = fake_setup, .fini = fake_teardown);

Test(rtc_alarm_fake, a_kick_makes_it_ask_again)
{
	cr_assert_eq(rtc_alarm_start(&fake), 0);
	cr_assert(wait_count(&nexts, 1, 1000), "the thread never asked");
	atomic_store(&fake_due, 0);
	rtc_alarm_kick(&fake);
	cr_assert(wait_count(&fires, 1, 1000), "a kicked thread with nothing armed slept on");
	cr_assert_geq(atomic_load(&nexts), 2);
}

Test(rtc_alarm_fake, stops_at_once_whatever_it_waits_for)
{
	rtc_alarm_stop(&fake); /* never started */
	atomic_store(&fake_due, 1000000000);
	cr_assert_eq(rtc_alarm_start(&fake), 0);
	cr_assert(wait_count(&nexts, 1, 1000));
	uint64_t t0 = mono_ms();
	rtc_alarm_stop(&fake);
	cr_assert_lt(mono_ms() - t0, 500, "a stop waited for the deadline");
	rtc_alarm_stop(&fake);
	atomic_store(&fake_due, -1);
	cr_assert_eq(rtc_alarm_start(&fake), 0, "started again");
	cr_assert(wait_count(&nexts, 2, 1000));
	rtc_alarm_stop(&fake);
	cr_assert_eq(atomic_load(&fires), 0);
}

/* fire() that leaves the match due: asked again a second later, not in a loop. */
Test(rtc_alarm_fake, a_device_that_stays_due_costs_a_wakeup_a_second)
{
	struct timespec third = {0, 300000000};

	atomic_store(&fake_due, 0);
	cr_assert_eq(rtc_alarm_start(&fake), 0);
	nanosleep(&third, NULL);
	rtc_alarm_stop(&fake);
	cr_assert_geq(atomic_load(&fires), 1);
	cr_assert_leq(atomic_load(&fires), 2, "%d fires in 0.3 s", atomic_load(&fires));
}
