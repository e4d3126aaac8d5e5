/* PUT /serial and the config file's "serial": Firecracker 1.17's SerialConfig
 * {"serial_out_path"?, "rate_limiter"?}, the API side of --console (vmm/descriptors/dev_console.h).
 * serial_out_path sends the serial console's output to that file or named pipe (--console
 * file:PATH: a file is created when missing; a FIFO needs no reader, and what it has no room
 * for is dropped); without it the console is on stdio, as Firecracker's is on its stdout.
 * rate_limiter is one TokenBucket {size, one_time_burst?, refill_time} over the guest's serial
 * output bytes (Firecracker has no ops bucket here): --console ...,bw=SIZE:REFILL_MS:BURST. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_table.h"

/* The document of a console: {"serial_out_path"?, "rate_limiter"?}; NULL when out of memory. */
static json_t *serial_doc(const char *path, const struct rl_bucket_cfg *rate)
{
	json_t *doc = json_object();
	json_t *rl = api_token_bucket_json(rate);
	bool ok = doc && (!rate->size || rl);
	ok = ok && (!path || !json_object_set_new(doc, "serial_out_path", json_string(path)));
	ok = ok && (!rl || !json_object_set(doc, "rate_limiter", rl));
	json_decref(rl);
	if (ok)
		return doc;
	json_decref(doc);
	return NULL;
}

static int api_check_serial(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			    json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"serial_out_path", API_JSON_STRING, false},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	struct rl_bucket_cfg rate;
	(void)id, (void)ctx;
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	int r = api_token_bucket_parse(json_object_get(body, "rate_limiter"), "rate_limiter", &rate,
				       err, errlen);
	if (r)
		return r;
	const char *path = api_json_str(body, "serial_out_path", NULL);
	if (path && !path[0]) {
		snprintf(err, errlen, "serial_out_path is empty");
		return -EINVAL;
	}
	*doc = serial_doc(path, &rate);
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int api_serial_items(const json_t *doc, struct opt_items *out,
			    const struct device_desc **owner)
{
	const char *path = api_json_str(doc, "serial_out_path", NULL);
	const char *kind = device_console.record_head; /* the option's first element */
	struct rl_bucket_cfg rate;
	(void)owner;
	if (api_token_bucket_parse(json_object_get(doc, "rate_limiter"), "rate_limiter", &rate,
				   NULL, 0)) /* a document api_check_serial() made */
		rate = (struct rl_bucket_cfg){0};
	int r =
	    path ? opt_items_addf(out, kind, "file:%s", path) : opt_items_add(out, kind, "stdio");
	return r ? r : rl_bucket_to_item(&rate, "bw", out);
}

/* COM1 into a file or FIFO, or on stdio with a limit, is a SerialConfig; the others have none
 * to show (hvc0, none, plain stdio: Firecracker's default). */
static json_t *describe_serial(const struct vm_config *cfg)
{
	struct dev_console_cfg c = dev_console_config(cfg);
	if (c.virtio || c.mode == CONSOLE_MODE_NONE ||
	    (c.mode == CONSOLE_MODE_STDIO && !c.rate.size) ||
	    (c.mode == CONSOLE_MODE_FILE && !c.path))
		return NULL;
	return serial_doc(c.mode == CONSOLE_MODE_FILE ? c.path : NULL, &c.rate);
}

/* A PUT /serial checks its file, as Firecracker opens it at PUT. */
static bool serial_checked_at_put(const json_t *doc)
{
	return !json_object_get(doc, "socket");
}

static const struct device_api_ext serial_ext = {.checked_at_put = serial_checked_at_put};

const struct device_api dev_console_api = {.section = "serial",
					   .route = "/serial",
					   .check = api_check_serial,
					   .to_items = api_serial_items,
					   .describe = describe_serial,
					   .ext = &serial_ext};
