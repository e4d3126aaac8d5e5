/* Leveled logging to stderr. */
#include "base/log.h"
#include "base/clock.h"
#include "base/utc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static int raw_terminal;

/* PUT /logger's configuration (log_configure()); `set` false: the plain stderr format. */
static struct {
	bool set;
	struct log_config c;
} cfg;
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;

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

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SS" (UTC), without gmtime_r() (base/utc.h). */
static void utc_time(time_t t, char *out, size_t len)
{
	struct utc_tm u;

	utc_from_epoch(t, &u);
	/* Every field in its printed range, so the compiler sees the 19 characters it can take. */
	unsigned year = (unsigned)(u.year < 0 ? 0 : u.year > 9999 ? 9999 : u.year);
	snprintf(out, len, "%04u-%02u-%02uT%02u:%02u:%02u", year, u.month % 13u, u.day % 32u,
		 u.hour % 24u, u.min % 60u, u.sec % 60u);
}

/* One line in the configured format, written with one write() so lines don't interleave. A
 * FIFO nobody drains drops the line rather than block the thread (as Firecracker's logger). */
static void emit_configured(enum log_level level, const char *file, int lineno, const char *msg,
			    const char *suffix)
{
	static const char *const upper[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	char out[1400], when[40], origin[96] = "";
	struct timespec ts;

	if (cfg.c.module[0] && (!file || !strstr(file, cfg.c.module)))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	utc_time(ts.tv_sec, when, sizeof(when));
	if (cfg.c.show_origin && file)
		snprintf(origin, sizeof(origin), ":%s:%d", file, lineno);
	/* No thread name (Firecracker gives one): asking for it is a syscall that confined
	 * threads may not make. */
	int n = snprintf(out, sizeof(out), "%s.%09ldZ [vmm%s%s%s] %s%s\n", when, ts.tv_nsec,
			 cfg.c.show_level ? ":" : "", cfg.c.show_level ? upper[level] : "", origin,
			 msg, suffix);
	if (n > (int)sizeof(out) - 1)
		n = (int)sizeof(out) - 1;
	if (write(cfg.c.fd >= 0 ? cfg.c.fd : STDERR_FILENO, out, (size_t)n) < 0)
		return; /* nowhere left to say so */
}

/* Formats one line and prints it with one fprintf, so concurrent threads don't interleave within
 * a line. `suffix` follows the message (the rate limiter's count of dropped lines, or ""). */
static void emit_at(enum log_level level, const char *file, int lineno, const char *prefix,
		    const char *suffix, const char *fmt, va_list ap)
{
	char line[1024], msg[1100];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	pthread_mutex_lock(&cfg_lock);
	if (cfg.set) {
		snprintf(msg, sizeof(msg), "%s%s", prefix, line);
		emit_configured(level, file, lineno, msg, suffix);
	} else {
		fprintf(stderr, "vmm: %s: %s%s%s%s", level_names[level], prefix, line, suffix,
			raw_terminal ? "\r\n" : "\n");
	}
	pthread_mutex_unlock(&cfg_lock);
}

static void emit(enum log_level level, const char *prefix, const char *suffix, const char *fmt,
		 va_list ap)
{
	emit_at(level, NULL, 0, prefix, suffix, fmt, ap);
}

int log_configure(const struct log_config *c)
{
	pthread_mutex_lock(&cfg_lock);
	int old = cfg.set && cfg.c.fd != c->fd ? cfg.c.fd : -1;
	cfg.c = *c;
	cfg.set = true;
	current_level = c->level;
	pthread_mutex_unlock(&cfg_lock);
	if (old >= 0) /* no line is being written to it: they are, under the lock */
		close(old);
	return 0;
}

bool log_get_config(struct log_config *out)
{
	pthread_mutex_lock(&cfg_lock);
	bool set = cfg.set;
	*out = cfg.c;
	pthread_mutex_unlock(&cfg_lock);
	return set;
}

/* Whether a line at `level` is printed at all. */
static bool wanted(enum log_level level)
{
	return level <= current_level && !(cfg.set && cfg.c.off);
}

/* The last error this thread logged (log_last_error()). */
static __thread char last_error[LOG_LAST_ERROR_MAX];

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = '\0';
}

static void log_vmsg_at(enum log_level level, const char *file, int lineno, const char *fmt,
			va_list ap)
{
	if (level == LOG_ERROR) {
		va_list copy;
		va_copy(copy, ap);
		vsnprintf(last_error, sizeof(last_error), fmt, copy);
		va_end(copy);
	}
	if (wanted(level))
		emit_at(level, file, lineno, "", "", fmt, ap);
}

void log_msg_at(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg_at(level, file, line, fmt, ap);
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

void log_guest_warn_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	unsigned dropped;
	char suffix[64] = "";
	if (!wanted(LOG_WARN) || !log_ratelimit_allow(rl, mono_ns(), &dropped))
		return;
	if (dropped)
		snprintf(suffix, sizeof(suffix), " (%u similar messages suppressed)", dropped);
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_WARN, "guest: ", suffix, fmt, ap);
	va_end(ap);
}
