/* The host timer behind an emulated clock's alarm (see rtc_alarm.h). */
#include "vmm/vm/rtc_alarm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "base/log.h"
#include "host/sandbox/sandbox.h"

/* The thread's calls beyond the base list (waiting on its condition variable: futex; the time:
 * the vDSO or clock_gettime): fire() raises the clock's interrupt line (vm_irq_line_set()). */
static const struct sandbox_rule alarm_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE),
};
static const struct sandbox_list alarm_sandbox = SANDBOX_LIST("rtc-alarm", alarm_rules);

int rtc_alarm_init(struct rtc_alarm *a, int64_t (*next)(void *opaque), void (*fire)(void *opaque),
		   void *opaque)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->next = next;
	a->fire = fire;
	a->opaque = opaque;
	err = pthread_mutex_init(&a->lock, NULL);
	if (err)
		return -err;
	err = pthread_cond_init(&a->cond, NULL); /* CLOCK_REALTIME, the clock's own */
	if (err)
		pthread_mutex_destroy(&a->lock);
	return -err;
}

/* Asks the device once and fires a due match. Returns the seconds to wait, counted from the
 * host's second just before the question; -1: until kicked. */
static int64_t check(struct rtc_alarm *a)
{
	int64_t secs = a->next(a->opaque);

	if (secs != 0)
		return secs;
	a->fire(a->opaque);
	return 1; /* fired (a match fires once): ask again next second, never in a loop */
}

/* Waits, `lock` held, for a kick, a stop or second `now` + `secs` (secs -1: no deadline). */
static void wait_locked(struct rtc_alarm *a, time_t now, int64_t secs)
{
	struct timespec until = {.tv_sec = now + secs, .tv_nsec = RTC_ALARM_SLACK_NS};

	if (a->kicked || a->stop)
		return;
	if (secs < 0)
		pthread_cond_wait(&a->cond, &a->lock);
	else
		pthread_cond_timedwait(&a->cond, &a->lock, &until);
}

static void *alarm_thread(void *arg)
{
	struct rtc_alarm *a = arg;
	const struct sandbox_list *lists[] = {&alarm_sandbox};

	pthread_setname_np(pthread_self(), "rtc-alarm");
	if (sandbox_enter("rtc-alarm", lists, 1)) /* logged */
		return NULL;
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		a->kicked = false;
		pthread_mutex_unlock(&a->lock);
		time_t now =
		    time(NULL); /* before next(): a second turned between is early, not late */
		int64_t secs = check(a);
		pthread_mutex_lock(&a->lock);
		wait_locked(a, now, secs);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int rtc_alarm_start(struct rtc_alarm *a)
{
	int err;

	a->stop = false;
	err = pthread_create(&a->thread, NULL, alarm_thread, a);
	if (err) {
		log_error("rtc alarm: cannot start its thread: %s", strerror(err));
		return -err;
	}
	a->running = true;
	return 0;
}

void rtc_alarm_kick(void *alarm)
{
	struct rtc_alarm *a = alarm;

	pthread_mutex_lock(&a->lock);
	a->kicked = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void rtc_alarm_stop(struct rtc_alarm *a)
{
	if (!a->running)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->running = false;
}

void rtc_alarm_destroy(struct rtc_alarm *a)
{
	rtc_alarm_stop(a);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
}
