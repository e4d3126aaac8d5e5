/* The option string of a vhost-user disk or NIC (--disk vhost-user=..., --net vhost-user=...):
 *
 *   vhost-user=PATH[,num-queues=N][,queue-size=N][,id=NAME]     (disk)
 *   vhost-user=PATH[,mac=MAC][,num-queues=N][,queue-size=N][,id=NAME]   (NIC)
 *
 *   vhost-user  the back-end's Unix socket; the first item
 *   num-queues  disk: request queues, 1..16 (default 1; more than one needs the back-end's
 *               VIRTIO_BLK_F_MQ and as many queues). NIC: queues, rx and tx counted (Cloud
 *               Hypervisor's num_queues): only 2 (one pair) for now, see vu_net.h
 *   queue-size  a power of two, 2..1024 (default 256)
 *   mac         NIC only: the guest's MAC address (xx:xx:xx:xx:xx:xx, neither all zeros nor
 *               multicast)
 *   id          a name (parse_device_id()) unique among the VM's disks, or NICs, and the
 *               device's log prefix; the API's name of it (GET /vm/config, a hot-added
 *               one's PUT /vmm/vm.remove-device) */
#ifndef VIRTIO_VHOST_USER_OPTS_H
#define VIRTIO_VHOST_USER_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_OPTS_KEY	      "vhost-user" /* the item naming the socket */
#define VU_OPTS_PREFIX	      VU_OPTS_KEY "="
#define VU_OPTS_DEFAULT_QSIZE 256
#define VU_OPTS_ID_MAX	      64 /* id= bytes, NUL included (the API's id limit) */

enum vu_opts_kind { VU_OPTS_BLK, VU_OPTS_NET };

struct vu_opts {
	char socket[108];
	uint16_t num_queues; /* blk: request queues (default 1); net: queues (default 2) */
	uint16_t queue_size; /* VU_OPTS_DEFAULT_QSIZE by default */
	bool has_mac;
	uint8_t mac[6];
	char id[VU_OPTS_ID_MAX]; /* "" when not given */
};

/* True when a --disk or --net argument names a vhost-user back-end ("vhost-user=..."). */
bool vu_opts_is_spec(const char *arg);

/* Parses `arg` for a device of `kind`. Returns 0 or -EINVAL with a message in err (unknown or
 * repeated key, empty item, bad value, no socket, mac= on a disk). */
int vu_opts_parse(const char *arg, enum vu_opts_kind kind, struct vu_opts *o, char *err,
		  size_t errlen);

struct opt_items;
/* The option as items (base/options.h), the socket's "vhost-user" among them anywhere: the same
 * keys, checks and messages as vu_opts_parse(); *o is set only on success. */
int vu_opts_from_items(const struct opt_items *items, enum vu_opts_kind kind, struct vu_opts *o,
		       char *err, size_t errlen);
/* The options as items, the socket first, then every field not at its default (what
 * vu_opts_from_items() reads back to the same options). 0 or -ENOMEM. */
int vu_opts_to_items(const struct vu_opts *o, enum vu_opts_kind kind, struct opt_items *out);

#endif
