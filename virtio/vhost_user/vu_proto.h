/* The vhost-user protocol's numbers (QEMU docs/interop/vhost-user.rst, "Message types",
 * "Protocol features"): not in the kernel's UAPI headers, which define only the vhost ioctls.
 *
 * A message is a 12-byte header (request, flags, payload size; little-endian on every host this
 * VMM runs on) then the payload; file descriptors travel as SCM_RIGHTS ancillary data. */
#ifndef VIRTIO_VHOST_USER_PROTO_H
#define VIRTIO_VHOST_USER_PROTO_H

#include <stdint.h>

/* Front-end message types (the ones this front-end sends, and the rest it never will). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_RESET_DEVICE = 34,
	VU_REQUEST_MAX = 64, /* above every request the spec defines */
};

/* Header flags: bits 0-1 the protocol version (1), bit 2 a reply, bit 3 "reply-ack wanted". */
#define VU_FLAG_VERSION	     0x1u
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_REPLY	     (1u << 2)
#define VU_FLAG_NEED_REPLY   (1u << 3)

/* Virtio feature bit 30 (a vhost-user one, not a device one): the back-end speaks protocol
 * features (GET/SET_PROTOCOL_FEATURES) and its rings start disabled (SET_VRING_ENABLE). */
#define VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits this front-end knows. */
#define VU_PROTOCOL_F_MQ	   0
#define VU_PROTOCOL_F_REPLY_ACK	   3
#define VU_PROTOCOL_F_CONFIG	   9
#define VU_PROTOCOL_F_RESET_DEVICE 13

/* SET_VRING_KICK/CALL/ERR payload: the ring index in bits 0-7, bit 8 set when no fd is sent. */
#define VU_VRING_INDEX_MASK 0xffu
#define VU_VRING_NOFD	    (1u << 8)

#define VU_HDR_SIZE	   12u
#define VU_MAX_REGIONS	   8u	/* memory regions of SET_MEM_TABLE (the spec's baseline) */
#define VU_MAX_CONFIG_SIZE 256u /* GET/SET_CONFIG payload bytes */
#define VU_MEM_REGION_SIZE 32u	/* gpa, size, user address, mmap offset */
#define VU_CONFIG_HDR_SIZE 12u	/* offset, size, flags */
#define VU_VRING_ADDR_SIZE 40u	/* index, flags, desc, used, avail, log */
#define VU_MAX_PAYLOAD	   (VU_CONFIG_HDR_SIZE + VU_MAX_CONFIG_SIZE)
#define VU_MAX_MSG	   (VU_HDR_SIZE + VU_MAX_PAYLOAD)
#define VU_MAX_QUEUES	   (VU_VRING_INDEX_MASK + 1)

/* The request's name for messages ("GET_VRING_BASE"), "request N" style for unknown ones. */
const char *vu_request_name(uint32_t request);

#endif
