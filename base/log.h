/* Logging to stderr with levels; the terminal may be in raw mode, so lines end in "\r\n" then.
 * Who logs what, and which exit status a failure gets: base/errors.h. */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Set by the terminal module while stdin/stdout is raw, so log lines still start at column 0. */
void log_set_raw_terminal(int raw);
/* The text of the last error logged by the calling thread ("" if none since the last clear):
 * lets a caller that reports elsewhere (the API's fault_message) say what failed. */
const char *log_last_error(void);
/* Its room: a message naming two host paths (PATH_MAX, 4096 bytes, each) with its sentences
 * fits whole (issue 46: it was cut at 255 bytes, mid-sentence, in the API's fault_message). */
#define LOG_LAST_ERROR_MAX (2 * 4096 + 512)
void log_clear_last_error(void);

/* A message with the line's origin (source file and line), which the macros below pass. */
void log_msg_at(enum log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Where and how lines go once configured (the API's PUT /logger, Firecracker's model): to `fd`
 * (taken; -1 keeps stderr), at most `level` (or nothing when `off`), each line
 * "TIMESTAMP [vmm(:LEVEL)(:FILE:LINE)] message", only lines whose source path contains
 * `module` when it is not empty. Configurable again (Firecracker's PUT /logger reconfigures):
 * the new configuration replaces the old, and a file replaced is closed. Returns 0. */
struct log_config {
	int fd;
	enum log_level level;
	bool off;
	bool show_level;
	bool show_origin;
	char module[64];
};
int log_configure(const struct log_config *c);
/* The configuration in effect into *out (its fd still the log's): false when none was set. */
bool log_get_config(struct log_config *out);

#define log_error(...) log_msg_at(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_msg_at(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_msg_at(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_DEBUG)                                                  \
			log_msg_at(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__);                    \
	} while (0)

/* ---- rate-limited warnings for what a guest can trigger at will ----
 *
 * A guest can repeat a complaint as fast as it can exit (loop on a refused feature set, resubmit
 * a broken chain): each call site of log_guest_warn() prints at most LOG_RATELIMIT_BURST lines
 * per LOG_RATELIMIT_INTERVAL_NS window (as Linux's printk_ratelimit(), and vringh's one
 * reporter), then counts what it dropped and says how many when the next window prints. */
#define LOG_RATELIMIT_BURST	  10
#define LOG_RATELIMIT_INTERVAL_NS (5ULL * 1000000000ULL)

struct log_ratelimit {
	pthread_mutex_t lock;
	bool started; /* a window is open */
	uint64_t window_start_ns;
	unsigned printed;    /* lines printed in this window */
	unsigned suppressed; /* lines dropped since the last printed one */
};

#define LOG_RATELIMIT_INIT                                                                         \
	{                                                                                          \
		.lock = PTHREAD_MUTEX_INITIALIZER                                                  \
	}

/* A LOG_WARN line through `rl` (prefixed "guest: "). Any thread. */
void log_guest_warn_rl(struct log_ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A rate-limited warning with its own limiter per call site. */
#define log_guest_warn(...)                                                                        \
	do {                                                                                       \
		static struct log_ratelimit log_rl_ = LOG_RATELIMIT_INIT;                          \
		log_guest_warn_rl(&log_rl_, __VA_ARGS__);                                          \
	} while (0)

#endif
