/* virtio-net (virtio 1.2 section 5.1): N receive/transmit queue pairs (receiveq1 = 0,
 * transmitq1 = 1, ..., receiveqN = 2N-2, transmitqN = 2N-1) and the control queue (2N), in
 * front of one backend per pair (virtio/net/backend.h): a tap interface (with N > 1, one queue
 * of an IFF_MULTI_QUEUE tap per pair), user-mode networking (libslirp, one pair) or the
 * in-memory loopback of the tests.
 *
 * Multiqueue (5.1.6.5.5): with N > 1 the device offers VIRTIO_NET_F_MQ and max_virtqueue_pairs
 * N; the pairs are spread over queue groups, each with its own I/O thread and lock
 * (virtio/core/device.h): pair i in group i mod T for T threads (virtio_net_set_io_threads(),
 * default one per pair); the control queue is in group 0. Only pair 0 is used until the driver
 * sends VQ_PAIRS_SET (1..N; anything else answers VIRTIO_NET_ERR); frames are received only on
 * pairs in use (the tap queues of the others are detached, TUNSETQUEUE), transmitted from every
 * pair. A driver that does not negotiate MQ sees the control queue at 2 (5.1.2). A reset goes back
 * to one pair.
 *
 * Features: VERSION_1, MAC, STATUS (link always up), MTU (1500), MRG_RXBUF, CTRL_VQ, CTRL_RX,
 * CTRL_MAC_ADDR, EVENT_IDX, INDIRECT_DESC, RING_PACKED; with a tap that takes them also CSUM,
 * GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6 (virtio/net/features.h). The tap's receive offloads
 * (TUNSETOFFLOAD) follow what the guest negotiated, at DRIVER_OK.
 *
 * Receive: frames are read from the backend into one staging buffer and copied into the guest's
 * buffers, 12-byte struct virtio_net_hdr_v1 first (the header may share a descriptor with the
 * frame or not). With MRG_RXBUF a frame may span several buffers (num_buffers); without it one
 * buffer must hold header + frame, else the frame is dropped (counted). When the guest has no
 * buffer the frame is kept and the backend is no longer read (its fd is unwatched) until the
 * guest adds buffers and kicks the receive queue: nothing is lost. A frame larger than all the
 * buffers the ring can hold at once is dropped (counted), as the guest could never take it.
 * Transmit: each kick pops every available frame, sends it (zero copy, the validated header
 * copied), then publishes all used buffers with one notification. Control queue: RX mode
 * (PROMISC, ALLMULTI), MAC_TABLE_SET and MAC_ADDR_SET are validated, recorded and acknowledged;
 * the device does not filter frames by them (the guest's stack does). Anything else, or a
 * malformed command, answers VIRTIO_NET_ERR.
 *
 * Use (the lead's wiring):
 *   struct virtio_net_opts o;
 *   virtio_net_opts_parse(arg, &o, err, n);  (each --net, virtio/net/options.h)
 *   virtio_net_create(&dev, &o);             (opens the tap / starts slirp)
 *   virtio_dev_init(dev, mem); <transport attach>; virtio_dev_start(dev);
 *   ...
 *   virtio_dev_destroy(dev); free(dev);
 *
 * What a test guest's driver needs to know (integration tests):
 *   - device ID 1 (VIRTIO_ID_NET); queues rx=0, tx=1, ctrl=2, each at most 256 entries; with
 *     queues=N (MQ negotiated) rx of pair i = 2i, tx = 2i+1, ctrl = 2N; send VQ_PAIRS_SET
 *     before expecting frames on pairs past the first;
 *   - accept at least VERSION_1; every buffer starts with the 12-byte virtio_net_hdr_v1; on tx
 *     set it to zero (flags 0, gso_type 0) unless CSUM / HOST_TSO were negotiated;
 *   - without MRG_RXBUF each rx buffer must hold 12 + 1514 bytes (12 + 65550 with GUEST_TSO);
 *     with it any size >= 12 works and num_buffers says how many buffers a frame used;
 *   - config space: mac[6] at 0, status at 6 (1 = link up), max_virtqueue_pairs at 8 (N),
 *     mtu at 10 (1500, or mtu=); read-only;
 *   - user-mode networking: the guest is 10.0.2.15/24, gateway and host 10.0.2.2, DNS 10.0.2.3,
 *     DHCP offers 10.0.2.15; ARP for 10.0.2.2 then ICMP echo to it gets an answer (libslirp
 *     answers pings to its own addresses). hostfwd=tcp::H-:G forwards host port H to G;
 *   - tap: the host side is the tap interface; a test sets its address and link up (ip link /
 *     ip addr, needs CAP_NET_ADMIN, e.g. in `unshare -rn`) and pings the guest. */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/core/rate_limiter.h"
#include "virtio/net/backend.h"
#include "virtio/net/options.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_MTU	      1500
#define VIRTIO_NET_MAC_TABLE  64 /* MAC_TABLE_SET entries kept per table; more = overflow */

/* The queues of a one-pair device (and of any device whose driver did not negotiate MQ). */
enum { VIRTIO_NET_RXQ = 0, VIRTIO_NET_TXQ = 1, VIRTIO_NET_CTRLQ = 2, VIRTIO_NET_NUM_QUEUES = 3 };

/* Counters since creation (a reset does not clear them). Bytes count frames without header. */
struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped; /* guest buffers too small, backend queue full, oversized frames */
	uint64_t rx_errors;  /* backend read errors, headers needing offloads not negotiated */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_dropped;	    /* the backend refused the frame */
	uint64_t tx_errors;	    /* malformed frames or headers from the guest */
	uint64_t tx_egress_dropped; /* refused by the NIC's egress policy (egress=) */
};

/* Receive filter state as the driver last set it through the control queue (5.1.6.5.1-2). */
struct virtio_net_rx_mode {
	bool promisc, allmulti;
	bool uni_overflow,
	    multi_overflow; /* the table had more than VIRTIO_NET_MAC_TABLE entries */
	unsigned n_uni, n_multi;
	uint8_t uni[VIRTIO_NET_MAC_TABLE][6];
	uint8_t multi[VIRTIO_NET_MAC_TABLE][6];
	uint8_t mac[6]; /* the current station address (config space mac, MAC_ADDR_SET) */
};

/* Creates the backend described by `opts` (tap: TUNSETIFF on /dev/net/tun, queues= times with
 * IFF_MULTI_QUEUE when more than one; tapfd: checks the fd; user: libslirp with its port
 * forwards) and the device in front of it, with its rate limits and I/O thread CPUs. Allocates the
 * device (free() it after virtio_dev_destroy(), which also destroys the backend). Returns 0,
 * or -errno with the reason logged (-ENOTSUP for user without libslirp). */
int virtio_net_create(struct virtio_dev **out, const struct virtio_net_opts *opts);
/* What a tap-backed NIC's I/O thread calls (host/sandbox/sandbox.h): a thread that starts one
 * while the VM runs (vmm/vm/hotplug.h) must allow it too. */
extern const struct sandbox_list tap_sandbox;

/* virtio_net_create() over backends the caller made (create.c opens them; tests and fuzzers
 * pass loopbacks), with `npairs` (1..VIRTIO_NET_MAX_PAIRS) queue pairs, be[i] serving pair i. The
 * device owns the backends from then on, also on failure (the array's entries are set to NULL).
 * Returns 0, -EINVAL (npairs), -ENOMEM or -errno. */
int virtio_net_create_with_backends(struct virtio_dev **out, struct net_backend **be,
				    unsigned npairs, const uint8_t mac[6]);

/* Before virtio_dev_init(): `threads` (1..the device's pairs) I/O threads serve the pairs, pair
 * i on thread i mod threads (the default is one per pair). Returns 0, -EINVAL, or -EBUSY after
 * virtio_dev_init(). */
int virtio_net_set_io_threads(struct virtio_dev *dev, unsigned threads);

/* Gives the device another MAC (a restored snapshot's clone, virtio/net/mac_override.c): the
 * config space mac field (5.1.4) and the station address change, and a driver past DRIVER_OK gets
 * a config-change interrupt. A driver that reads the MAC only at probe (Linux) keeps sending
 * from the old one until it probes again; one that reads the config space after the interrupt
 * sees the new one. The backend has no MAC of its own (slirp answers a frame's source address).
 * Takes dev->lock. */
void virtio_net_set_mac(struct virtio_dev *dev, const uint8_t mac[6]);

/* The MTU the config space gives the guest (VIRTIO_NET_F_MTU, always offered; 1500 unless set):
 * 68..65535. Before virtio_dev_init() (a driver reads it at probe). */
void virtio_net_set_mtu(struct virtio_dev *dev, unsigned mtu);

/* The device's tap fd when it has one single-queue tap (a migration on this host hands it to
 * the destination, vmm/migration/vm_migrate.c), else -1. The fd stays the device's. */
int virtio_net_tap_fd(struct virtio_dev *dev);

/* Snapshots, taking dev->lock (so never call them from a device callback). */
void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out);

/* PATCH /network-interfaces at run time: changes the buckets each direction's patch names (NULL,
 * or a patch naming nothing: that direction as it is). A changed bucket starts full, size 0 is
 * no limit (rate_limiter.h); a direction waiting on its old limit is served again at once. Any
 * thread, without dev->lock. *rx_now and *tx_now (each may be NULL) get the configurations in
 * force after it. Returns 0, -EINVAL (a bad bucket; nothing changed) or -ENODEV (not a NIC). */
int virtio_net_patch_rate_limiters(struct virtio_dev *dev, const struct rate_limiter_patch *rx,
				   const struct rate_limiter_patch *tx,
				   struct rate_limiter_cfg *rx_now,
				   struct rate_limiter_cfg *tx_now);

/* PATCH /network-interfaces's "egress" at run time (virtio/net/egress_live.c): the NIC's egress
 * policy becomes `rules` (NULL or off: none, every frame passes), plus the served ports its
 * hostfwd adds. Each pair's new policy is compiled first, then all are swapped in with every
 * queue-group lock held (no transmit in progress: a frame meets the old rules or the new,
 * never a mix), and the old ones freed after. Any thread, without dev->lock. Returns 0,
 * -ENOMEM (the old rules stay) or -ENODEV (not an in-process NIC with an egress filter). */
int virtio_net_set_egress(struct virtio_dev *dev, const struct egress_rules *rules);

#endif
