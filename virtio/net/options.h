/* The option string of one virtio-net device, as given to the repeatable `--net` option:
 *
 *   tap=IFNAME[,mac=52:54:00:12:34:56]       create or attach the tap interface IFNAME
 *   tapfd=N[,mac=...]                         use the already-open tap file descriptor N
 *   user[,mac=...][,hostfwd=RULE]...          user-mode networking (libslirp)
 *
 * RULE is QEMU's: [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, e.g. tcp::2222-:22
 * (host port 2222 on all addresses to the guest's port 22). The default guest address is
 * 10.0.2.15. hostfwd may be repeated, up to VIRTIO_NET_MAX_HOSTFWD times.
 *
 * Any of them may add rate limits per direction (Firecracker's rx_rate_limiter and
 * tx_rate_limiter; virtio/core/rate_limiter.h), each at most once:
 *   rx-bw=SIZE:REFILL_MS[:BURST]   bytes of received frames: SIZE per REFILL_MS, BURST once
 *   rx-ops=SIZE:REFILL_MS[:BURST]  received frames
 *   tx-bw=..., tx-ops=...          the same for transmitted frames
 * e.g. tx-bw=1M:1000 sends at most 1 MiB/s (frame bytes without the virtio-net header).
 *
 * A tap may have several queue pairs (virtio 1.2 5.1.6.5.5, VIRTIO_NET_F_MQ; the tap opened
 * queues= times with IFF_MULTI_QUEUE), served by one or more I/O threads:
 *   queues=N                        1..8 queue pairs (default 1); tap= only
 *   io-threads=T                    1..N threads serving them, pair i on thread i mod T
 *                                   (default N: one per pair)
 *   iothread-cpus=LIST              CPUs for those threads, round-robin, as --disk's (0:2-3)
 *
 * Any of them may restrict where the guest may send (virtio/net/egress.h, docs/networking.md):
 *   egress=RULE[;RULE]...           an allowlist; repeatable, up to EGRESS_MAX_RULES rules in all;
 *                                   egress=none allows only what the link needs
 * e.g. egress=10.0.2.2/32:tcp:8000-8080;dns=10.0.2.3. Without egress= everything passes.
 *
 * Any of them may set the MTU the guest is told (VIRTIO_NET_F_MTU's config field, as Firecracker's
 * NetworkInterface mtu): mtu=N, 68..65535; default 1500. The tap's own MTU is the host's to set
 * (Firecracker leaves it too).
 *
 * Any of them may name the NIC: id=NAME (what the API calls its iface_id; 1 to
 * VIRTIO_NET_ID_MAX-1 printable characters, no '/'), kept in snapshots so a client finds its NIC
 * by the same name after a restore.
 *
 * Without mac=, a user-mode device gets QEMU's 52:54:00:12:34:56 and a tap device a random
 * 52:54:00:xx:xx:xx (so several taps on one bridge do not collide). */
#ifndef VIRTIO_NET_OPTIONS_H
#define VIRTIO_NET_OPTIONS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/core/rate_limiter.h"
#include "virtio/net/egress.h"

#define VIRTIO_NET_MAX_HOSTFWD 16
#define VIRTIO_NET_MAX_PAIRS   8
#define VIRTIO_NET_MIN_MTU     68 /* mtu=: Firecracker's range (ETH_MIN_MTU..ETH_MAX_MTU) */
#define VIRTIO_NET_MAX_MTU     65535
#define VIRTIO_NET_ID_MAX                                                                          \
	64 /* id= bytes, NUL included (the API's iface_id limit) */ /* queue pairs of one NIC      \
								       (queues=): 2N+1 <= 17       \
								       queues */

enum virtio_net_kind { VIRTIO_NET_TAP, VIRTIO_NET_TAPFD, VIRTIO_NET_USER };

struct virtio_net_hostfwd {
	bool udp;
	uint32_t host_addr;  /* network byte order; 0 = any address */
	uint16_t host_port;  /* 1..65535 */
	uint32_t guest_addr; /* network byte order; 0 = the default guest address */
	uint16_t guest_port; /* 1..65535 */
};

struct mmds;

struct virtio_net_opts {
	enum virtio_net_kind kind;
	char ifname[IFNAMSIZ]; /* tap= */
	int tapfd;	       /* tapfd= */
	bool has_mac;
	uint8_t mac[6];
	unsigned nhostfwd;
	struct virtio_net_hostfwd hostfwd[VIRTIO_NET_MAX_HOSTFWD];
	struct rate_limiter_cfg rx_rl, tx_rl; /* rx-bw= rx-ops= tx-bw= tx-ops=; zero: unlimited */
	unsigned queues;		      /* 0 (not given) or 1..VIRTIO_NET_MAX_PAIRS */
	unsigned mtu;			      /* mtu=: 0 (not given: 1500) or 68..65535 */
	unsigned io_threads;		      /* 0 (not given: one per pair) or 1..queues */
	struct virtio_cpu_list iothread_cpus; /* n == 0: not given */
	char id[VIRTIO_NET_ID_MAX];	      /* id=; "" when not given */
	struct egress_rules egress;	      /* egress=; off when not given */
	/* MMDS answers on this interface (virtio/net/mmds_filter.h) at mmds_ipv4 (host byte order)
	 * when not NULL. Set by the API's PUT /mmds/config, never parsed. */
	struct mmds *mmds;
	uint32_t mmds_ipv4;
};

/* Parses `spec` (the text after "--net ") into *opts (zeroed first). Returns 0, or -EINVAL with
 * the reason in err[0..errlen) (unknown key, bad MAC, bad or repeated value, hostfwd without
 * user, queues > 1 without tap=, io-threads > queues, name longer than IFNAMSIZ-1), or -ENOMEM.
 * Logs nothing (base/errors.h). */
int virtio_net_opts_parse(const char *spec, struct virtio_net_opts *opts, char *err, size_t errlen);

struct opt_items;
/* Whether `spec` starts as an option string must: with its kind (tap=, tapfd= or user; a record's
 * items may hold it anywhere). 0, or -EINVAL with virtio_net_opts_parse()'s message in err. */
int virtio_net_opts_check_kind(const char *spec, char *err, size_t errlen);
/* The option as items (base/options.h): its kind (tap=IFNAME, tapfd=N or the flag user) among
 * them, anywhere, and the keys of the string form. The same checks and messages as
 * virtio_net_opts_parse(); *opts is zeroed (tapfd -1) first. */
int virtio_net_opts_from_items(const struct opt_items *items, struct virtio_net_opts *opts,
			       char *err, size_t errlen);
/* The options as items, the kind first, then every field given (what from_items() reads back
 * to the same options; mmds is not an option and is left out; a tap a migration handed over as
 * an fd is its tap=NAME again). 0 or -ENOMEM. */
int virtio_net_opts_to_items(const struct virtio_net_opts *o, struct opt_items *out);

#endif
