/* A restored clone's new MAC address. See virtio_net_set_mac() in virtio/net/net.h. */
#include <string.h>

#include "virtio/net/internal.h"
#include "virtio/net/net.h"

void virtio_net_set_mac(struct virtio_dev *dev, const uint8_t mac[6])
{
	struct vnet *n = to_vnet(dev);

	pthread_mutex_lock(&dev->lock);
	if (memcmp(n->cfg.mac, mac, 6)) {
		memcpy(n->cfg.mac, mac, 6);
		memcpy(n->rx_mode.mac, mac, 6); /* the station address, as MAC_ADDR_SET sets it */
		/* 2.5: a running driver learns of a config change by its interrupt. */
		if (virtio_dev_running(dev))
			virtio_dev_config_changed(dev);
	}
	pthread_mutex_unlock(&dev->lock);
}
