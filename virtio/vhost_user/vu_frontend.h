/* The vhost-user front-end: the sequence of messages that hands a device's virtqueues to an
 * external back-end process (QEMU docs/interop/vhost-user.rst), shared by the vhost-user devices.
 *
 *   vu_frontend_connect()        connect, GET_FEATURES, GET/SET_PROTOCOL_FEATURES, SET_OWNER
 *   vu_frontend_set_features()   SET_FEATURES (the driver's accepted set)
 *   vu_frontend_set_mem_table()  SET_MEM_TABLE (guest RAM as shared fds)
 *   vu_frontend_start_vring()    SET_VRING_NUM/BASE/ADDR/KICK/CALL/ERR, SET_VRING_ENABLE
 *   vu_frontend_set_vring_call() SET_VRING_CALL on a started ring (its interrupt moved)
 *   vu_frontend_stop_vring()     SET_VRING_ENABLE 0, GET_VRING_BASE (tests: vu_frontend_test.h)
 *   vu_frontend_get/set_config() GET_CONFIG / SET_CONFIG (device config space from the back-end)
 *   vu_frontend_reset()          every started ring stopped, then RESET_DEVICE when negotiated
 *
 * With REPLY_ACK negotiated, every request without a reply of its own asks for an ack, so a
 * back-end's refusal is seen at the request that caused it. Every wait is bounded by the
 * timeout; on any failure the connection is broken (vu_frontend_alive() is false) and `error`
 * says what happened: the device reports DEVICE_NEEDS_RESET, and a later vu_frontend_connect()
 * (on the same struct, after vu_frontend_close()) starts over with a fresh back-end. */
#ifndef VIRTIO_VHOST_USER_FRONTEND_H
#define VIRTIO_VHOST_USER_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/vhost_user/vu_conn.h"
#include "virtio/vhost_user/vu_mem.h"

/* The protocol features this front-end uses when the back-end offers them. */
#define VU_FRONTEND_PROTOCOL_FEATURES                                                              \
	((1ull << VU_PROTOCOL_F_MQ) | (1ull << VU_PROTOCOL_F_REPLY_ACK) |                          \
	 (1ull << VU_PROTOCOL_F_CONFIG) | (1ull << VU_PROTOCOL_F_RESET_DEVICE))

#define VU_DEFAULT_TIMEOUT_MS 5000

struct vu_frontend {
	struct vu_conn conn;
	char path[108];		    /* the back-end's socket ("" after vu_frontend_attach()) */
	uint64_t features;	    /* virtio features the back-end offers (GET_FEATURES) */
	uint64_t protocol_features; /* negotiated: offered by both */
	unsigned max_queues;	    /* GET_QUEUE_NUM with MQ, else 0 (unknown) */
	struct vu_mem_table mem;    /* the table last sent (rings are translated through it) */
	bool has_mem;
	bool started[VU_MAX_QUEUES];
	char error[320]; /* the last failure, a whole sentence for the log ("" if none) */
};

/* An unconnected front-end (closing it is harmless). */
void vu_frontend_init(struct vu_frontend *f);

/* Connects to `path` and runs the handshake (GET_FEATURES; GET_PROTOCOL_FEATURES and
 * SET_PROTOCOL_FEATURES when the back-end offers protocol features; GET_QUEUE_NUM with MQ;
 * SET_OWNER). Every reply within `timeout_ms`. Returns 0 or -errno with `error` set. */
int vu_frontend_connect(struct vu_frontend *f, const char *path, int timeout_ms);

/* SET_FEATURES with `features` (must be a subset of `features` offered; the vhost-user bit
 * VU_F_PROTOCOL_FEATURES is added when offered). Returns 0, -EINVAL, or -errno. */
int vu_frontend_set_features(struct vu_frontend *f, uint64_t features);

/* SET_MEM_TABLE with the regions of `t` and their fds. Returns 0 or -errno. */
int vu_frontend_set_mem_table(struct vu_frontend *f, const struct vu_mem_table *t);

struct vu_vring_cfg {
	struct vu_ring_gpa ring; /* as the driver programmed it */
	uint16_t base;		 /* next available index to process (0 after a reset) */
	int kick_fd;		 /* eventfd the driver's notifications arrive on (ioeventfd) */
	int call_fd;		 /* eventfd that interrupts the guest (irqfd), -1: none */
	int err_fd;		 /* eventfd the back-end signals ring errors on, -1: none */
};

/* Hands ring `index` to the back-end. The ring is translated through the memory table first
 * (vu_ring_translate(): -EINVAL or -EFAULT for a ring outside guest RAM, nothing sent, the
 * connection stays usable). Needs vu_frontend_set_mem_table(). Returns 0 or -errno. */
int vu_frontend_start_vring(struct vu_frontend *f, unsigned index, const struct vu_vring_cfg *v);

/* SET_VRING_CALL alone: the started ring `index` signals `call_fd` from now on (-1: none). The
 * back-end may use the old fd until it has read the message (with REPLY_ACK, until the ack).
 * Returns 0, -EINVAL (ring not started; nothing sent) or -errno. */
int vu_frontend_set_vring_call(struct vu_frontend *f, unsigned index, int call_fd);

/* GET_CONFIG / SET_CONFIG of `len` (1..256) bytes at `offset` of the device config space; needs
 * the CONFIG protocol feature (-EOPNOTSUPP without it). Returns 0 or -errno. */
int vu_frontend_get_config(struct vu_frontend *f, uint32_t offset, void *buf, uint32_t len);

/* The device reset (status 0): stops every started ring, then RESET_DEVICE when negotiated.
 * Returns 0 or -errno (the rings count as stopped either way). */
int vu_frontend_reset(struct vu_frontend *f);

/* False when the connection is closed or broken, or the back-end has hung up. */
bool vu_frontend_alive(struct vu_frontend *f);

/* Closes the connection; `path` and `error` are kept for a reconnect and the report. */
void vu_frontend_close(struct vu_frontend *f);

#endif
