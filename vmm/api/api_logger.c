/* PUT /logger. See api_logger.h. */
#include "vmm/api/api_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "host/sandbox/opener.h"
#include "vmm/descriptors/api_json.h"

/* Firecracker's level names, case-insensitive; false for anything else. */
static bool parse_level(const char *s, struct log_config *c)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {{"Error", LOG_ERROR}, {"Warning", LOG_WARN}, {"Info", LOG_INFO},
		     {"Debug", LOG_DEBUG}, {"Trace", LOG_DEBUG},  {"Off", LOG_ERROR}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			c->level = names[i].level;
			c->off = !strcasecmp(s, "Off");
			return true;
		}
	}
	return false;
}

int api_logger_check(const json_t *body, struct log_config *out, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"log_path", API_JSON_STRING, false}, {"level", API_JSON_STRING, false},
	    {"show_level", API_JSON_BOOL, false}, {"show_log_origin", API_JSON_BOOL, false},
	    {"module", API_JSON_STRING, false},	  {NULL, 0, false}};
	struct log_config c = {.fd = -1};
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	if (!parse_level(api_json_str(body, "level", "Info"), &c)) {
		snprintf(err, errlen, "level must be Error, Warning, Info, Debug, Trace or Off");
		return -EINVAL;
	}
	const char *module = api_json_str(body, "module", "");
	if (strlen(module) >= sizeof(c.module)) {
		snprintf(err, errlen, "module must be shorter than %zu bytes", sizeof(c.module));
		return -EINVAL;
	}
	const char *path = api_json_str(body, "log_path", NULL);
	if (path && !path[0]) {
		snprintf(err, errlen, "log_path is empty");
		return -EINVAL;
	}
	snprintf(c.module, sizeof(c.module), "%s", module);
	c.show_level = api_json_bool(body, "show_level", false);
	c.show_origin = api_json_bool(body, "show_log_origin", false);
	if (out)
		*out = c;
	return 0;
}

/* The log file, created when missing (Firecracker opens it with create). Opened write-only
 * through host_path_open() (docs/security.md, "Paths from outside"): a regular file, or a FIFO
 * that has a reader, which stays non-blocking so a stalled reader costs a line, never a stuck
 * thread; never a device or a file of /proc (/proc/self/mem). */
static int open_log(const char *path, char *err, size_t errlen)
{
	char why[HOST_PATH_ERR_MAX];
	/* on the opener (host/sandbox/opener.h): outside Landlock, where the user may write */
	int fd = sandbox_opener_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640,
				     HOST_PATH_REGULAR | HOST_PATH_FIFO, why, sizeof(why));
	if (fd < 0)
		snprintf(err, errlen, "log_path %s", why);
	return fd;
}

/* A second PUT reconfigures, as Firecracker's: what the body leaves out keeps its value (the
 * file, show_level, show_log_origin, module) but the level, which goes back to Info. */
static void keep_unset(const json_t *body, struct log_config *c)
{
	struct log_config cur;
	if (!log_get_config(&cur))
		return;
	if (c->fd < 0)
		c->fd = cur.fd;
	if (!json_object_get(body, "show_level"))
		c->show_level = cur.show_level;
	if (!json_object_get(body, "show_log_origin"))
		c->show_origin = cur.show_origin;
	if (!json_object_get(body, "module"))
		memcpy(c->module, cur.module, sizeof(c->module));
}

int api_logger_put(const json_t *body, char *err, size_t errlen)
{
	struct log_config c;
	int r = api_logger_check(body, &c, err, errlen);
	if (r)
		return r;
	const char *path = api_json_str(body, "log_path", NULL);
	if (path) {
		c.fd = open_log(path, err, errlen);
		if (c.fd < 0)
			return c.fd;
	}
	keep_unset(body, &c);
	return log_configure(&c);
}
