/* Leveled logging to stderr. */
#include "vmm/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static int raw_terminal;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_set_raw_terminal(int raw)
{
	raw_terminal = raw;
}

/* Formats one line and prints it with one fprintf, so concurrent threads don't interleave within
 * a line. `suffix` follows the message (the rate limiter's count of dropped lines, or ""). */
static void emit(enum log_level level, const char *prefix, const char *suffix, const char *fmt,
		 va_list ap)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "vmm: %s: %s%s%s%s", names[level], prefix, line, suffix,
		raw_terminal ? "\r\n" : "\n");
}

/* The last error this thread logged (log_last_error()). */
static __thread char last_error[256];

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level == LOG_ERROR) {
		va_list copy;
		va_start(copy, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, copy);
		va_end(copy);
	}
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(level, "", "", fmt, ap);
	va_end(ap);
}

bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ns, unsigned *dropped)
{
	bool ok;
	pthread_mutex_lock(&rl->lock);
	*dropped = 0;
	if (!rl->started || now_ns - rl->window_start_ns >= LOG_RATELIMIT_INTERVAL_NS) {
		rl->started = true;
		rl->window_start_ns = now_ns;
		rl->printed = 0;
	}
	ok = rl->printed < LOG_RATELIMIT_BURST;
	if (ok) {
		rl->printed++;
		*dropped = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void log_guest_warn_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	unsigned dropped;
	char suffix[64] = "";
	if (LOG_WARN > current_level || !log_ratelimit_allow(rl, monotonic_ns(), &dropped))
		return;
	if (dropped)
		snprintf(suffix, sizeof(suffix), " (%u similar messages suppressed)", dropped);
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_WARN, "guest: ", suffix, fmt, ap);
	va_end(ap);
}
