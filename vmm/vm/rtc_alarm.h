/* The host timer behind an emulated real-time clock's alarm (issue 67: the PL031's, attached by
 * vmm/vm/aarch64/vm_devices_arch.c). A clock device owns no thread (devices/pl031.h): it says
 * when its armed match is due and raises its interrupt when asked to check. While the VM runs,
 * one thread per clock ("rtc-alarm") sleeps until the due second, asks the device to check, and
 * starts over whenever the device says its match changed (rtc_alarm_kick(): the guest's RTCMR or
 * RTCLR write, a snapshot's restore). So the guest's alarm comes on time, not at its next access
 * to the clock.
 *
 * Time: next() counts whole seconds of the host's time(), the clock the device runs on (the VM
 * layer gives the PL031 time()): due when time() reaches, plus next(), what it said just before
 * the call. The thread waits on a condition variable until that second of CLOCK_REALTIME, plus
 * RTC_ALARM_SLACK_NS for time()'s coarse clock to have turned as well. A realtime deadline moves
 * with a host clock step as the device's counter does; a kick, or a second turned between the two
 * reads, only wakes it early to ask again. After a fire() it asks again a second later at the
 * soonest, so a device that stays due never makes it spin.
 *
 * Locking: `lock` is a leaf (base/lock_order.h): never held while next() or fire() run, which take
 * the device's lock; rtc_alarm_kick() takes it for a moment, from the device's armed callback
 * (with the device lock dropped). Seccomp: the thread's list is its own (rtc_alarm.c): futex from
 * the base list, and KVM_IRQ_LINE, which fire() makes to raise the clock's line. */
#ifndef VMM_VM_RTC_ALARM_H
#define VMM_VM_RTC_ALARM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Past the due second (on CLOCK_REALTIME) that the thread wakes: more than a tick, the most that
 * time()'s coarse clock lags behind. */
#define RTC_ALARM_SLACK_NS 20000000L

struct rtc_alarm {
	/* Seconds until the match is due (0: now), or -1 when none is armed. */
	int64_t (*next)(void *opaque);
	/* Checks the match now: raises the interrupt when due (and disarms it). */
	void (*fire)(void *opaque);
	void *opaque;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_REALTIME: `kicked` or `stop` set, or a deadline */
	bool kicked, stop, running;
	pthread_t thread;
};

/* Sets up the timer of the clock behind next(), fire() and `opaque`, not running. Returns 0 or
 * -errno. */
int rtc_alarm_init(struct rtc_alarm *a, int64_t (*next)(void *opaque), void (*fire)(void *opaque),
		   void *opaque);

/* Starts the thread: once the VM exists and no more user switch can come (it confines itself at
 * once, sandbox.h). One that cannot confine itself ends (logged): alarms then come at the guest's
 * next access to the clock. Returns 0 or -errno (logged). */
int rtc_alarm_start(struct rtc_alarm *a);

/* The match may have changed: the thread asks next() again. Any thread, running or not; the
 * device's armed callback (void * for that: a struct rtc_alarm). */
void rtc_alarm_kick(void *alarm);

/* Stops and joins the thread (at once: it waits for nothing else). Safe when never started or
 * already stopped. */
void rtc_alarm_stop(struct rtc_alarm *a);

/* Stops the thread and frees what init set up. Nothing may kick it afterwards. */
void rtc_alarm_destroy(struct rtc_alarm *a);

#endif
