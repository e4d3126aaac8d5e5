/* An in-memory virtio-net backend for unit tests and fuzzers: frames the device sends are
 * recorded (up to a limit, oldest first), frames a test injects are delivered to the guest
 * through the same rx_fd protocol as a real backend (virtio/net/frame_queue.h).
 *
 * The recorded copy of a frame includes the virtio_net_hdr_v1 when the backend was created
 * with vnet_hdr. `offload_caps` is what the device may offer on top (TUN_F_*). */
#ifndef VIRTIO_NET_LOOPBACK_H
#define VIRTIO_NET_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/net/backend.h"

#define NET_LOOPBACK_MAX_RECORDED 4096
#define NET_LOOPBACK_MAX_QUEUED	  4096

/* Returns 0, -ENOMEM or -errno. */
int net_loopback_create(struct net_backend **out, bool vnet_hdr, unsigned offload_caps);

/* Queues a frame for the guest (bytes as recv() will return them). 0 or -ENOBUFS / -ENOMEM. */
int net_loopback_inject(struct net_backend *be, const void *frame, size_t len);

/* Frames sent by the device so far (recording stops at NET_LOOPBACK_MAX_RECORDED). */
size_t net_loopback_sent_count(const struct net_backend *be);
/* The i-th recorded frame and its length, or NULL. */
const uint8_t *net_loopback_sent(const struct net_backend *be, size_t i, size_t *len);
void net_loopback_clear_sent(struct net_backend *be);

/* Makes send() fail with `err` (negative errno, or 0 to succeed again). */
void net_loopback_fail_send(struct net_backend *be, int err);
/* The TUN_F_* flags of the last set_offloads() call, and how many calls there were. */
unsigned net_loopback_offloads(const struct net_backend *be, unsigned *calls);
/* False after the device disabled the backend (set_enabled: its queue pair is not in use);
 * frames injected meanwhile stay queued, as nothing reads them. */
bool net_loopback_enabled(const struct net_backend *be);

/* Offers recv_batch() (backend.h) or not; only with vnet_hdr. 0, -EINVAL or -ENOMEM. */
int net_loopback_set_batch(struct net_backend *be, bool on);
/* recv_batch() calls so far, and the frame count the last one asked for. */
unsigned net_loopback_batch_calls(const struct net_backend *be, unsigned *last_n);
/* Makes recv_batch() fail with `err` (negative errno, or 0 to work again). */
void net_loopback_fail_batch(struct net_backend *be, int err);

#endif
