/* PATCH /network-interfaces/{id} (Firecracker's PartialNetworkInterface {"iface_id",
 * "rx_rate_limiter"?, "tx_rate_limiter"?} and our "egress"?): the body checked against the
 * NIC's document, then on the running VM a new egress policy (the rules replace the NIC's whole
 * policy; the body's syntax is PUT's) and new rx / tx limits (the directions and buckets the
 * body does not name stay). A hot-added NIC takes both too. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_patch.h"

static const struct api_json_field fields[] = {{"iface_id", API_JSON_STRING, true},
					       {"rx_rate_limiter", API_JSON_OBJECT, false},
					       {"tx_rate_limiter", API_JSON_OBJECT, false},
					       {"egress", API_JSON_ARRAY, false},
					       {NULL, 0, false}};

/* The body's rx and tx patches into p->rl: 0 or -EINVAL with the reason in err. */
static int limits(const json_t *body, struct device_patch *p, char *err, size_t errlen)
{
	int r = api_rate_limiter_parse_patch(json_object_get(body, "rx_rate_limiter"),
					     "rx_rate_limiter", &p->rl[0], err, errlen);
	if (!r)
		r = api_rate_limiter_parse_patch(json_object_get(body, "tx_rate_limiter"),
						 "tx_rate_limiter", &p->rl[1], err, errlen);
	return r;
}

static int check(const json_t *doc, const char *id, const json_t *body, struct device_patch *p,
		 char *err, size_t errlen)
{
	int r = api_body_check_named(body, id, "iface_id", fields, err, errlen);
	if (!r)
		r = limits(body, p, err, errlen);
	if (r)
		return r;
	if (!doc) {
		snprintf(err, errlen, "no network interface with id `%s`", id);
		return -ENOENT;
	}
	if (api_body_has(doc, "socket")) {
		snprintf(
		    err, errlen,
		    "network interface `%s` is a vhost-user NIC (socket): its frames do not "
		    "pass through the VMM, so it has no rate limiters or egress policy to change",
		    id);
		return -EINVAL;
	}
	return 0;
}

/* The body's "egress" (null: no policy) as a step, when it has one: 0, or -EINVAL with the
 * reason in err (a rule that does not parse). *given says whether it has one. */
static int egress_step(const json_t *body, struct device_patch *p, const char *failed, bool *given,
		       char *err, size_t errlen)
{
	const json_t *list = json_object_get(body, "egress");
	const struct egress_rules *rules; /* held by the descriptor (device_api_ext.patch_egress) */

	*given = list != NULL;
	if (dev_net_api_ext.patch_egress(list, &rules, err, errlen))
		return -EINVAL;
	if (*given)
		p->step[p->n++] = (struct device_patch_step){
		    .set = {.member = "egress", .egress = rules},
		    .failed = failed,
		    .unavailable = "the egress policy cannot be changed here"};
	return 0;
}

/* The egress policy first, then the limits. */
static int changes(const char *id, const json_t *body, struct device_patch *p, char *err,
		   size_t errlen)
{
	bool given;

	(void)id;
	if (egress_step(body, p, "cannot replace the egress policy", &given, err, errlen))
		return -EINVAL;
	if (rate_limiter_patch_any(&p->rl[0]) || rate_limiter_patch_any(&p->rl[1]))
		dev_patch_limits_step(p, "rate_limiters", true, "cannot update the rate limiters",
				      "rate limiters cannot be changed here");
	return 0;
}

static void record(json_t *doc, const struct device_live_set *s)
{
	if (!strcmp(s->member, "egress")) {
		dev_net_api_egress_json(doc, s->egress);
		return;
	}
	json_object_del(doc, "tx_rate_limiter"); /* in Firecracker's order: rx, then tx */
	api_rate_limiter_json_set(doc, "rx_rate_limiter", s->rl_now[0]);
	api_rate_limiter_json_set(doc, "tx_rate_limiter", s->rl_now[1]);
}

/* A hot-added NIC's: the egress policy, then the limits when named, or alone (the call then
 * finds whether the id is a hot-added NIC's). */
static int hot_check(const char *id, const json_t *body, struct device_patch *p, char *err,
		     size_t errlen)
{
	const char *failed = "cannot update the rate limiter";
	bool given;

	if (dev_patch_hot_named(body, id, "iface_id", fields, err, errlen) ||
	    limits(body, p, err, errlen))
		return -EINVAL;
	if (json_object_get(body, "egress"))
		failed = "cannot update the network interface";
	if (egress_step(body, p, failed, &given, err, errlen))
		return -EINVAL;
	if (!given || rate_limiter_patch_any(&p->rl[0]) || rate_limiter_patch_any(&p->rl[1]))
		dev_patch_limits_step(p, "rate_limiters", true, failed, NULL);
	return 0;
}

const struct device_patch_hooks dev_net_patch = {
    .check = check,
    .changes = changes,
    .record = record,
    .kept_null = "egress", /* null: no policy; left out: the policy stays */
    .hot_check = hot_check,
};
