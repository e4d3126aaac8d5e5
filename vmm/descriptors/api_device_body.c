/* The body rules drives and network interfaces share. See api_device_body.h. */
#include "vmm/descriptors/api_device_body.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "virtio/vhost_user/vu_opts.h"
#include "vmm/descriptors/api_json.h"

bool api_body_has(const json_t *body, const char *name)
{
	const json_t *v = json_object_get(body, name);
	return v && !json_is_null(v);
}

int api_body_check_named(const json_t *body, const char *id, const char *id_field,
			 const struct api_json_field *fields, char *err, size_t errlen)
{
	const char *path_id = id ? id : "";
	int r = api_json_check_id(path_id, err, errlen);
	if (!r)
		r = api_json_check(body, fields, err, errlen);
	if (!r && strcmp(api_json_str(body, id_field, ""), path_id)) {
		snprintf(err, errlen, "The id from the path does not match the id from the body!");
		r = -EINVAL;
	}
	return r;
}

int api_body_check_backend(const json_t *body, const char *local, const char *what, char *err,
			   size_t errlen)
{
	bool vu = api_body_has(body, "socket");
	if (api_body_has(body, local) == vu) {
		snprintf(err, errlen,
			 "give exactly one of %s (%s) and socket (a vhost-user back-end)", local,
			 what);
		return -EINVAL;
	}
	if (api_body_has(body, "vhost_user") && api_json_bool(body, "vhost_user", false) != vu) {
		snprintf(err, errlen, "vhost_user %s",
			 vu ? "false contradicts socket"
			    : "true needs socket instead of a local back-end");
		return -EINVAL;
	}
	return 0;
}

int api_body_check_socket(const json_t *body, char *err, size_t errlen)
{
	const char *s = api_json_str(body, "socket", "");
	if (!s[0] || strlen(s) >= API_SOCKET_MAX) {
		snprintf(err, errlen,
			 "socket must name the vhost-user back-end's Unix socket: 1 to %d bytes",
			 API_SOCKET_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

int api_body_refuse_fields(const json_t *body, const char *const (*refused)[2], size_t n, char *err,
			   size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (api_body_has(body, refused[i][0])) {
			snprintf(err, errlen, "%s cannot be honoured with socket: %s",
				 refused[i][0], refused[i][1]);
			return -EINVAL;
		}
	}
	return 0;
}

int api_body_refuse_queues(const json_t *body, const char *local, char *err, size_t errlen)
{
	if (api_body_has(body, "num_queues") || api_body_has(body, "queue_size")) {
		snprintf(
		    err, errlen,
		    "num_queues and queue_size are for a vhost-user device (socket), not with %s",
		    local);
		return -EINVAL;
	}
	return 0;
}

int64_t api_body_queues(const json_t *body, const char *name)
{
	return api_body_has(body, name) ? (int64_t)api_json_uint(body, name, 0) : -1;
}

void api_body_queues_json(json_t *doc, int64_t queues, int64_t size)
{
	if (doc && queues >= 0)
		json_object_set_new(doc, "num_queues", json_integer(queues));
	if (doc && size >= 0)
		json_object_set_new(doc, "queue_size", json_integer(size));
}

int api_body_vu_items(struct opt_items *out, const json_t *doc, const char *mac, const char *id)
{
	int64_t queues = api_body_queues(doc, "num_queues");
	int64_t size = api_body_queues(doc, "queue_size");
	int r = opt_items_add(out, VU_OPTS_KEY, api_json_str(doc, "socket", ""));
	if (!r && mac[0])
		r = opt_items_add(out, "mac", mac);
	if (!r && queues >= 0)
		r = opt_items_addf(out, "num-queues", "%lld", (long long)queues);
	if (!r && size >= 0)
		r = opt_items_addf(out, "queue-size", "%lld", (long long)size);
	return r ? r : opt_items_add(out, "id", id);
}
