/* A NIC's egress policy (virtio/net/egress.h) in front of its backend: a backend that judges
 * every frame the guest transmits and passes on only those the policy allows. Refused and
 * malformed frames are not sent: send() returns -NET_SEND_REFUSED and the device counts them in
 * its tx_egress_dropped counter. Receive passes through untouched.
 *
 * The frame's headers are judged on a private copy, and that copy is what the inner backend
 * sends: the guest cannot change a destination in its buffer between the check and the send
 * (the rest of the frame still goes out zero-copy from guest memory). Placed under the MMDS
 * filter (virtio/net/mmds_filter.h), so frames MMDS answers never reach the policy.
 *
 * A policy can be replaced while frames flow (PATCH /network-interfaces, virtio_net_set_egress()):
 * the new one is compiled beside the old (net_egress_compile(), any thread), then swapped in by
 * one pointer store with send() kept out (net_egress_swap(): the caller holds the lock every
 * send() of this backend runs under, the pair's), and the old one freed after: a frame is judged
 * by the old rules or by the new, never by half of them. A filter without a policy passes every
 * frame to its backend as given (no copy), so every in-process NIC has one and any of them can
 * be given rules later. */
#ifndef VIRTIO_NET_EGRESS_FILTER_H
#define VIRTIO_NET_EGRESS_FILTER_H

#include "virtio/net/backend.h"

struct egress_rule;
struct egress_rules;
struct egress_policy;

/* Replaces *be by a filter over it that enforces rules[0..n) (copied and compiled; rules NULL:
 * no policy, every frame passes). On failure *be is unchanged. Returns 0 or -ENOMEM. */
int net_egress_wrap(struct net_backend **be, const struct egress_rule *rules, unsigned n);

/* As net_egress_wrap() with `rules` (NULL or off: no policy), and fixed[0..nfixed) kept (copied)
 * and added to this policy and every later one: a libslirp NIC's served hostfwd ports, which the
 * NIC has whatever rules the API gives it. */
int net_egress_wrap_fixed(struct net_backend **be, const struct egress_rules *rules,
			  const struct egress_rule *fixed, unsigned nfixed);

/* A policy for the filter `filter` (a backend's `egress`): `rules` and the filter's fixed ones,
 * compiled; rules NULL or off: *out NULL (no policy). Reads only what the wrap set: any thread,
 * no lock. Returns 0 or -ENOMEM. */
int net_egress_compile(const struct net_backend *filter, const struct egress_rules *rules,
		       struct egress_policy **out);

/* The filter's policy becomes `p` (owned by it now; NULL: none) and the old one is returned,
 * for the caller to free once no send() can be judging a frame with it. The caller keeps the
 * filter's send() out meanwhile (the lock its device calls send() under). */
struct egress_policy *net_egress_swap(struct net_backend *filter, struct egress_policy *p);

/* The backend the filter `filter` sends through (a tap's own, for its fd). */
struct net_backend *net_egress_inner(struct net_backend *filter);

#endif
