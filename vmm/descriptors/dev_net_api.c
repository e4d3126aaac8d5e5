/* PUT /network-interfaces/{id} and the config file's "network-interfaces": Firecracker's network
 * interface bodies as hooks of the --net descriptor (struct device_api). A NIC on a tap (or,
 * host_dev_name "user", libslirp):
 *   {"iface_id", "host_dev_name", "guest_mac"?, "mtu"?, "rx_rate_limiter"?, "tx_rate_limiter"?,
 *    "egress"?}
 * ("egress", our extension: an array of --net egress= rules, virtio/net/egress.h; ["none"] allows
 * only what the link needs)
 * or a vhost-user NIC with Cloud Hypervisor's fields:
 *   {"iface_id", "socket", "vhost_user"?: true, "guest_mac"?, "num_queues"?, "queue_size"?}
 * (--net vhost-user=PATH), where mtu and the rate limiters are refused (the frames do not pass
 * through the VMM), and so is an id that mmds-config names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mac.h"
#include "virtio/net/egress.h"
#include "virtio/net/options.h"
#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/mmds/mmds_config.h"

#define HOST_DEV_MAX 16 /* IFNAMSIZ */

static int check_mac(const json_t *body, char *err, size_t errlen)
{
	const char *mac = api_json_str(body, "guest_mac", NULL);
	uint8_t bytes[MAC_LEN];

	if (mac && mac_parse(mac, bytes, NULL, 0)) {
		snprintf(err, errlen, "guest_mac `%s` is not a unicast MAC address", mac);
		return -EINVAL;
	}
	return 0;
}

/* A NIC on a tap: its host_dev_name, its mtu. */
static int check_tap_nic(const json_t *body, char *err, size_t errlen)
{
	const char *dev = api_json_str(body, "host_dev_name", "");

	if (!dev[0] || strlen(dev) >= HOST_DEV_MAX || strchr(dev, ',') || strchr(dev, '/')) {
		snprintf(err, errlen,
			 "host_dev_name must be a tap name of 1 to 15 characters (or \"user\": "
			 "user-mode networking)");
		return -EINVAL;
	}
	/* Firecracker's range (its NetworkInterface mtu): advertised with VIRTIO_NET_F_MTU */
	uint64_t mtu = api_json_uint(body, "mtu", API_NET_MTU);
	if (json_object_get(body, "mtu") &&
	    (mtu < VIRTIO_NET_MIN_MTU || mtu > VIRTIO_NET_MAX_MTU)) {
		snprintf(err, errlen, "mtu %llu: from %d to %d", (unsigned long long)mtu,
			 VIRTIO_NET_MIN_MTU, VIRTIO_NET_MAX_MTU);
		return -EINVAL;
	}
	return api_body_refuse_queues(body, "host_dev_name", err, errlen);
}

/* A vhost-user NIC's frames go between the guest and the back-end without passing through the
 * VMM: no rate limiter can count them and MMDS cannot answer on it; its MTU is the back-end's. */
static int check_vu_nic(const struct device_api_ctx *ctx, const char *id, const json_t *body,
			char *err, size_t errlen)
{
	static const char *const refused[][2] = {
	    {"mtu", "a vhost-user NIC's MTU is its back-end's (VIRTIO_NET_F_MTU)"},
	    {"rx_rate_limiter", "the NIC's frames do not pass through the VMM"},
	    {"tx_rate_limiter", "the NIC's frames do not pass through the VMM"},
	    {"egress", "the NIC's frames do not pass through the VMM"},
	};
	int r = api_body_refuse_fields(body, refused, sizeof(refused) / sizeof(refused[0]), err,
				       errlen);
	if (!r && ctx->mmds && mmds_config_has_iface(ctx->mmds, id)) {
		snprintf(
		    err, errlen,
		    "mmds-config names `%s`: MMDS cannot answer on a vhost-user NIC (its frames "
		    "do not pass through the VMM)",
		    id);
		r = -EINVAL;
	}
	return r ? r : api_body_check_socket(body, err, errlen);
}

int dev_net_api_parse_egress(const json_t *list, struct egress_rules *rules, char *err,
			     size_t errlen)
{
	const json_t *item;
	size_t i;

	memset(rules, 0, sizeof(*rules));
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		snprintf(err, errlen, "egress: expected an array of rules (or null: no policy)");
		return -EINVAL;
	}
	json_array_foreach(list, i, item)
	{
		const char *text = json_string_value(item);
		char why[400];
		if (!text || egress_rules_add(rules, text, why, sizeof(why))) {
			snprintf(err, errlen, "egress[%zu]: %s", i,
				 text ? why : "expected a rule as a string");
			memset(rules, 0, sizeof(*rules));
			return -EINVAL;
		}
	}
	rules->on = true; /* [] as ["none"] */
	return 0;
}

/* "egress": an array of rule strings (virtio/net/egress.h) into *rules (off when absent). */
static int parse_egress(const json_t *body, struct egress_rules *rules, char *err, size_t errlen)
{
	return dev_net_api_parse_egress(json_object_get(body, "egress"), rules, err, errlen);
}

void dev_net_api_egress_json(json_t *j, const struct egress_rules *rules)
{
	json_t *list = rules->on ? json_array() : NULL;
	char one[EGRESS_RULE_TEXT];

	json_object_del(j, "egress");
	if (list && !rules->n)
		json_array_append_new(list, json_string("none"));
	for (unsigned i = 0; list && i < rules->n; i++) {
		egress_rule_format(&rules->rule[i], one, sizeof(one));
		json_array_append_new(list, json_string(one));
	}
	if (list)
		json_object_set_new(j, "egress", list);
}

/* One rule of a document's "egress" (strings, checked at PUT). */
static const char *rule_text(const json_t *item)
{
	const char *t = json_string_value(item);
	return t ? t : "";
}

/* egress=R;R... from the document's own (canonical) rules, when it has any. 0 or -ENOMEM. */
static int egress_item(const json_t *doc, struct opt_items *out)
{
	const json_t *list = json_object_get(doc, "egress"), *item;
	size_t i, len = 1;
	json_array_foreach(list, i, item)
	{
		len += strlen(rule_text(item)) + 1;
	}
	if (!json_array_size(list))
		return 0;
	char *rules = calloc(1, len);
	if (!rules)
		return -ENOMEM;
	json_array_foreach(list, i, item)
	{
		if (i)
			strcat(rules, ";");
		strcat(rules, rule_text(item));
	}
	int r = opt_items_add(out, "egress", rules);
	free(rules);
	return r;
}

/* A new NIC when the model has as many as the command line takes. */
static int check_room(const json_t *docs, const char *id, char *err, size_t errlen)
{
	size_t i;
	json_t *doc;

	json_array_foreach(docs, i, doc)
	{
		if (!strcmp(api_json_str(doc, "iface_id", ""), id))
			return 0;
	}
	if (json_array_size(docs) < VM_MAX_NICS)
		return 0;
	snprintf(err, errlen, "at most %d network interfaces", VM_MAX_NICS);
	return -EINVAL;
}

/* The document of a NIC on a tap (or libslirp): Firecracker's NetworkInterface, with the MTU
 * when one was given (0: none; the device then advertises 1500). */
static json_t *nic_doc(const char *id, const char *host_dev, const char *mac, unsigned mtu,
		       const struct rate_limiter_cfg *rx, const struct rate_limiter_cfg *tx,
		       const struct egress_rules *egress)
{
	json_t *j = json_pack("{s:s, s:s}", "iface_id", id, "host_dev_name", host_dev);
	json_t *rxj = api_rate_limiter_json(rx), *txj = api_rate_limiter_json(tx);
	if (j && mac[0])
		json_object_set_new(j, "guest_mac", json_string(mac));
	if (j && mtu)
		json_object_set_new(j, "mtu", json_integer(mtu));
	if (j && rxj)
		json_object_set(j, "rx_rate_limiter", rxj);
	if (j && txj)
		json_object_set(j, "tx_rate_limiter", txj);
	if (j)
		dev_net_api_egress_json(j, egress);
	json_decref(rxj);
	json_decref(txj);
	return j;
}

static json_t *vu_nic_doc(const char *id, const char *socket, const char *mac, int64_t queues,
			  int64_t size)
{
	json_t *j = json_pack("{s:s, s:s}", "iface_id", id, "socket", socket);
	if (j && mac[0])
		json_object_set_new(j, "guest_mac", json_string(mac));
	api_body_queues_json(j, queues, size);
	return j;
}

static int check_nic(const json_t *body, const char *id, const struct device_api_ctx *ctx,
		     json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"host_dev_name", API_JSON_STRING, false},
						  {"guest_mac", API_JSON_STRING, false},
						  {"mtu", API_JSON_UINT, false},
						  {"rx_rate_limiter", API_JSON_OBJECT, false},
						  {"tx_rate_limiter", API_JSON_OBJECT, false},
						  {"socket", API_JSON_STRING, false},
						  {"vhost_user", API_JSON_BOOL, false},
						  {"num_queues", API_JSON_UINT, false},
						  {"queue_size", API_JSON_UINT, false},
						  {"egress", API_JSON_ARRAY, false},
						  {NULL, 0, false}};
	struct rate_limiter_cfg rx, tx;
	static _Thread_local struct egress_rules egress; /* 6 KiB: not on the API thread's stack */
	bool vu = api_body_has(body, "socket");
	int r = api_body_check_named(body, id, "iface_id", f, err, errlen);
	if (!r)
		r = api_body_check_backend(body, "host_dev_name", "a tap", err, errlen);
	if (!r)
		r = vu ? check_vu_nic(ctx, id, body, err, errlen)
		       : check_tap_nic(body, err, errlen);
	if (!r)
		r = check_mac(body, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rx_rate_limiter"),
					   "rx_rate_limiter", &rx, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "tx_rate_limiter"),
					   "tx_rate_limiter", &tx, err, errlen);
	if (!r)
		r = parse_egress(body, &egress, err, errlen);
	if (!r)
		r = check_room(ctx->docs, id, err, errlen);
	if (r)
		return r;
	const char *mac = api_json_str(body, "guest_mac", "");
	*doc = vu ? vu_nic_doc(id, api_json_str(body, "socket", ""), mac,
			       api_body_queues(body, "num_queues"),
			       api_body_queues(body, "queue_size"))
		  : nic_doc(id, api_json_str(body, "host_dev_name", ""), mac,
			    (unsigned)api_json_uint(body, "mtu", 0), &rx, &tx, &egress);
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int nic_items(const json_t *doc, struct opt_items *out, const struct device_desc **owner)
{
	const char *id = api_json_str(doc, "iface_id", "");
	const char *mac = api_json_str(doc, "guest_mac", "");
	const char *dev = api_json_str(doc, "host_dev_name", "");
	struct rate_limiter_cfg rx, tx;

	if (api_body_has(doc, "socket")) {
		*owner = &device_vu_net;
		return api_body_vu_items(out, doc, mac, id);
	}
	if (api_rate_limiter_parse(json_object_get(doc, "rx_rate_limiter"), "rx_rate_limiter", &rx,
				   NULL, 0) ||
	    api_rate_limiter_parse(json_object_get(doc, "tx_rate_limiter"), "tx_rate_limiter", &tx,
				   NULL, 0))
		rx = tx = (struct rate_limiter_cfg){0}; /* cannot happen: the document's own */
	/* host_dev_name "user" is user-mode networking (`--net user`, as GET /vm/config shows a
	 * libslirp NIC); any other name is a tap's. */
	int r = strcmp(dev, API_NIC_USER) ? opt_items_add(out, "tap", dev)
					  : opt_items_add(out, "user", NULL);
	if (!r && mac[0])
		r = opt_items_add(out, "mac", mac);
	if (!r)
		r = opt_items_add(out, "id", id);
	if (!r && api_body_has(doc, "mtu"))
		r = opt_items_addf(out, "mtu", "%llu",
				   (unsigned long long)api_json_uint(doc, "mtu", 0));
	if (!r)
		r = api_rate_limiter_items(out, "rx-", &rx);
	if (!r)
		r = api_rate_limiter_items(out, "tx-", &tx);
	return r ? r : egress_item(doc, out);
}

static void mac_string(char out[18], const uint8_t mac[6])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* An in-process NIC of a configuration: its tap, tapfd= or libslirp. A tap that a migration
 * handed over by fd keeps its name (vmm/migration/vm_migrate_recv.c). */
static json_t *describe_nic(const char *id, const struct virtio_net_opts *o)
{
	char host_dev[HOST_DEV_MAX], mac[18] = "";

	if (o->kind == VIRTIO_NET_TAP || (o->kind == VIRTIO_NET_TAPFD && o->ifname[0]))
		snprintf(host_dev, sizeof(host_dev), "%s", o->ifname);
	else if (o->kind == VIRTIO_NET_TAPFD)
		snprintf(host_dev, sizeof(host_dev), "fd:%d", o->tapfd);
	else
		snprintf(host_dev, sizeof(host_dev), API_NIC_USER);
	if (o->has_mac)
		mac_string(mac, o->mac);
	return nic_doc(id, host_dev, mac, o->mtu, &o->rx_rl, &o->tx_rl, &o->egress);
}

/* The command line's (or a snapshot's) NICs, named by their id= ("net0", ... without one), the
 * vhost-user ones after the others as the guest sees them, with their socket. */
static json_t *describe_nics(const struct vm_config *cfg)
{
	const struct dev_vu_cfg *vu = device_cfg_find(cfg, &device_vu_net);
	int nnics = dev_net_count(cfg), n = nnics + (vu ? vu->n : 0);
	json_t *list = n ? json_array() : NULL;
	char id[VIRTIO_NET_ID_MAX + 8], mac[18];

	for (int i = 0; list && i < n && i < VM_MAX_NICS; i++) {
		const char *given =
		    i < nnics ? dev_net_opts(cfg, i)->id : vu->dev[i - nnics].opts.id;
		json_t *doc;
		if (given[0])
			snprintf(id, sizeof(id), "%s", given);
		else
			snprintf(id, sizeof(id), "net%d", i);
		if (i < nnics) {
			doc = describe_nic(id, dev_net_opts(cfg, i));
		} else {
			const struct vu_opts *o = &vu->dev[i - nnics].opts;
			mac[0] = '\0';
			if (o->has_mac)
				mac_string(mac, o->mac);
			doc = vu_nic_doc(id, o->socket, mac, o->num_queues, o->queue_size);
		}
		if (json_array_append_new(list, doc)) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

const struct device_api dev_net_api = {
    .section = "network-interfaces",
    .route = "/network-interfaces/",
    .id_field = "iface_id",
    .core = true,
    .check = check_nic,
    .to_items = nic_items,
    .describe = describe_nics,
    .live = &dev_net_live,
    .ext = &dev_net_api_ext,
};
