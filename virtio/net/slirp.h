/* User-mode networking for virtio-net through libslirp: a NAT'ed guest network needing no
 * privileges, with QEMU's defaults: network 10.0.2.0/24, host/gateway 10.0.2.2, DNS 10.0.2.3
 * (forwarded to the host's resolver), DHCP handing out 10.0.2.15 onwards, IPv4 only, plus the
 * port forwards of the options (host port -> guest port).
 *
 * libslirp's sockets and timers run on the device's I/O thread: the backend's service_fd is an
 * epoll set holding the sockets slirp_pollfds_fill() asked for and a timerfd armed at the
 * earliest of slirp's timeouts and timers; it is refreshed after every call into slirp. Frames
 * slirp sends to the guest wait in a bounded FIFO (rx_fd); while the FIFO is full slirp's
 * sockets are not read (host TCP then pushes back). No offloads: frames have no vnet header.
 *
 * Built only with libslirp (HAVE_LIBSLIRP); otherwise net_slirp_create() returns -ENOTSUP. */
#ifndef VIRTIO_NET_SLIRP_H
#define VIRTIO_NET_SLIRP_H

#include "virtio/net/backend.h"
#include "virtio/net/options.h"

#define NET_SLIRP_NETWORK "10.0.2.0"
#define NET_SLIRP_HOST	  "10.0.2.2"
#define NET_SLIRP_DNS	  "10.0.2.3"
#define NET_SLIRP_GUEST	  "10.0.2.15"
#define NET_SLIRP_QUEUE	  1024 /* frames waiting for the guest */

/* Starts a slirp instance with the hostfwd rules of `opts`. Returns 0, -ENOTSUP (no libslirp),
 * -EADDRINUSE (a forward could not be set up) or -errno; logged. */
int net_slirp_create(struct net_backend **out, const struct virtio_net_opts *opts);

#endif
