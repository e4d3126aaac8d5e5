/* PUT /mmds/config. See mmds_config.h. */
#include "vmm/mmds/mmds_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void mmds_config_default(struct mmds_config *c)
{
	*c = (struct mmds_config){.version = MMDS_V1, .ipv4 = MMDS_DEFAULT_IPV4};
}

/* Firecracker's is_link_local_valid(): 169.254.0.0/16 without 169.254.0.x and 169.254.255.x. */
static bool mmds_ipv4_link_local(uint32_t addr)
{
	uint32_t third = (addr >> 8) & 0xff;
	return (addr >> 16) == 0xa9fe && third != 0 && third != 255;
}

bool mmds_config_has_iface(const struct mmds_config *c, const char *id)
{
	for (int i = 0; i < c->nifaces; i++)
		if (!strcmp(c->ifaces[i], id))
			return true;
	return false;
}

static int fail(char *err, size_t errlen, const char *msg, const char *arg)
{
	snprintf(err, errlen, msg, arg);
	return -EINVAL;
}

static int parse_version(const json_t *v, struct mmds_config *c, char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	if (!v)
		return 0;
	if (s && !strcmp(s, "V1"))
		c->version = MMDS_V1;
	else if (s && !strcmp(s, "V2"))
		c->version = MMDS_V2;
	else
		return fail(err, errlen, "version: %s, want \"V1\" or \"V2\"",
			    s ? s : "not a string");
	return 0;
}

static int parse_ipv4(const json_t *v, struct mmds_config *c, char *err, size_t errlen)
{
	struct in_addr a;
	const char *s = json_string_value(v);
	if (!v)
		return 0;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return fail(err, errlen, "ipv4_address: not an IPv4 address%s", "");
	c->ipv4 = ntohl(a.s_addr);
	if (!mmds_ipv4_link_local(c->ipv4))
		return fail(err, errlen, "%s", MMDS_MSG_BAD_IPV4);
	return 0;
}

static int parse_ifaces(const json_t *v, struct mmds_config *c, char *err, size_t errlen)
{
	size_t i;
	json_t *id;

	if (!json_is_array(v))
		return fail(err, errlen, "network_interfaces: %s",
			    "a list of interface ids is required");
	if (!json_array_size(v))
		return fail(err, errlen, "%s", MMDS_MSG_NO_IFACES);
	if (json_array_size(v) > MMDS_MAX_IFACES)
		return fail(err, errlen, "network_interfaces: more interfaces than NICs%s", "");
	json_array_foreach(v, i, id)
	{
		const char *s = json_string_value(id);
		if (!s || !s[0] || strlen(s) >= MMDS_IFACE_ID_MAX)
			return fail(err, errlen, "network_interfaces: %s",
				    "ids are non-empty strings");
		if (mmds_config_has_iface(c, s))
			continue;
		snprintf(c->ifaces[c->nifaces++], MMDS_IFACE_ID_MAX, "%s", s);
	}
	return 0;
}

int mmds_config_parse(const json_t *body, struct mmds_config *c, char *err, size_t errlen)
{
	static const char *const known[] = {"version", "network_interfaces", "ipv4_address",
					    "imds_compat"};
	const char *key;
	json_t *val;

	if (!json_is_object(body))
		return fail(err, errlen, "the request body must be a JSON object%s", "");
	json_object_foreach((json_t *)body, key, val)
	{
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key))
			k++;
		if (k == sizeof(known) / sizeof(known[0]))
			return fail(err, errlen, "unknown field `%s`", key);
	}
	mmds_config_default(c);
	const json_t *compat = json_object_get(body, "imds_compat");
	if (compat && !json_is_boolean(compat))
		return fail(err, errlen, "imds_compat: %s", "not a boolean");
	c->imds_compat = json_is_true(compat);
	int e = parse_version(json_object_get(body, "version"), c, err, errlen);
	if (!e)
		e = parse_ipv4(json_object_get(body, "ipv4_address"), c, err, errlen);
	if (!e)
		e = parse_ifaces(json_object_get(body, "network_interfaces"), c, err, errlen);
	return e;
}

json_t *mmds_config_json(const struct mmds_config *c)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = htonl(c->ipv4)};
	json_t *ifaces = json_array();
	for (int i = 0; ifaces && i < c->nifaces; i++)
		json_array_append_new(ifaces, json_string(c->ifaces[i]));
	if (!ifaces || !inet_ntop(AF_INET, &a, ip, sizeof(ip))) {
		json_decref(ifaces);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:s, s:b}", "version", c->version == MMDS_V2 ? "V2" : "V1",
			 "network_interfaces", ifaces, "ipv4_address", ip, "imds_compat",
			 c->imds_compat);
}
