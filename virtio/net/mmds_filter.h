/* MMDS on a virtio-net interface: a backend placed in front of the interface's own (tap,
 * libslirp, loopback). Frames the guest transmits to the MMDS address
 * (vmm/mmds/mmds_stack.h) go to an MMDS stack instead of the inner backend; on receive, the
 * stack's answers come before the inner backend's frames. Every other frame costs one look at its
 * ethertype and destination address (copied out of the first iovec bytes) on its way to the inner
 * backend, and nothing on receive but one read(2) of a timerfd when the filter's epoll says MMDS
 * has something. */
#ifndef VIRTIO_NET_MMDS_FILTER_H
#define VIRTIO_NET_MMDS_FILTER_H

#include <stdint.h>

#include "virtio/net/backend.h"

struct mmds;

/* Replaces *be by a filter over it that answers MMDS at `ipv4` (host byte order) from `mmds`.
 * On failure *be is unchanged. Returns 0 or -errno. */
int net_mmds_wrap(struct net_backend **be, struct mmds *mmds, uint32_t ipv4);

#endif
