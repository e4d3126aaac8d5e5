/* Input scripts: host events written down in a file (see virtio_input_load_script() in
 * virtio/input/input.h). Used by tests to inject key presses and pointer moves without a window. */
#include <errno.h>
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "virtio/input/input.h"

#define MAX_WORDS 4

/* Splits `line` into at most MAX_WORDS words (comments dropped); returns the count, or -1 when
 * there are more. */
static int split(char *line, char **w)
{
	char *save = NULL, *tok;
	int n = 0;

	line[strcspn(line, "#\n")] = '\0';
	for (tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
		if (n == MAX_WORDS)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static bool number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* One command of words w[0..n): queues its group. Returns 0, -EINVAL or -ENOSPC. */
static int run(char **w, int n, struct input_queue *kbd, struct input_queue *tablet)
{
	long a, b;

	if (n == 3 && !strcmp(w[0], "key") && kbd && number(w[1], 1, KEY_MAX, &a) &&
	    number(w[2], 0, 2, &b))
		return input_queue_push_syn(kbd, EV_KEY, (uint16_t)a, (int32_t)b);
	if (n == 3 && !strcmp(w[0], "btn") && tablet && number(w[1], 1, KEY_MAX, &a) &&
	    number(w[2], 0, 1, &b))
		return input_queue_push_syn(tablet, EV_KEY, (uint16_t)a, (int32_t)b);
	if (n == 2 && !strcmp(w[0], "wheel") && tablet && number(w[1], -120, 120, &a))
		return input_queue_push_syn(tablet, EV_REL, REL_WHEEL, (int32_t)a);
	if (n == 3 && !strcmp(w[0], "abs") && tablet && number(w[1], 0, INPUT_ABS_MAX, &a) &&
	    number(w[2], 0, INPUT_ABS_MAX, &b)) {
		struct virtio_input_event ev[3] = {
		    {EV_ABS, ABS_X, (uint32_t)a},
		    {EV_ABS, ABS_Y, (uint32_t)b},
		    {EV_SYN, SYN_REPORT, 0},
		};
		return input_queue_push(tablet, ev, 3);
	}
	return -EINVAL;
}

int virtio_input_load_script(const char *path, struct input_queue *keyboard,
			     struct input_queue *tablet)
{
	char line[256], *w[MAX_WORDS];
	unsigned lineno = 0;
	int err = 0;
	char why[512];
	/* host_path_open(): a regular file, never a FIFO (no wait for a writer) or /proc */
	int fd = host_path_open(path, O_RDONLY, 0, HOST_PATH_REGULAR, why, sizeof(why));
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (!f) {
		err = fd < 0 ? fd : -errno;
		if (fd >= 0) {
			snprintf(why, sizeof(why), "%s: %s", path, strerror(-err));
			close(fd);
		}
		log_error("input script %s", why);
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		int n = split(line, w);

		lineno++;
		if (n == 0)
			continue;
		err = n < 0 ? -EINVAL : run(w, n, keyboard, tablet);
		if (err)
			log_error("input script %s:%u: %s", path, lineno,
				  err == -ENOSPC ? "too many events"
						 : "expected 'key CODE 0|1|2', 'btn CODE 0|1', "
						   "'abs X Y' or 'wheel N'");
	}
	fclose(f);
	return err;
}
