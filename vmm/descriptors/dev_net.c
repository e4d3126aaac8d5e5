/* --net: virtio-net NICs over a tap or libslirp (virtio/net/net.h); eth0, eth1, ... in order. */
#include "vmm/descriptors/dev_net.h"

#include <errno.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "virtio/net/net.h"
#include "virtio/net/tap.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/io_poll.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

static const struct dev_net_cfg *nics_of(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_net);
}

int dev_net_count(const struct vm_config *cfg)
{
	const struct dev_net_cfg *c = nics_of(cfg);
	return c ? c->n : 0;
}

const struct virtio_net_opts *dev_net_opts(const struct vm_config *cfg, int i)
{
	const struct dev_net_cfg *c = nics_of(cfg);
	return c && i >= 0 && i < c->n ? &c->nic[i].opts : NULL;
}

struct virtio_net_opts *dev_net_opts_edit(struct vm_config *cfg, int i)
{
	struct dev_net_cfg *c = nics_of(cfg) ? device_cfg(cfg, &device_net) : NULL;
	return c && i >= 0 && i < c->n ? &c->nic[i].opts : NULL;
}

int dev_net_find_id(const struct vm_config *cfg, const char *id)
{
	for (int i = 0; id[0] && i < dev_net_count(cfg); i++)
		if (!strcmp(dev_net_opts(cfg, i)->id, id))
			return i;
	return -1;
}

void dev_net_api_id(const struct vm_config *cfg, int i, char *id, size_t len)
{
	const struct virtio_net_opts *o = dev_net_opts(cfg, i);
	if (o && o->id[0])
		snprintf(id, len, "%s", o->id);
	else
		snprintf(id, len, "net%d", i);
}

void dev_net_forget(struct vm_config *cfg, const char *id)
{
	struct dev_net_cfg *c = nics_of(cfg) ? device_cfg(cfg, &device_net) : NULL;
	for (int i = 0; c && id[0] && i < c->n; i++) {
		if (strcmp(c->nic[i].opts.id, id))
			continue;
		memmove(&c->nic[i], &c->nic[i + 1], (size_t)(c->n - i - 1) * sizeof(c->nic[0]));
		memset(&c->nic[--c->n], 0, sizeof(c->nic[0]));
		return;
	}
}

/* A NIC's items into *o and its hotplug slot (0: a boot NIC), with --net's checks. */
static int nic_from_items(const struct vm_config *cfg, const struct opt_items *items,
			  struct virtio_net_opts *o, int *slot, char *err, size_t errlen)
{
	struct opt_items rest;
	int r = opt_items_copy(&rest, items);
	if (!r)
		r = dev_hotplug_slot_take(&rest, cfg->transport, false, slot, err, errlen);
	if (!r)
		r = virtio_net_opts_from_items(&rest, o, err, errlen);
	opt_items_free(&rest);
	if (!r && *slot && (o->kind != VIRTIO_NET_TAP || !o->id[0]))
		r = fail_rc(-EINVAL, err, errlen,
			    "hotplug-slot: a hot-added NIC has a tap= and an id=");
	return r;
}

/* One NIC from its items: the checks --net makes, then the NIC appended. */
static int add_net(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	const struct dev_net_cfg *have = nics_of(cfg);
	if (have && have->n == VM_MAX_NICS) {
		snprintf(err, errlen, "at most %d NICs", VM_MAX_NICS);
		return -E2BIG;
	}
	struct virtio_net_opts *o = malloc(sizeof(*o)); /* egress rules: kilobytes */
	int slot = 0, r = o ? nic_from_items(cfg, items, o, &slot, err, errlen) : -ENOMEM;
	struct dev_net_cfg *c = r ? NULL : device_cfg(cfg, &device_net);
	if (!r && !c)
		r = -ENOMEM;
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!r) {
		c->nic[c->n].opts = *o;
		c->nic[c->n].hotplug_slot = slot;
		c->nic[c->n++].transport = cfg->transport;
	}
	free(o);
	return r;
}

/* --net ARG: its kind first (after any hotplug-slot=, as before), as the option string has it;
 * then its record. */
static int parse_net(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *head = arg;
	while (!strncmp(head, DEV_HOTPLUG_SLOT_KEY, strlen(DEV_HOTPLUG_SLOT_KEY))) {
		const char *end = opts_item_end(head); /* of the hotplug-slot item */
		head = *end ? end + 1 : end;
	}
	int r = virtio_net_opts_check_kind(head, err, errlen);
	return r ? r : device_record_parse(&device_net, cfg, arg, err, errlen);
}

static int net_count(const struct vm_config *cfg)
{
	return dev_net_count(cfg);
}

/* NIC i's items: its options and its hotplug slot. */
static int net_items(const struct vm_config *cfg, int i, struct opt_items *out,
		     enum virtio_transport *t)
{
	const struct dev_net_cfg *c = nics_of(cfg);
	*t = c->nic[i].transport;
	int r = virtio_net_opts_to_items(&c->nic[i].opts, out);
	return r ? r : dev_hotplug_slot_put(out, c->nic[i].hotplug_slot);
}

/* io-threads not given: one I/O thread per queue pair when the host has a CPU to spare for each
 * beside the vCPUs, else as many threads as it has CPUs to spare (at least one). Threads beyond
 * that only take turns on the same CPUs: each wakes for a frame or two and the driver, finding
 * its queue unwatched, kicks (measured on 2 CPUs: docs/benchmarks.md). iothread-cpus= places
 * the threads explicitly: then one per pair, as asked. */
static unsigned default_io_threads(const struct virtio_net_opts *o, unsigned vcpus)
{
	unsigned pairs = o->queues ? o->queues : 1, cpus = host_usable_cpus(), spare;

	if (o->io_threads || o->iothread_cpus.n || pairs == 1)
		return o->io_threads;
	if (cpus == 0)
		return pairs;
	spare = cpus > vcpus ? cpus - vcpus : 1;
	return spare < pairs ? spare : pairs;
}

/* The NIC's tap opened as create() will (one queue of it) and closed again, or its tapfd=
 * asked what it is: a missing tap, one we may not create, or a stray fd is said before KVM. */
static int check_nic(const struct virtio_net_opts *o)
{
	struct ifreq ifr = {0};
	int err = 0;

	switch (o->kind) {
	case VIRTIO_NET_TAP:
		return net_tap_check(o->ifname, o->queues > 1);
	case VIRTIO_NET_TAPFD:
		if (ioctl(o->tapfd, TUNGETIFF, &ifr) < 0) {
			log_error("virtio-net: tapfd=%d is not an open tap (TUNGETIFF: %s)",
				  o->tapfd, strerror(errno));
			return -ENODEV;
		}
		return 0;
	case VIRTIO_NET_USER:
		return 0;
	}
	return err;
}

static int check_nics(const struct vm_config *cfg)
{
	for (int i = 0; i < dev_net_count(cfg); i++) {
		int err = check_nic(dev_net_opts(cfg, i));
		if (err)
			return err;
	}
	return 0;
}

/* What create_nics() made, kept with the VM (device_state()). */
struct nic_state {
	struct virtio_dev *dev[VM_MAX_NICS]; /* owned by their transports */
	bool took_tapfd[VM_MAX_NICS];	     /* its tapfd= is the device's (closed with it) */
};

struct virtio_dev *dev_net_device(struct vm *vm, int i)
{
	struct nic_state *s = device_state_find(vm, &device_net);
	const struct dev_net_cfg *c = nics_of(vm->cfg);
	if (c && i >= 0 && i < c->n && c->nic[i].hotplug_slot) /* hot-added: hotplug.c has it */
		return vm_hotplug_device(vm, c->nic[i].opts.id, dev_net_hotplug.kind);
	return s && i >= 0 && i < VM_MAX_NICS ? s->dev[i] : NULL;
}

static int create_nic(struct vm *vm, struct nic_state *s, const struct dev_net_cfg *c, int i)
{
	struct virtio_dev *dev = NULL;
	struct virtio_net_opts o = c->nic[i].opts;

	o.io_threads = default_io_threads(&o, vm->cfg->ncpus);
	int err = virtio_net_create(&dev, &o);
	if (err)
		return err;
	s->took_tapfd[i] = o.kind == VIRTIO_NET_TAPFD; /* even if the placing fails: freed then */
	if (c->nic[i].hotplug_slot) { /* placed with the hotplug slots (vm_hotplug_setup()) */
		err = virtio_dev_init(dev, &vm->mem);
		if (err) {
			virtio_dev_destroy(dev);
			vm_virtio_dev_free(dev);
			return err;
		}
		return vm_hotplug_boot_device(vm, o.id, dev_net_hotplug.kind, dev,
					      c->nic[i].hotplug_slot);
	}
	err = vm_virtio_init_and_place(vm, dev, c->nic[i].transport);
	s->dev[i] = err ? NULL : dev;
	if (!err && c->nic[i].transport == TRANSPORT_PCI) {
		char id[VIRTIO_NET_ID_MAX];
		dev_net_api_id(vm->cfg, i, id, sizeof(id));
		vm_hotplug_boot_removable(vm, id, dev_net_hotplug.kind, dev); /* docs/hotplug.md */
	}
	return err;
}

int dev_net_pin(struct vm_config *cfg, struct vm *vm, int i, int slot)
{
	struct dev_net_cfg *c = nics_of(cfg) ? device_cfg(cfg, &device_net) : NULL;
	struct nic_state *s = device_state_find(vm, &device_net);
	if (!c || i < 0 || i >= c->n || slot < 1 || slot > 31)
		return -EINVAL;
	if (!c->nic[i].opts.id[0])
		dev_net_api_id(cfg, i, c->nic[i].opts.id, sizeof(c->nic[i].opts.id));
	c->nic[i].hotplug_slot = slot;
	if (s) { /* found through the hotplug slots from now on */
		s->dev[i] = NULL;
		s->took_tapfd[i] = false;
	}
	return 0;
}

bool dev_net_took_tapfd(struct vm *vm, int i)
{
	struct nic_state *s = device_state_find(vm, &device_net);
	return s && i >= 0 && i < VM_MAX_NICS && s->took_tapfd[i];
}

static int create_nics(struct vm *vm)
{
	const struct dev_net_cfg *c = nics_of(vm->cfg);
	if (!c || !c->n)
		return 0;
	struct nic_state *s = device_state(vm, &device_net);
	if (!s) {
		log_error("net: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < c->n; i++) {
		int err = create_nic(vm, s, c, i);
		if (err)
			return err;
	}
	return 0;
}

/* Each NIC's id among the NICs, and its tap (a host interface a restore checks; user
 * networking and an fd given to this process name none). */
static int claim_nic(const struct virtio_net_opts *o, int i, device_claim_fn fn, void *opaque)
{
	char id[VIRTIO_NET_ID_MAX + 16];
	if (o->id[0])
		snprintf(id, sizeof(id), "%s", o->id);
	else
		snprintf(id, sizeof(id), "net%d", i);
	struct device_claim nic = {.kind = DEVICE_CLAIM_ID,
				   .option = "net",
				   .value = o->id,
				   .what = "a NIC",
				   .space = "iface"};
	struct device_claim tap = {.kind = DEVICE_CLAIM_PATH,
				   .option = "net",
				   .value = o->ifname,
				   .what = "tap",
				   .id = id,
				   .tap = true,
				   .hint = "give the NIC a tap: --net tap=NAME, in NIC order (API: "
					   "network_overrides)"};
	int r = fn(&nic, opaque);
	return !r && o->kind == VIRTIO_NET_TAP ? fn(&tap, opaque) : r;
}

static int claims_nics(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	int r = 0;
	for (int i = 0; !r && i < dev_net_count(cfg); i++)
		r = claim_nic(dev_net_opts(cfg, i), i, fn, opaque);
	return r;
}

static const struct device_option net_options[] = {
    {"net", required_argument,
     "      --net tap=IFNAME[,mac=MAC][,queues=N][,io-threads=T][,iothread-cpus=LIST] |\n"
     "            tapfd=N[,mac=MAC] |\n"
     "            user[,mac=MAC][,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...\n"
     "                        a virtio-net NIC; repeatable (up to 4):\n"
     "                          tap=IFNAME   create or attach a tap (offloads negotiated)\n"
     "                          queues=N     1-8 queue pairs (multiqueue tap); tap= only\n"
     "                          io-threads=T I/O threads serving the pairs (1-N, pair i on\n"
     "                                       thread i mod T); default one per pair, fewer\n"
     "                                       when the host has fewer CPUs beside the vCPUs\n"
     "                          iothread-cpus=LIST  CPUs of those threads, round-robin,\n"
     "                                       ':'-separated CPUs or ranges (0:2-3); with it\n"
     "                                       the default is one thread per pair\n"
     "                          mtu=N        the MTU the guest is told (68-65535,\n"
     "                                       VIRTIO_NET_F_MTU); default 1500\n"
     "                          tapfd=N      an already-open tap fd\n"
     "                          user         user-mode networking (libslirp): DHCP, DNS,\n"
     "                                       NAT, port forwards; guest 10.0.2.15\n"
     "                          rx-bw=SIZE:REFILL_MS[:BURST]  rate limit of received frame\n"
     "                                       bytes (token bucket), BURST once more\n"
     "                          rx-ops=..., tx-bw=..., tx-ops=...  frames, and the\n"
     "                                       transmit direction\n"
     "                          egress=RULE[;RULE]...  only these destinations (repeatable):\n"
     "                                       NET[/N][:tcp|udp|icmp[:PORT[-PORT]]],\n"
     "                                       dns=ADDR, serve=tcp|udp:PORTS, none\n"
     "                                       (docs/networking.md); default all\n"
     "                          id=NAME      its name in the API (iface_id), kept in\n"
     "                                       snapshots (default net0, net1, ...)\n"
     "                          hotplug-slot=N  (tap=, id=) in PCI hotplug slot N,\n"
     "                                       removable (a snapshot's hot-added NIC)\n",
     parse_net},
    {NULL, 0, NULL, NULL},
};

/* A NIC's tap: a host interface's name, not a path. */
static const struct device_path_field net_path_fields[] = {
    {"tap", DEVICE_PATH_KIND_TAP, "tap", NULL, NULL, 0,
     "give the NIC a tap: --net tap=NAME, in NIC order (API: network_overrides)"},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths net_paths = {"id", "net", net_path_fields};

const struct device_desc device_net = {.name = "net",
				       .options = net_options,
				       .check = check_nics,
				       .create = create_nics,
				       .cfg_size = sizeof(struct dev_net_cfg),
				       .state_size = sizeof(struct nic_state),
				       .claims = claims_nics,
				       .api = &dev_net_api,
				       .record_count = net_count,
				       .record_items = net_items,
				       .hotplug = &dev_net_hotplug,
				       .record_add = add_net,
				       .paths = &net_paths,
				       .save = &dev_net_save};
