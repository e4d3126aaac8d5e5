/* A NIC's egress policy replaced while it runs (virtio_net_set_egress(), net.h). Each pair's
 * backend has its own filter (egress_filter.h) and its own compiled copy of the rules: the
 * copies are built here first, outside every lock (compiling allocates and sorts), then
 * swapped in together under dev->lock and every queue-group lock, which every send() runs
 * under (backend.h): once the locks are held no frame is being judged, and after they are
 * released every frame meets the new rules. The old copies are freed after the unlock. */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <pthread.h>

#include "virtio/net/egress.h"
#include "virtio/net/egress_filter.h"
#include "virtio/net/internal.h"

/* Frees p[0..n) (NULL entries included). */
static void free_all(struct egress_policy **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		egress_policy_free(p[i]);
}

/* The new policy of every pair into p[0..max_pairs). 0, -ENODEV or -ENOMEM (p freed). */
static int compile_all(const struct vnet *n, const struct egress_rules *rules,
		       struct egress_policy **p)
{
	for (unsigned i = 0; i < n->max_pairs; i++) {
		const struct net_backend *be = n->p[i].be;
		int err = be && be->egress ? net_egress_compile(be->egress, rules, &p[i]) : -ENODEV;
		if (err) {
			free_all(p, i);
			return err;
		}
	}
	return 0;
}

int virtio_net_set_egress(struct virtio_dev *dev, const struct egress_rules *rules)
{
	struct egress_policy *p[VIRTIO_NET_MAX_PAIRS] = {NULL};
	struct vnet *n;
	int err;

	if (!dev || dev->device_id != VIRTIO_ID_NET)
		return -ENODEV;
	n = to_vnet(dev);
	err = compile_all(n, rules, p);
	if (err)
		return err;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_lock_groups(dev, -1); /* each pair's send() runs under its group's lock */
	for (unsigned i = 0; i < n->max_pairs; i++)
		p[i] = net_egress_swap(n->p[i].be->egress, p[i]);
	virtio_dev_unlock_groups(dev, -1);
	pthread_mutex_unlock(&dev->lock);
	free_all(p, n->max_pairs); /* the old ones: no send() can hold them now */
	return 0;
}
