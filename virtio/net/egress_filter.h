/* A NIC's egress policy (virtio/net/egress.h) in front of its backend: a backend that judges
 * every frame the guest transmits and passes on only those the policy allows. Refused and
 * malformed frames are not sent: send() returns -NET_SEND_REFUSED and the device counts them in
 * its tx_egress_dropped counter. Receive passes through untouched.
 *
 * The frame's headers are judged on a private copy, and that copy is what the inner backend
 * sends: the guest cannot change a destination in its buffer between the check and the send
 * (the rest of the frame still goes out zero-copy from guest memory). Placed under the MMDS
 * filter (virtio/net/mmds_filter.h), so frames MMDS answers never reach the policy. */
#ifndef VIRTIO_NET_EGRESS_FILTER_H
#define VIRTIO_NET_EGRESS_FILTER_H

#include "virtio/net/backend.h"

struct egress_rule;

/* Replaces *be by a filter over it that enforces rules[0..n) (copied and compiled). On failure
 * *be is unchanged. Returns 0 or -ENOMEM. */
int net_egress_wrap(struct net_backend **be, const struct egress_rule *rules, unsigned n);

#endif
