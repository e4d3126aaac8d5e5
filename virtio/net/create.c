/* virtio_net_create(): from parsed `--net` options to a backend and the device in front of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "virtio/net/internal.h"
#include "virtio/net/net.h"
#include "virtio/net/slirp.h"
#include "virtio/net/tap.h"
#include "vmm/base/log.h"

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

static int create_backend(const struct virtio_net_opts *opts, struct net_backend **be)
{
	switch (opts->kind) {
	case VIRTIO_NET_TAP:
		return net_tap_open(be, opts->ifname);
	case VIRTIO_NET_TAPFD:
		return net_tap_from_fd(be, opts->tapfd);
	case VIRTIO_NET_USER:
		return net_slirp_create(be, opts);
	}
	return -EINVAL;
}

int virtio_net_create(struct virtio_dev **out, const struct virtio_net_opts *opts)
{
	struct net_backend *be = NULL;
	uint8_t mac[6];
	int err = create_backend(opts, &be);

	if (err)
		return err;
	if (opts->has_mac)
		memcpy(mac, opts->mac, 6);
	else
		default_mac(opts, mac);
	err = virtio_net_create_with_backend(out, be, mac);
	if (err)
		return err;
	/* Not initialised yet (no lock, no thread): set the limiters directly. */
	err = rate_limiter_update(&to_vnet(*out)->rx_thr.rl, &opts->rx_rl);
	if (!err)
		err = rate_limiter_update(&to_vnet(*out)->tx_thr.rl, &opts->tx_rl);
	if (err) {
		log_error("virtio-net: invalid rate limit");
		virtio_dev_destroy(*out); /* destroys the backend too */
		free(*out);
		*out = NULL;
	}
	return err;
}
