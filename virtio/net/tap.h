/* The tap backend of virtio-net: a Linux tap interface opened through /dev/net/tun with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte vnet header (TUNSETVNETHDRSZ, the VERSION_1
 * header layout, little endian like x86), non-blocking I/O. Receive offloads are set with
 * TUNSETOFFLOAD to what the guest negotiated (virtio_net_tun_offloads()).
 *
 * Creating a tap needs CAP_NET_ADMIN; attaching to an existing persistent tap owned by the user
 * does not. */
#ifndef VIRTIO_NET_TAP_H
#define VIRTIO_NET_TAP_H

#include <stdbool.h>

#include "virtio/net/backend.h"

/* Creates or attaches the tap interface `ifname`. Returns 0 or -errno (logged). */
int net_tap_open(struct net_backend **out, const char *ifname);

/* Opens the tap `ifname` as net_tap_open() does (one queue of a multi-queue tap when
 * `multi_queue`), without its receive ring, and closes it: the check before KVM. It makes no
 * io_uring ring, since closing one queues a task notification on the thread that made it a few
 * milliseconds later, which interrupts the KVM_CREATE_VM that comes next (EINTR). Returns 0 or
 * -errno (logged). */
int net_tap_check(const char *ifname, bool multi_queue);

/* Opens `n` queues of the multi-queue tap `ifname` (IFF_MULTI_QUEUE; created if missing), one
 * backend each in out[0..n), every one attached; set_enabled() detaches / attaches a queue
 * (TUNSETQUEUE). Returns 0, or -errno (logged) with nothing left open. */
int net_tap_open_mq(struct net_backend **out, const char *ifname, unsigned n);

/* Uses an fd the caller opened (and configured with TUNSETIFF): checked with TUNGETIFF to be a
 * tap without packet information. With IFF_VNET_HDR its header size is set to 12 and offloads
 * are probed; without it the device offers no offloads. The fd is made non-blocking and is
 * closed by the backend. Returns 0 or -errno (logged). */
int net_tap_from_fd(struct net_backend **out, int fd);

/* The tap fd of a single-queue tap backend (net_tap_open(), net_tap_from_fd()), or -1 for any
 * other backend (a queue of a multi-queue tap, libslirp): what a migration on this host hands
 * over, as such a tap takes one process at a time. */
int net_tap_single_fd(const struct net_backend *be);

#endif
