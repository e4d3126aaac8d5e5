/* A working-set recording's two stops, first one wins (working_set_stop.h). */
#include "vmm/snapshot/working_set_stop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define BY_REQUEST "request"
#define BY_TIME	   "time_limit"

void ws_stopper_init(struct ws_stopper *s)
{
	pthread_condattr_t a;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC); /* a wall-clock jump moves no limit */
	pthread_cond_init(&s->cond, &a);
	pthread_condattr_destroy(&a);
}

/* The stop itself, once: lock held, s->armed. */
static int stop_locked(struct ws_stopper *s, const char *by, json_t **doc, char *err, size_t errlen)
{
	json_t *d = NULL;
	int r = s->stop(s->ctx, &d, s->done_err, sizeof(s->done_err));

	s->armed = false;
	s->by = by;
	if (r) {
		json_decref(d);
		snprintf(err, errlen, "%s", s->done_err);
		return r;
	}
	json_object_set_new(d, "stopped_by", json_string(by));
	s->done = d;
	if (doc)
		*doc = json_incref(d);
	return 0;
}

static void *limit_thread(void *arg)
{
	struct ws_stopper *s = arg;
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += (time_t)(s->limit_ms / 1000);
	t.tv_nsec += (long)(s->limit_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->cancel && s->armed &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &t) != ETIMEDOUT)
		;
	if (!s->cancel && s->armed) {
		char err[WS_STOP_MSG_MAX];
		if (stop_locked(s, BY_TIME, NULL, err, sizeof(err)))
			log_error("working set: the time limit's stop failed: %s", err);
		else
			log_info("working set: recording stopped by its time limit (%llu ms)",
				 (unsigned long long)s->limit_ms);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int ws_stopper_arm(struct ws_stopper *s, uint64_t limit_ms, ws_stop_fn stop, void *ctx)
{
	int r = 0;

	if (limit_ms > WS_RECORD_MS_MAX)
		return -EINVAL;
	ws_stopper_end(s); /* a previous recording's limit, if any */
	pthread_mutex_lock(&s->lock);
	s->done_err[0] = '\0';
	s->stop = stop;
	s->ctx = ctx;
	s->limit_ms = limit_ms;
	s->cancel = false;
	s->armed = true;
	if (limit_ms) {
		r = -pthread_create(&s->thread, NULL, limit_thread, s);
		s->thread_on = !r;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Who stopped the recording and what it wrote, for the stop that came second. */
static void already(const struct ws_stopper *s, char *err, size_t errlen)
{
	char who[64];

	if (!strcmp(s->by, BY_TIME))
		snprintf(who, sizeof(who), "its time limit (%llu ms)",
			 (unsigned long long)s->limit_ms);
	else
		snprintf(who, sizeof(who), "an earlier request");
	if (s->done)
		snprintf(err, errlen,
			 "the recording was already stopped by %s: %s holds %lld pages", who,
			 json_string_value(json_object_get(s->done, "path")),
			 (long long)json_integer_value(json_object_get(s->done, "pages")));
	else
		snprintf(err, errlen, "the recording was already stopped by %s, which failed: %s",
			 who, s->done_err);
}

int ws_stopper_request(struct ws_stopper *s, json_t **doc, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->armed) {
		r = stop_locked(s, BY_REQUEST, doc, err, errlen);
		pthread_cond_broadcast(&s->cond); /* the limit's thread has nothing left to do */
	} else if (s->by) {
		already(s, err, errlen);
		r = -EALREADY;
	} else {
		snprintf(
		    err, errlen,
		    "no working set is being recorded (load with \"working_set\": \"record\")");
		r = -ENOENT;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void ws_stopper_end(struct ws_stopper *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancel = true;
	pthread_cond_broadcast(&s->cond);
	bool join = s->thread_on;
	s->thread_on = false;
	pthread_mutex_unlock(&s->lock);
	if (join)
		pthread_join(s->thread, NULL);
	pthread_mutex_lock(&s->lock);
	s->armed = false;
	s->by = NULL;
	json_decref(s->done);
	s->done = NULL;
	pthread_mutex_unlock(&s->lock);
}
