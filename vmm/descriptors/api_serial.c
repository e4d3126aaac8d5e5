/* PUT /serial and the config file's "serial": Firecracker's SerialConfig {"serial_out_path"?,
 * "rate_limiter"?}, the API side of --console (vmm/descriptors/dev_console.h). serial_out_path
 * sends the serial console's output to that file (--console file:PATH: created when missing,
 * appended to, never a FIFO or a device); without it the console is on stdio, as Firecracker's
 * is on its stdout. rate_limiter cannot be honoured (the console's output is not rate limited
 * here) and is refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/device_table.h"

static int api_check_serial(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			    json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"serial_out_path", API_JSON_STRING, false},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	(void)id, (void)ctx;
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	if (json_object_get(body, "rate_limiter")) {
		snprintf(err, errlen,
			 "rate_limiter cannot be honoured: the serial console's output is not rate "
			 "limited here");
		return -EINVAL;
	}
	const char *path = api_json_str(body, "serial_out_path", NULL);
	if (path && !path[0]) {
		snprintf(err, errlen, "serial_out_path is empty");
		return -EINVAL;
	}
	*doc = path ? json_pack("{s:s}", "serial_out_path", path) : json_object();
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int api_serial_option(const json_t *doc, char *arg, size_t len)
{
	const char *path = api_json_str(doc, "serial_out_path", NULL);
	int n = path ? snprintf(arg, len, "file:%s", path) : snprintf(arg, len, "stdio");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A console into a file is a serial_out_path; the others have no SerialConfig to show. */
static json_t *describe_serial(const struct vm_config *cfg)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	return c.mode == CONSOLE_MODE_FILE && c.path && !c.virtio
		   ? json_pack("{s:s}", "serial_out_path", c.path)
		   : NULL;
}

const struct device_api dev_console_api = {.section = "serial",
					   .route = "/serial",
					   .check = api_check_serial,
					   .to_option = api_serial_option,
					   .describe = describe_serial};
