/* vmmctl: a command and its arguments -> the HTTP request to send to the VMM's API socket.
 * Pure (no I/O): tests/unit/tools/vmmctl/test_vmmctl_request.c checks every command's method, path
 * and body. */
#ifndef VMMCTL_REQUEST_H
#define VMMCTL_REQUEST_H

#include <jansson.h>
#include <stddef.h>

/* How the answer is shown: views with a body expect 200 + JSON, VIEW_NONE expects 204. */
enum vmmctl_view {
	VIEW_NONE,
	VIEW_INFO, /* GET / ; the caller also GETs VMMCTL_STATE_PATH */
	VIEW_METRICS,
	VIEW_DEVICES,
	VIEW_VCPUS,
	VIEW_CONFIG,
	VIEW_BALLOON,	    /* GET /balloon */
	VIEW_BALLOON_STATS, /* GET /balloon/statistics */
	VIEW_RAW,	    /* whatever came back, as it came */
};

#define VMMCTL_STATE_PATH      "/vmm/state"
#define VMMCTL_PATH_MAX	       256
#define VMMCTL_DEFAULT_STOP_MS 10000

struct vmmctl_request {
	const char *method; /* "GET", "PUT", "PATCH", ... (static or argv storage) */
	char path[VMMCTL_PATH_MAX];
	json_t *body; /* owned; NULL: no body */
	enum vmmctl_view view;
	long long stop_timeout_ms; /* stop only: the graceful timeout asked for, else 0 */
};

/* Builds the request for `argv[0]` (the command) with its arguments argv[1..argc-1].
 * Returns 0, or -EINVAL with a one-line reason in `err` (a usage error: exit status 2).
 * On success the caller frees the body with vmmctl_request_free(). */
int vmmctl_request_build(int argc, char **argv, struct vmmctl_request *req, char *err,
			 size_t errlen);

void vmmctl_request_free(struct vmmctl_request *req);

/* True if `id` may be put in a URL path segment: 1-64 of [A-Za-z0-9_.-]. */
int vmmctl_id_valid(const char *id);

#endif
