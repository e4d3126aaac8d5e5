/* A DHCP client for the test guests (RFC 2131, options RFC 2132): DISCOVER, OFFER, REQUEST,
 * ACK over broadcast UDP 68 -> 67, then the interface takes the address, subnet mask (option 1),
 * router (3) and DNS server (6). No lease renewal: a test lives far shorter than a lease. */
#ifndef GUEST_NET_DHCP_H
#define GUEST_NET_DHCP_H

#include <stdint.h>

#include "net_stack.h"

/* Configures ifc by DHCP. Retransmits every second until timeout_ms. Returns 0, or -1 (timeout,
 * or a NAK). The server's address goes to *server when not NULL. */
int net_dhcp(struct net_if *ifc, uint32_t timeout_ms, uint32_t *server);

#endif
