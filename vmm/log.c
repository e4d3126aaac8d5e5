/* Leveled logging to stderr. */
#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > current_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	/* One fprintf per line so concurrent threads don't interleave within a line. */
	fprintf(stderr, "vmm: %s: %s%s", names[level], line, raw_terminal ? "\r\n" : "\n");
}
