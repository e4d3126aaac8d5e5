/* virtio_net_create(): from parsed `--net` options to a backend and the device in front of it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "virtio/net/egress_filter.h"
#include "virtio/net/internal.h"
#include "virtio/net/mmds_filter.h"
#include "virtio/net/net.h"
#include "virtio/net/slirp.h"
#include "virtio/net/tap.h"

/* QEMU's default for user networking; taps get random low bytes so that several VMs on one
 * bridge do not collide. 52:54:00 has the locally administered bit set and is unicast. */
static void default_mac(const struct virtio_net_opts *opts, uint8_t mac[6])
{
	static const uint8_t qemu_default[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

	memcpy(mac, qemu_default, 6);
	if (opts->kind == VIRTIO_NET_USER)
		return;
	if (getrandom(mac + 3, 3, GRND_NONBLOCK) != 3)
		log_debug("virtio-net: no random MAC; using 52:54:00:12:34:56");
}

/* be[0..pairs): one backend per queue pair (only a tap has more than one). */
static int create_backends(const struct virtio_net_opts *opts, struct net_backend **be,
			   unsigned pairs)
{
	switch (opts->kind) {
	case VIRTIO_NET_TAP:
		return pairs > 1 ? net_tap_open_mq(be, opts->ifname, pairs)
				 : net_tap_open(be, opts->ifname);
	case VIRTIO_NET_TAPFD:
		return net_tap_from_fd(&be[0], opts->tapfd);
	case VIRTIO_NET_USER:
		return net_slirp_create(&be[0], opts);
	}
	return -EINVAL;
}

/* What the options set before virtio_dev_init(): the I/O threads and the rate limits. Logs what
 * is wrong. */
static int apply_opts(struct virtio_dev *dev, const struct virtio_net_opts *opts, unsigned pairs)
{
	int err;

	dev->iothread_cpus = opts->iothread_cpus;
	if (opts->mtu)
		virtio_net_set_mtu(dev, opts->mtu);
	if (opts->io_threads && virtio_net_set_io_threads(dev, opts->io_threads)) {
		log_error("virtio-net: io-threads=%u: from 1 to the %u queue pair(s)",
			  opts->io_threads, pairs);
		return -EINVAL;
	}
	/* Not initialised yet (no lock, no thread): set the limiters directly. */
	err = rate_limiter_update(&to_vnet(dev)->rx_rl, &opts->rx_rl);
	if (!err)
		err = rate_limiter_update(&to_vnet(dev)->tx_rl, &opts->tx_rl);
	if (err)
		log_error("virtio-net: invalid rate limit");
	return err;
}

/* Each pair's backend behind its own egress filter: the NIC's rules (none: every frame passes,
 * until PATCH /network-interfaces gives some) and, on libslirp, a served port per hostfwd (the
 * guest's answers to the host's forwarded connections come from it), kept for any later rules. */
static int wrap_egress(const struct virtio_net_opts *opts, struct net_backend **be, unsigned pairs)
{
	struct egress_rule served[VIRTIO_NET_MAX_HOSTFWD];
	unsigned n = 0;
	int err = 0;

	for (unsigned i = 0; opts->kind == VIRTIO_NET_USER && i < opts->nhostfwd; i++) {
		const struct virtio_net_hostfwd *f = &opts->hostfwd[i];
		served[n++] = (struct egress_rule){.kind = EGRESS_SERVE,
						   .proto = f->udp ? IPPROTO_UDP : IPPROTO_TCP,
						   .port_lo = f->guest_port,
						   .port_hi = f->guest_port};
	}
	for (unsigned i = 0; !err && i < pairs; i++)
		err = net_egress_wrap_fixed(&be[i], &opts->egress, served, n);
	return err;
}

/* The filters in front of each pair's backend: egress nearest the backend, MMDS outside it (so
 * frames MMDS answers never meet the policy). On failure every backend is destroyed. */
static int wrap_backends(const struct virtio_net_opts *opts, struct net_backend **be,
			 unsigned pairs)
{
	int err = wrap_egress(opts, be, pairs);

	if (err)
		log_error("virtio-net: cannot set up the egress policy: %s", strerror(-err));
	for (unsigned i = 0; !err && opts->mmds && i < pairs; i++) {
		err = net_mmds_wrap(&be[i], opts->mmds, opts->mmds_ipv4); /* each pair its own */
		if (err)
			log_error("virtio-net: cannot set up MMDS: %s", strerror(-err));
	}
	for (unsigned k = 0; err && k < pairs; k++)
		net_backend_destroy(be[k]);
	return err;
}

int virtio_net_create(struct virtio_dev **out, const struct virtio_net_opts *opts)
{
	struct net_backend *be[VIRTIO_NET_MAX_PAIRS] = {NULL};
	unsigned pairs = opts->queues ? opts->queues : 1;
	uint8_t mac[6];
	int err;

	if (pairs > 1 && opts->kind != VIRTIO_NET_TAP) {
		log_error("virtio-net: queues=%u needs a tap (tap=IFNAME)", pairs);
		return -EINVAL;
	}
	err = create_backends(opts, be, pairs);
	if (err)
		return err;
	err = wrap_backends(opts, be, pairs);
	if (err)
		return err;
	if (opts->has_mac)
		memcpy(mac, opts->mac, 6);
	else
		default_mac(opts, mac);
	err = virtio_net_create_with_backends(out, be, pairs, mac);
	if (err)
		return err;
	err = apply_opts(*out, opts, pairs);
	if (err) {
		virtio_dev_destroy(*out); /* destroys the backend too */
		free(*out);
		*out = NULL;
	}
	return err;
}
