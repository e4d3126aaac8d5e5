/* Ethernet MAC addresses as users write them ("52:54:00:12:34:56"): one rule for every NIC's
 * own address (--net mac=, --net vhost-user=...,mac=, a restored clone's guest_mac). */
#ifndef VMM_MAC_H
#define VMM_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAC_LEN 6

/* True when `mac` can be a station's own address: neither multicast (bit 0 of the first byte,
 * broadcast included: IEEE 802-2014 8.2.2) nor all zeros (no address at all). */
bool mac_is_station(const uint8_t mac[MAC_LEN]);

/* Parses "xx:xx:xx:xx:xx:xx" (two hex digits of either case per byte, nothing around it) into
 * mac[] and checks it with mac_is_station(). Returns 0, or -EINVAL with "bad MAC address 'S'
 * (...)" in err (may be NULL); mac[] is unchanged on failure. Logs nothing. */
int mac_parse(const char *s, uint8_t mac[MAC_LEN], char *err, size_t errlen);

#endif
