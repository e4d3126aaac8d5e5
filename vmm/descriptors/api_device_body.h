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
/* The socket goes into an option argument, which a comma would end: 1 to API_SOCKET_MAX-1
 * bytes, no comma. */
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

/* Appends printf-style text to the NUL-terminated `spec`. 0 or -ENAMETOOLONG. */
int api_body_append(char *spec, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ",num-queues=N,queue-size=N" for what a document has, then ",id=ID". */
int api_body_append_vu_tail(char *spec, size_t len, const json_t *doc, const char *id);

#endif
