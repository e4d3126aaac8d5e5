/* PUT /mmds/config: which MMDS version the guest speaks, on which network interfaces it is
 * reachable, at which IPv4 address, and whether IMDS text is always answered (Firecracker's
 * MmdsConfig, src/vmm/src/vmm_config/mmds.rs). */
#ifndef VMM_MMDS_CONFIG_H
#define VMM_MMDS_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMDS_MAX_IFACES	  8
#define MMDS_IFACE_ID_MAX 64	      /* bytes of an iface_id, NUL included */
#define MMDS_DEFAULT_IPV4 0xa9fea9feu /* 169.254.169.254 */

/* Firecracker's messages for a refused configuration. */
#define MMDS_MSG_NO_IFACES                                                                         \
	"The list of network interface IDs that allow forwarding MMDS requests is empty."
#define MMDS_MSG_BAD_IPV4 "The MMDS IPv4 address is not link local."
#define MMDS_MSG_BAD_IFACE                                                                         \
	"The list of network interface IDs provided contains at least one ID that does not "       \
	"correspond to any existing network interface."

enum mmds_version { MMDS_V1, MMDS_V2 };

struct mmds_config {
	enum mmds_version version;
	uint32_t ipv4; /* host byte order */
	bool imds_compat;
	int nifaces;
	char ifaces[MMDS_MAX_IFACES][MMDS_IFACE_ID_MAX];
};

/* The defaults: V1, 169.254.169.254, no interface, no IMDS compatibility. */
void mmds_config_default(struct mmds_config *c);

/* Parses a PUT /mmds/config body: {"version": "V1"|"V2" (default V1), "network_interfaces":
 * [ids] (required, not empty), "ipv4_address": "a.b.c.d" (169.254.1.0-169.254.254.255, the
 * link-local range less its reserved first and last /24, as Firecracker checks), "imds_compat":
 * bool}, no other member. Whether the ids name NICs is the caller's check. Returns 0, or
 * -EINVAL with the reason in err. */
int mmds_config_parse(const json_t *body, struct mmds_config *c, char *err, size_t errlen);

/* The configuration as PUT /mmds/config takes it (GET /vm/config's "mmds-config"; parsing it
 * gives `c` back). A new reference, or NULL when out of memory. */
json_t *mmds_config_json(const struct mmds_config *c);

/* True when interface `id` is one MMDS answers on. */
bool mmds_config_has_iface(const struct mmds_config *c, const char *id);

#endif
