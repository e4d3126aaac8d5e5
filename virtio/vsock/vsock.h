/* virtio-vsock (virtio 1.2 section 5.10) with Firecracker's hybrid host side: no vhost-vsock, the
 * device itself speaks the vsock packet protocol to the guest and maps each stream onto a Unix
 * stream socket on the host.
 *
 *   - guest connects to (CID 2, port P)  ->  the device connects to the Unix socket "PATH_P";
 *   - a host program connects to the Unix socket PATH and writes "CONNECT <port>\n"; the device
 *     asks the guest for a connection to that port and, once the guest accepts, writes
 *     "OK <host port>\n" back; from then on the socket carries the stream.
 *
 * Queues: rx 0 (device to guest), tx 1 (guest to device), event 2 (transport reset after a
 * snapshot restore, 5.10.6.7). Only VIRTIO_VSOCK_TYPE_STREAM; SEQPACKET is not offered.
 * Config space: the guest's CID (5.10.4).
 *
 * Flow control (5.10.6.3): the device advertises VIRTIO_VSOCK_BUF_ALLOC bytes per connection
 * and never sends the guest more than the guest's own buf_alloc - (tx_cnt - fwd_cnt). A guest
 * that sends past the credit we gave it gets that connection reset, so the bytes the device
 * holds for one connection stay below VIRTIO_VSOCK_BUF_ALLOC and for all of them below
 * VIRTIO_VSOCK_MAX_BUFFERED (past that the tx queue waits for the host sockets to drain).
 *
 * All host sockets are non-blocking and served from the device's I/O thread through one inner
 * epoll set registered with it (so the number of connections is not bounded by
 * VIRTIO_DEV_MAX_FDS). Open connections do not survive a snapshot restore (as in Firecracker):
 * the device sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET and the guest drops them.
 *
 * A host connection that has not sent its CONNECT line after VIRTIO_VSOCK_HANDSHAKE_MS is
 * closed (a timerfd in the inner epoll set), so silent clients cannot hold the handshake slots.
 * PATH is removed when the device is destroyed, if it is still the socket file we bound.
 *
 * Use:
 *   struct virtio_vsock_opts o;  virtio_vsock_opts_parse("cid=3,uds=/tmp/v.sock", &o, err, n);
 *   virtio_vsock_create(&dev, &o);  (binds PATH: the host may connect from then on)
 *   virtio_dev_init(dev, mem); <transport attach>; virtio_dev_start(dev);
 *   ...
 *   virtio_dev_destroy(dev); free(dev); */
#ifndef VIRTIO_VSOCK_H
#define VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"

#define VIRTIO_VSOCK_QUEUE_SIZE	    256
#define VIRTIO_VSOCK_BUF_ALLOC	    (256u * 1024) /* our receive buffer per connection */
#define VIRTIO_VSOCK_MAX_PKT	    65536u	  /* payload of one packet, either way */
#define VIRTIO_VSOCK_MAX_CONNS	    1024u
#define VIRTIO_VSOCK_MAX_HANDSHAKES 32u	   /* host connections not past CONNECT yet */
#define VIRTIO_VSOCK_HANDSHAKE_MS   10000u /* ... closed if "CONNECT <port>\n" takes longer */
#define VIRTIO_VSOCK_MAX_BUFFERED   (32u * 1024 * 1024) /* guest bytes held for all sockets */
#define VIRTIO_VSOCK_UDS_MAX	    96u /* PATH plus "_4294967295" fits in sun_path */
#define VIRTIO_VSOCK_ID_MAX	    64u /* id= bytes, NUL included (the API's vsock_id) */

struct virtio_vsock_opts {
	uint64_t cid;			    /* 3 .. 0xfffffffe */
	char uds[VIRTIO_VSOCK_UDS_MAX + 1]; /* the host-side Unix socket PATH */
	char id[VIRTIO_VSOCK_ID_MAX];	    /* id=NAME, the API's vsock_id; "" when not given */
};

/* What a virtio-vsock I/O thread calls (host/sandbox/sandbox.h): a thread that starts one later,
 * while the VM runs (vmm/vm/hotplug.h), must allow it too. */
extern const struct sandbox_list vsock_sandbox;

/* Parses "cid=N,uds=PATH[,id=NAME]" (cid and uds required, each once). Returns 0, or -EINVAL with
 * the reason in err (errlen bytes). */
int virtio_vsock_opts_parse(const char *arg, struct virtio_vsock_opts *o, char *err, size_t errlen);
/* The same from items (base/options.h), and `o` as the items that make it again (a record:
 * vmm/descriptors/device_record.h). from: as virtio_vsock_opts_parse(); to: 0 or -ENOMEM. */
struct opt_items;
int virtio_vsock_opts_from_items(const struct opt_items *items, struct virtio_vsock_opts *o,
				 char *err, size_t errlen);
int virtio_vsock_opts_to_items(const struct virtio_vsock_opts *o, struct opt_items *out);

/* Checks, without creating anything, that o->uds can be bound: its directory exists and we may
 * create a file there, and an existing PATH is a socket (which create replaces). So a bad path is
 * reported before the VM exists. Returns 0, or -errno with the reason in err (errlen bytes). */
int virtio_vsock_check_opts(const struct virtio_vsock_opts *o, char *err, size_t errlen);

/* Allocates the device (free() it after virtio_dev_destroy()), binds and listens on o->uds
 * (a stale socket file there is replaced; any other file is refused). Returns 0, -EINVAL or
 * -errno (logged). */
int virtio_vsock_create(struct virtio_dev **out, const struct virtio_vsock_opts *o);

/* The transport reset of a VM that goes on as a new generation while its device runs (a clone
 * or fork made without a new device: vmm/snapshot's vm_snapshot_new_generation()): every host
 * connection is closed (its Unix socket too: the host program sees EOF), RSTs not sent yet are
 * dropped, and the guest gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on its event queue (5.10.6.6),
 * now or as soon as it posts an event buffer; its connected sockets are then reset. A restored
 * device does this itself (its state owes the reset, sent once the driver runs it), so this
 * does nothing while that reset is still owed or when there is no connection to end. Takes
 * dev->lock; any thread. True when it owed the guest a new reset. */
bool virtio_vsock_transport_reset(struct virtio_dev *dev);

#endif
