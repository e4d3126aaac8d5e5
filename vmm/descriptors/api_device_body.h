/* The body rules Firecracker's drives and network interfaces share (dev_disk_api.c,
 * dev_net_api.c): a local back-end or a vhost-user socket, Cloud Hypervisor's queue fields, and
 * building the option argument a document stands for. Pure code, no VM. */
#ifndef VMM_MACHINE_API_DEVICE_BODY_H
#define VMM_MACHINE_API_DEVICE_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/descriptors/api_json.h"

#define API_PARTUUID_MAX 40   /* a GPT UUID (36) or an MBR "SSSSSSSS-PP" (11), NUL included */
#define API_NET_MTU	 1500 /* what our virtio-net advertises (VIRTIO_NET_F_MTU) without mtu= */
#define API_SOCKET_MAX	 108  /* a vhost-user socket path (sun_path), NUL included */

/* A NIC whose host_dev_name is this is user-mode networking (libslirp), not a tap. */
#define API_NIC_USER "user"

/* A member that is there and not null (null means absent). */
bool api_body_has(const json_t *body, const char *name);

/* The path's id and the body's `id_field` (required) must be the same; `id` NULL (a config
 * file's element without it) counts as "". Then the body's fields (api_json_check()). Returns 0
 * or -EINVAL with Firecracker's message. */
int api_body_check_named(const json_t *body, const char *id, const char *id_field,
			 const struct api_json_field *fields, char *err, size_t errlen);

/* A device's back-end: exactly one of `local` (path_on_host, host_dev_name: `what`) and socket
 * (a vhost-user back-end); vhost_user (Cloud Hypervisor's), when given, must agree. */
int api_body_check_backend(const json_t *body, const char *local, const char *what, char *err,
			   size_t errlen);
/* A vhost-user back-end's socket path: 1 to API_SOCKET_MAX-1 bytes (sun_path). */
int api_body_check_socket(const json_t *body, char *err, size_t errlen);
/* The first member of `refused` ({name, reason} pairs, n of them) that `body` has: -EINVAL,
 * "NAME cannot be honoured with socket: REASON". */
int api_body_refuse_fields(const json_t *body, const char *const (*refused)[2], size_t n, char *err,
			   size_t errlen);
/* Cloud Hypervisor's queue fields belong to a vhost-user device; `local` names the other kind. */
int api_body_refuse_queues(const json_t *body, const char *local, char *err, size_t errlen);
/* num_queues / queue_size of a body, -1 when not given. */
int64_t api_body_queues(const json_t *body, const char *name);
/* Sets num_queues and queue_size of a vhost-user device's document, when given (>= 0). */
void api_body_queues_json(json_t *doc, int64_t queues, int64_t size);

struct opt_items;
/* A vhost-user device's record items of a document: vhost-user=SOCKET, mac=MAC when `mac` is
 * not "", num-queues and queue-size when the document has them, id=ID. 0 or -ENOMEM. */
int api_body_vu_items(struct opt_items *out, const json_t *doc, const char *mac, const char *id);

#endif
